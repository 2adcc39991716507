"""`mailflow serve` with a database it cannot use: one line naming MAILFLOW_DB and exit 2 within
5 s, in HTTP and in Socket Mode, never a traceback and never a server that listens."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.store import SCHEMA_VERSION
from tests.fakes.slack_api import BOT_TOKEN
from tests.integration.test_slack_serve import free_port, start

FAULTS = ["not_sqlite", "corrupt", "read_only", "cannot_open", "newer"]
EXPECTED = {
    "not_sqlite": "is not an SQLite database",
    "corrupt": "is corrupt",
    "read_only": "is read-only",
    "cannot_open": "cannot be opened",
    "newer": "was written by a newer mailflow",
}


def _database_with_rows(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE padding (x TEXT)")
        db.executemany("INSERT INTO padding VALUES (?)", [("x" * 200,) for _ in range(2000)])


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """A file the server cannot write: immutable for root (who ignores permissions), else
    without write permission."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a read-only file")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def _faulty(kind: str, folder: Path) -> Iterator[Path]:
    path = folder / "mailflow.db"
    if kind == "not_sqlite":
        path.write_bytes(os.urandom(4096))
    elif kind == "corrupt":
        _database_with_rows(path)
        with path.open("r+b") as handle:  # a B-tree page in the middle, overwritten
            handle.seek(4096 * 10)
            handle.write(os.urandom(4096))
    elif kind == "newer":
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    elif kind == "cannot_open":
        path.symlink_to(folder / "unmounted" / "mailflow.db")  # its directory does not exist
    if kind == "read_only":
        _database_with_rows(path)
        with _read_only(path):
            yield path
    else:
        yield path


@pytest.mark.parametrize("socket_mode", [False, True], ids=["http", "socket_mode"])
@pytest.mark.parametrize("kind", FAULTS)
async def test_an_unusable_database_is_one_line_and_exit_2(
    tmp_path: Path, kind: str, socket_mode: bool
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
    env |= {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": str(port),
        # Nothing may be contacted: the start stops at the store.
        "MAILFLOW_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }
    if socket_mode:
        env["SLACK_APP_TOKEN"] = "xapp-1-A0TEST-1-store"
    with _faulty(kind, tmp_path) as db:
        env["MAILFLOW_DB"] = str(db)
        started = time.monotonic()
        process = await start(env)
        try:
            code = await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        elapsed = time.monotonic() - started
        assert process.stderr is not None
        err = (await process.stderr.read()).decode()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"mailflow serve: MAILFLOW_DB={db} {EXPECTED[kind]}"), lines[0]
    assert elapsed < 5
