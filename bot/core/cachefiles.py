"""The user's cache directory of mailflow: files that only make a process start faster (what the
knowledge files parsed to, the compiled methods of dataclasses). Losing them costs time, never a
result; a directory that cannot be used only means doing the work again.

Cache files hold marshal data, which trusts its input the way a .pyc does: a file is read only
when it belongs to this user and nobody else may write it.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
from pathlib import Path
from typing import Any

# Marshal data and code objects follow the interpreter's bytecode: its magic number names both.
PYTHON_TAG = "py" + importlib.util.MAGIC_NUMBER[:2].hex()


def cache_dir() -> Path | None:
    """`MAILFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/mailflow-bot` (`~/.cache/mailflow-bot`);
    an empty `MAILFLOW_CACHE_DIR` turns caching off."""
    configured = os.environ.get("MAILFLOW_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "mailflow-bot"
    try:
        return Path.home() / ".cache" / "mailflow-bot"
    except RuntimeError:  # no HOME and no passwd entry: nowhere to keep a cache
        return None


def read_private(path: Path) -> bytes | None:
    """The file's bytes if it is this user's and nobody else's to write; else None."""
    try:
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            if status.st_uid != os.geteuid() or status.st_mode & 0o022:
                return None
            return file.read()
    except OSError:
        return None


def load_marshal(path: Path, kind: type) -> Any:
    """The value marshalled in the private cache file at `path` if it is a `kind`, else None
    (no file, someone else's, damaged)."""
    blob = read_private(path)
    if blob is None:
        return None
    try:
        value = marshal.loads(blob)  # noqa: S302 - the user's own private file (read_private)
    except (EOFError, ValueError, TypeError):
        return None
    return value if isinstance(value, kind) else None


def dump_marshal(path: Path, value: Any) -> None:
    """Keep `value` in the private cache file at `path`; a value marshal cannot hold (a date)
    is not kept."""
    try:
        blob = marshal.dumps(value)
    except ValueError:
        return
    write_private(path, blob)


def write_private(path: Path, blob: bytes) -> None:
    """Replace the file at once (readers see the old or the new bytes, never a part), readable
    by this user only; best effort: a read-only or full disk is no error."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(blob)
        partial.replace(path)
    except OSError:
        return
