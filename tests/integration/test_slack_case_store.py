"""The incident case file in the store: per channel and thread, bounded, pruned with the rest."""

from __future__ import annotations

import time
from pathlib import Path

from bot.slack.store import MAX_CASE_PIECES, Store

DAY = 86_400.0


async def test_pieces_are_kept_per_thread_bounded_and_pruned(tmp_path: Path) -> None:
    store = await Store(str(tmp_path / "c.db")).open()
    try:
        for number in range(MAX_CASE_PIECES + 5):
            pieces = await store.add_case_piece("C1", "1.1", "paste", f"p{number}", b"x")
        assert len(pieces) == MAX_CASE_PIECES
        assert pieces[0].label == "p5" and pieces[-1].label == f"p{MAX_CASE_PIECES + 4}"
        other = await store.add_case_piece("C1", "2.2", "file", "the file a.txt", b"y")
        assert [p.label for p in other] == ["the file a.txt"]
        assert await store.case_pieces("C2", "1.1") == []
        old = time.time() - 91 * DAY
        await store.db.execute("UPDATE case_pieces SET created_at=? WHERE thread_ts='2.2'", (old,))
        await store.db.commit()
        assert await store.prune() == 1
        assert await store.case_pieces("C1", "2.2") == []
        assert len(await store.case_pieces("C1", "1.1")) == MAX_CASE_PIECES
    finally:
        await store.close()
