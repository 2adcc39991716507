"""The store's schema version (PRAGMA user_version) and its ordered migrations: a database of
every earlier version, and the unversioned files earlier releases wrote (their schemas, taken
from the repository's history, are in tests/data/store/), opens as the current version with
its rows kept; a newer database is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.slack import store
from bot.slack.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, WatchState

HISTORY = Path(__file__).resolve().parents[1] / "data" / "store"
LEGACY = sorted(HISTORY.glob("unversioned-*.sql"))


def _shape(path: Path) -> dict[str, object]:
    """Tables with their column names, and index names: what the code relies on."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        shape: dict[str, object] = {
            table: sorted(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
            for table in tables
        }
        shape["indexes"] = sorted(
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")
            if not r[0].startswith("sqlite_autoindex")
        )
    return shape


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


async def _at_version(path: Path, version: int) -> None:
    """A database as the first `version` migrations left it, with one row per early table."""
    async with aiosqlite.connect(path) as db:
        for step in MIGRATIONS[:version]:
            await step(db)
        await db.execute(f"PRAGMA user_version = {version}")
        if version:
            await _rows(db)
        await db.commit()


async def _rows(db: aiosqlite.Connection) -> None:
    await db.execute(
        "INSERT INTO checks (channel, user_id, label, spec, started_at) "
        "VALUES ('C0OLD', 'U0OLD', 'old.test', '{}', 4102444800)"
    )
    await db.execute(
        "INSERT INTO watches (channel, user_id, label, spec, started_at, expires_at) "
        "VALUES ('C0OLD', 'U0OLD', 'old.test', '{\"t\":\"old.test\"}', 4102444800, 4102531200)"
    )


async def _assert_current_and_usable(path: Path, *, with_rows: bool) -> None:
    opened = await Store(str(path)).open()
    try:
        assert await opened.schema_version() == SCHEMA_VERSION
        watch_id = await opened.add_watch(
            channel="C0NEW", user="U0NEW", label="new.test", spec="{}", duration=60,
            thread_ts="1.2",
        )  # fmt: skip
        watch = await opened.watch(watch_id)
        assert watch is not None and watch.thread_ts == "1.2"
        assert await opened.first_delivery("Ev1", 300)
        assert not await opened.first_delivery("Ev1", 300)
        labels = {entry.label for entry in await opened.timeline(None)}
        if with_rows:
            assert {"old.test", "new.test"} <= labels
            old = [w for w in await opened.active_watches("C0OLD") if w.label == "old.test"]
            assert old and old[0].state is WatchState.ACTIVE and old[0].thread_ts is None
            # 2100: the old check is older than the retention, the active watch is kept
            assert await opened.prune(now=4102444800 + 100 * 86_400) == 1
    finally:
        await opened.close()


async def test_a_new_database_gets_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    await _assert_current_and_usable(path, with_rows=False)
    assert _version(path) == SCHEMA_VERSION


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
async def test_every_earlier_version_migrates_to_the_current_one(
    tmp_path: Path, version: int
) -> None:
    fresh = tmp_path / "fresh.db"
    await (await Store(str(fresh)).open()).close()
    path = tmp_path / f"v{version}.db"
    await _at_version(path, version)
    await _assert_current_and_usable(path, with_rows=version > 0)
    assert _shape(path) == _shape(fresh)


@pytest.mark.parametrize("schema", LEGACY, ids=lambda p: p.stem)
async def test_unversioned_databases_of_earlier_releases_migrate(
    tmp_path: Path, schema: Path
) -> None:
    fresh = tmp_path / "fresh.db"
    await (await Store(str(fresh)).open()).close()
    path = tmp_path / "legacy.db"
    async with aiosqlite.connect(path) as db:
        await db.executescript(schema.read_text())
        await _rows(db)
        await db.commit()
    assert _version(path) == 0
    await _assert_current_and_usable(path, with_rows=True)
    assert _shape(path) == _shape(fresh)


def test_the_history_covers_every_released_shape() -> None:
    assert len(LEGACY) == 4


async def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    await _at_version(path, SCHEMA_VERSION)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer mailflow \(schema version \d+; this one knows"):
        await Store(str(path)).open()
    assert path.read_bytes() == before
    assert _version(path) == SCHEMA_VERSION + 3


async def test_a_failed_migration_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v2.db"
    await _at_version(path, 2)

    async def broken(db: aiosqlite.Connection) -> None:
        await db.execute("CREATE TABLE half_done (x)")
        await db.execute("THIS IS NOT SQL")

    monkeypatch.setattr(store, "MIGRATIONS", (*MIGRATIONS[:2], broken, *MIGRATIONS[3:]))
    with pytest.raises(StoreError):
        await Store(str(path)).open()
    assert _version(path) == 2
    assert "half_done" not in _shape(path)
