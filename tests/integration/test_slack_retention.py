"""Retention: checks, incidents and ended watches older than 90 days are pruned, a bounded
batch per run; the runtime prunes at start and once a day."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.slack import runtime as runtime_module
from bot.slack.store import RETENTION_DAYS, Store, WatchState
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.slack_harness import fake_api, serve_bot, settings_for

DAY = 86_400.0


async def _seed(store: Store, now: float) -> None:
    """Rows at old and recent timestamps, written the way the bot writes them."""
    for age_days in (400, 91, 89, 0):
        check_id = await store.check_started("C0OPS", "U0ALICE", f"{age_days}.example", "{}")
        incident_id = await store.add_incident(
            channel="C0OPS", user="U0ALICE", message_ts=None, kind="ndr",
            finding_ids=["ndr.x"], summary=f"{age_days} days",
        )  # fmt: skip
        at = now - age_days * DAY
        await store.db.execute("UPDATE checks SET started_at=? WHERE id=?", (at, check_id))
        await store.db.execute("UPDATE incidents SET created_at=? WHERE id=?", (at, incident_id))
    ended = await store.add_watch(
        channel="C0OPS", user="U0ALICE", label="old-ended.example", spec="{}", duration=60
    )
    await store.end_watch(ended, WatchState.FIXED, "fixed after 3 min")
    active = await store.add_watch(
        channel="C0OPS", user="U0ALICE", label="old-active.example", spec="{}", duration=60
    )
    old = now - 200 * DAY
    await store.db.execute(
        "UPDATE watches SET started_at=?, ended_at=? WHERE id IN (?, ?)", (old, old, ended, active)
    )
    await store.db.commit()


async def _labels(store: Store) -> list[str]:
    return sorted(entry.label for entry in await store.timeline("C0OPS"))


async def test_rows_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    assert RETENTION_DAYS == 90
    store = await Store(str(tmp_path / "r.db")).open()
    try:
        now = time.time()
        await _seed(store, now)
        removed = await store.prune(now=now)
        assert removed == 2 + 2 + 1  # two old checks, two old incidents, the ended watch
        labels = await _labels(store)
        assert "400.example" not in labels and "91.example" not in labels
        assert "89.example" in labels and "0.example" in labels
        assert "old-active.example" in labels  # an active watch is never pruned
        assert "old-ended.example" not in labels
        summaries = [e.outcome for e in await store.timeline("C0OPS") if e.kind == "diagnosis"]
        assert sorted(summaries) == ["0 days", "89 days"]
        assert await store.prune(now=now) == 0
    finally:
        await store.close()


async def test_each_run_does_a_bounded_amount_of_work(tmp_path: Path) -> None:
    store = await Store(str(tmp_path / "r.db")).open()
    try:
        now = time.time()
        await _seed(store, now)
        assert await store.prune(now=now, batch=1) == 3  # at most one row per table
        assert await store.prune(now=now, batch=1) == 2
        assert await store.prune(now=now, batch=1) == 0
    finally:
        await store.close()


async def test_the_runtime_prunes_at_start_and_once_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "bot.db"
    store = await Store(str(db)).open()
    await _seed(store, time.time())
    await store.close()
    monkeypatch.setattr(runtime_module, "PRUNE_EVERY", 0.05)
    api: FakeSlackApi
    async with fake_api() as api, serve_bot(settings_for(api, db), api) as bot:
        labels = await _labels(bot.app.runtime.store)
        assert "400.example" not in labels and "91.example" not in labels  # at start
        assert "89.example" in labels
        await bot.app.runtime.store.db.execute(
            "UPDATE checks SET started_at=? WHERE label='89.example'", (time.time() - 95 * DAY,)
        )
        await bot.app.runtime.store.db.commit()
        async with asyncio.timeout(5):
            while "89.example" in await _labels(bot.app.runtime.store):
                await asyncio.sleep(0.02)
        await bot.idle()  # the daily job is not a user's job: it never keeps the bot busy
