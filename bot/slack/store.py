"""SQLite storage (aiosqlite): check history, watches and diagnosed incidents.

The channel summary and the App Home are built from here, never from conversations.history;
active watches are re-read at start so that they resume after a restart.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import aiosqlite

from bot.render.blocks import TimelineEntry

# The schema's version is the database's PRAGMA user_version; MIGRATIONS[n] takes a database
# from version n to n + 1, in one transaction with the version bump. Version 0 is a new file or
# one written before the schema was versioned (any of the shapes of versions 1 to 4, which
# every step below accepts). Append new steps; never edit a released one.
_V1_TABLES = """
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    label TEXT NOT NULL,
    spec TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS checks_channel ON checks (channel, started_at);
CREATE TABLE IF NOT EXISTS watches (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    label TEXT NOT NULL,
    spec TEXT NOT NULL,
    message_ts TEXT,
    started_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    checks INTEGER NOT NULL DEFAULT 0,
    baseline TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'active',
    ended_at REAL,
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS watches_state ON watches (state);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    message_ts TEXT,
    kind TEXT NOT NULL,
    finding_ids TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_channel ON incidents (channel, created_at);
"""


async def _create_tables(db: aiosqlite.Connection) -> None:
    for statement in _V1_TABLES.split(";"):
        if statement.strip():
            await db.execute(statement)


async def _add_watch_threads(db: aiosqlite.Connection) -> None:
    """Watches started inside a thread report in that thread."""
    async with db.execute("PRAGMA table_info(watches)") as cursor:
        columns = {row[1] for row in await cursor.fetchall()}
    if "thread_ts" not in columns:
        await db.execute("ALTER TABLE watches ADD COLUMN thread_ts TEXT")


async def _add_deliveries(db: aiosqlite.Connection) -> None:
    """Events API deliveries already handled (dedupe across restarts)."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
        " WITHOUT ROWID"
    )
    await db.execute("CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries (seen_at)")


async def _add_retention_indexes(db: aiosqlite.Connection) -> None:
    """Pruning by age reads checks and incidents by their start time."""
    await db.execute("CREATE INDEX IF NOT EXISTS checks_started ON checks (started_at)")
    await db.execute("CREATE INDEX IF NOT EXISTS incidents_created ON incidents (created_at)")


async def _add_case_files(db: aiosqlite.Connection) -> None:
    """The incident case file: every paste, upload and probe of one thread, judged together."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS case_pieces (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, "
        "thread_ts TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, content BLOB NOT NULL, "
        "created_at REAL NOT NULL)"
    )
    await db.execute(
        "CREATE INDEX IF NOT EXISTS case_pieces_thread ON case_pieces (channel, thread_ts)"
    )
    await db.execute("CREATE INDEX IF NOT EXISTS case_pieces_created ON case_pieces (created_at)")


MIGRATIONS: tuple[Callable[[aiosqlite.Connection], Awaitable[None]], ...] = (
    _create_tables,
    _add_watch_threads,
    _add_deliveries,
    _add_retention_indexes,
    _add_case_files,
)
SCHEMA_VERSION = len(MIGRATIONS)
PRUNE_DELIVERIES_EVERY = 1000  # first deliveries between two sweeps of expired event ids
RETENTION_DAYS = 90  # checks, incidents and ended watches older than this are deleted
PRUNE_BATCH = 5000  # at most this many rows per table and run: pruning never stalls the bot
# Oldest first, at most ?2 rows older than ?1 each. Active watches are never pruned.
_PRUNE = (
    "DELETE FROM checks WHERE id IN "
    "(SELECT id FROM checks WHERE started_at < ?1 ORDER BY started_at LIMIT ?2)",
    "DELETE FROM incidents WHERE id IN "
    "(SELECT id FROM incidents WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
    "DELETE FROM watches WHERE id IN (SELECT id FROM watches WHERE state != 'active' "
    "AND COALESCE(ended_at, started_at) < ?1 ORDER BY id LIMIT ?2)",
    "DELETE FROM case_pieces WHERE id IN "
    "(SELECT id FROM case_pieces WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
)
MAX_CASE_PIECES = 30  # pieces kept per thread: the oldest go first
MAX_CASE_BYTES = 20 * 1024 * 1024  # what one case file holds at most


_SELECT_WATCHES = (
    "SELECT id, channel, user_id, label, spec, message_ts, thread_ts, started_at, expires_at, "
    "checks, baseline, state FROM watches "
)
_TIMELINE = """
    SELECT started_at, 'check', label, status || CASE WHEN summary != ''
           THEN ': ' || summary ELSE '' END, user_id FROM checks
           WHERE (?1 IS NULL OR channel = ?1) AND (?3 IS NULL OR user_id = ?3)
    UNION ALL
    SELECT started_at, 'watch', label, state || CASE WHEN outcome != ''
           THEN ': ' || outcome ELSE '' END, user_id FROM watches
           WHERE (?1 IS NULL OR channel = ?1) AND (?3 IS NULL OR user_id = ?3)
    UNION ALL
    SELECT created_at, 'diagnosis', kind, summary, user_id FROM incidents
           WHERE (?1 IS NULL OR channel = ?1) AND (?3 IS NULL OR user_id = ?3)
    ORDER BY 1 DESC LIMIT ?2
"""


class WatchState(StrEnum):
    ACTIVE = "active"
    FIXED = "fixed"
    STOPPED = "stopped"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CasePiece:
    """One piece of a thread's incident case file."""

    kind: str  # "paste" | "file" | "probe"
    label: str  # what the reply calls it: "a paste", "the file ex02.txt", "the probe of ..."
    content: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    channel: str
    user_id: str | None
    label: str
    spec: str  # CheckSpec JSON
    message_ts: str | None  # the status message kept up to date
    thread_ts: str | None  # the thread it lives in, when started from inside a thread
    started_at: float
    expires_at: float
    checks: int
    baseline: tuple[str, ...]  # error finding ids when the watch started
    state: WatchState

    @property
    def reply_thread(self) -> str | None:
        return self.thread_ts or self.message_ts


def _try_open(path: str) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("SELECT 1")
    finally:
        db.close()


async def _scalar(db: aiosqlite.Connection, sql: str) -> int:
    async with db.execute(sql) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _migrate(db: aiosqlite.Connection, version: int) -> None:
    """Apply MIGRATIONS[version:] in one write transaction, which also proves the file is
    writable: it runs (and rewrites the version) at every start, even with nothing to do."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:]:
            await step(db)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        await db.commit()
    except BaseException:
        await db.rollback()
        raise


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class StoreError(Exception):
    """The database cannot be used; str() is one line saying why, for the operator."""


# What an SQLite result code means for the person who set MAILFLOW_DB.
_FAULTS = {
    "SQLITE_NOTADB": "is not an SQLite database",
    "SQLITE_CORRUPT": "is corrupt",
    "SQLITE_READONLY": "is read-only",
    "SQLITE_CANTOPEN": "cannot be opened",
    "SQLITE_PERM": "may not be opened (permission denied)",
    "SQLITE_AUTH": "may not be opened (permission denied)",
    "SQLITE_BUSY": "is locked by another process",
    "SQLITE_LOCKED": "is locked by another process",
    "SQLITE_FULL": "cannot grow: the disk is full",
    "SQLITE_IOERR": "cannot be read or written (I/O error)",
}


def describe_fault(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, meaning in _FAULTS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return f"{meaning} ({_one_line(exc)})"
    return f"cannot be used ({_one_line(exc)})"


def _one_line(exc: sqlite3.Error) -> str:
    return " ".join(str(exc).split())[:200]


class Store:
    def __init__(self, path: str) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._deliveries = 0

    async def open(self) -> Store:
        """Open, check and migrate the database. Raises StoreError (one line) when the file is
        not SQLite, corrupt, read-only, unreadable or from a newer version of mailflow; the
        connection is closed again then, so that nothing keeps the process alive."""
        db = await self._connect()
        try:
            await self._prepare(db)
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(describe_fault(exc)) from None
        except StoreError:
            await db.close()
            raise
        self._db = db
        return self

    async def _connect(self) -> aiosqlite.Connection:
        try:
            # Opened once in a plain thread first: when aiosqlite's own connect fails, its
            # worker thread outlives the call and can log a traceback after the loop closed.
            await asyncio.to_thread(_try_open, self._path)
            return await aiosqlite.connect(self._path)
        except sqlite3.Error as exc:
            raise StoreError(describe_fault(exc)) from None

    async def _prepare(self, db: aiosqlite.Connection) -> None:
        version = await _scalar(db, "PRAGMA user_version")  # first read: is it SQLite at all?
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"was written by a newer mailflow (schema version {version}; this one knows "
                f"up to {SCHEMA_VERSION}): upgrade mailflow or point MAILFLOW_DB elsewhere"
            )
        async with db.execute("PRAGMA quick_check(1)") as cursor:
            verdict = await cursor.fetchone()
        if verdict is None or verdict[0] != "ok":
            problem = " ".join(str(verdict[0] if verdict else "no answer").split())
            raise StoreError(f"is corrupt ({problem[:200]})")
        await db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: durable across application crashes, no fsync per commit.
        await db.execute("PRAGMA synchronous=NORMAL")
        await _migrate(db, version)

    async def schema_version(self) -> int:
        return await _scalar(self.db, "PRAGMA user_version")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def _insert(self, sql: str, values: Sequence[object]) -> int:
        cursor = await self.db.execute(sql, values)
        await self.db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def _update(self, sql: str, values: Sequence[object]) -> int:
        cursor = await self.db.execute(sql, values)
        await self.db.commit()
        return cursor.rowcount

    # -- checks ----------------------------------------------------------------------------
    async def check_started(self, channel: str, user: str | None, label: str, spec: str) -> int:
        return await self._insert(
            "INSERT INTO checks (channel, user_id, label, spec, started_at) VALUES (?,?,?,?,?)",
            (channel, user, label, spec, _now()),
        )

    async def check_finished(self, check_id: int, status: str, summary: str) -> None:
        await self._update(
            "UPDATE checks SET finished_at=?, status=?, summary=? WHERE id=?",
            (_now(), status, summary, check_id),
        )

    # -- watches ---------------------------------------------------------------------------
    async def add_watch(
        self,
        *,
        channel: str,
        user: str | None,
        label: str,
        spec: str,
        duration: float,
        thread_ts: str | None = None,
    ) -> int:
        now = _now()
        return await self._insert(
            "INSERT INTO watches (channel, user_id, label, spec, thread_ts, started_at, "
            "expires_at) VALUES (?,?,?,?,?,?,?)",
            (channel, user, label, spec, thread_ts, now, now + duration),
        )

    async def set_watch_message(self, watch_id: int, message_ts: str) -> None:
        await self._update("UPDATE watches SET message_ts=? WHERE id=?", (message_ts, watch_id))

    async def watch_checked(self, watch_id: int, baseline: Sequence[str] | None = None) -> None:
        if baseline is None:
            await self._update("UPDATE watches SET checks=checks+1 WHERE id=?", (watch_id,))
        else:
            await self._update(
                "UPDATE watches SET checks=checks+1, baseline=? WHERE id=?",
                (json.dumps(list(baseline)), watch_id),
            )

    async def end_watch(self, watch_id: int, state: WatchState, outcome: str) -> bool:
        """Move an active watch to `state`; False when it was not active any more."""
        changed = await self._update(
            "UPDATE watches SET state=?, ended_at=?, outcome=? WHERE id=? AND state='active'",
            (state.value, _now(), outcome, watch_id),
        )
        return changed > 0

    async def watch(self, watch_id: int) -> Watch | None:
        rows = await self._watches("WHERE id=?", (watch_id,))
        return rows[0] if rows else None

    async def active_watches(self, channel: str | None = None) -> list[Watch]:
        if channel is None:
            return await self._watches("WHERE state='active' ORDER BY id", ())
        return await self._watches("WHERE state='active' AND channel=? ORDER BY id", (channel,))

    async def _watches(self, where: str, values: Sequence[object]) -> list[Watch]:
        # `where` is one of the constant clauses above, never user data.
        sql = _SELECT_WATCHES + where
        async with self.db.execute(sql, values) as cursor:
            rows = await cursor.fetchall()
        return [
            Watch(
                int(r[0]),
                str(r[1]),
                r[2],
                str(r[3]),
                str(r[4]),
                r[5],
                r[6],
                float(r[7]),
                float(r[8]),
                int(r[9]),
                tuple(json.loads(r[10])),
                WatchState(r[11]),
            )
            for r in rows
        ]

    # -- incidents -------------------------------------------------------------------------
    async def add_incident(
        self,
        *,
        channel: str,
        user: str | None,
        message_ts: str | None,
        kind: str,
        finding_ids: Sequence[str],
        summary: str,
    ) -> int:
        return await self._insert(
            "INSERT INTO incidents (channel, user_id, message_ts, kind, finding_ids, summary, "
            "created_at) VALUES (?,?,?,?,?,?,?)",
            (channel, user, message_ts, kind, json.dumps(list(finding_ids)), summary, _now()),
        )

    # -- incident case files --------------------------------------------------------------
    async def add_case_piece(
        self, channel: str, thread_ts: str, kind: str, label: str, content: bytes
    ) -> list[CasePiece]:
        """Add a piece to the thread's case file and return the whole file, oldest first,
        bounded (MAX_CASE_PIECES, MAX_CASE_BYTES: the oldest pieces are dropped)."""
        await self.db.execute(
            "INSERT INTO case_pieces (channel, thread_ts, kind, label, content, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (channel, thread_ts, kind, label[:200], content[:MAX_CASE_BYTES], _now()),
        )
        await self.db.execute(
            "DELETE FROM case_pieces WHERE channel=? AND thread_ts=? AND id NOT IN (SELECT id "
            "FROM case_pieces WHERE channel=? AND thread_ts=? ORDER BY id DESC LIMIT ?)",
            (channel, thread_ts, channel, thread_ts, MAX_CASE_PIECES),
        )
        await self.db.commit()
        return await self.case_pieces(channel, thread_ts)

    async def case_pieces(self, channel: str, thread_ts: str) -> list[CasePiece]:
        async with self.db.execute(
            "SELECT kind, label, content, created_at FROM case_pieces WHERE channel=? AND "
            "thread_ts=? ORDER BY id DESC",
            (channel, thread_ts),
        ) as cursor:
            rows = await cursor.fetchall()
        pieces: list[CasePiece] = []
        total = 0
        for kind, label, content, created in rows:
            total += len(content)
            if total > MAX_CASE_BYTES:
                break
            pieces.append(CasePiece(str(kind), str(label), bytes(content), float(created)))
        return pieces[::-1]

    # -- Events API deliveries -------------------------------------------------------------
    async def first_delivery(self, event_id: str, ttl: float) -> bool:
        """True the first time `event_id` is offered within `ttl` seconds, across restarts
        of the app (Slack retries an event for about five minutes)."""
        now = _now()
        if self._deliveries % PRUNE_DELIVERIES_EVERY == 0:
            await self._update("DELETE FROM deliveries WHERE seen_at < ?", (now - ttl,))
        self._deliveries += 1
        # Inserted, or an expired row refreshed: first delivery. Untouched row: a repeat.
        changed = await self._update(
            "INSERT INTO deliveries (event_id, seen_at) VALUES (?, ?) ON CONFLICT (event_id) "
            "DO UPDATE SET seen_at = excluded.seen_at WHERE deliveries.seen_at < ?",
            (event_id, now, now - ttl),
        )
        return changed > 0

    # -- retention -------------------------------------------------------------------------
    async def prune(
        self,
        *,
        now: float | None = None,
        days: float = RETENTION_DAYS,
        batch: int = PRUNE_BATCH,
    ) -> int:
        """Delete history older than `days` (at most `batch` rows per table); the number of
        rows deleted."""
        cutoff = (_now() if now is None else now) - days * 86_400
        removed = 0
        for sql in _PRUNE:
            cursor = await self.db.execute(sql, (cutoff, batch))
            removed += max(cursor.rowcount, 0)
        await self.db.commit()
        return removed

    # -- timelines -------------------------------------------------------------------------
    async def timeline(
        self, channel: str | None, limit: int = 100, *, user: str | None = None
    ) -> list[TimelineEntry]:
        """Checks, watches and incidents of a channel (all channels when None), only those
        `user` started when given, oldest first."""
        async with self.db.execute(_TIMELINE, (channel, limit, user)) as cursor:
            rows = await cursor.fetchall()
        entries = [
            TimelineEntry(_at(float(r[0])), str(r[1]), str(r[2]), str(r[3]), r[4]) for r in rows
        ]
        return entries[::-1]
