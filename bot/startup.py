"""Start-up cost that every `mailflow` process would pay again: the methods of dataclasses.

On Python 3.11 `@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`
and the frozen `__setattr__`/`__delattr__` as source text and compiles it when the module
loads: 60-odd classes on the way to a `mailflow check` answer, about a sixth of the whole
process. The compiled code depends on nothing but that text, so it is kept, like bytecode,
in the user's cache directory (`bot.core.cachefiles`) keyed by the text itself, and a later
process runs the same code without compiling it. A changed class writes a different text and
is compiled anew; nothing else about dataclasses changes.

`install()` runs when the `bot` package loads (before any of its dataclasses exist) and
`save()` when the process ends (`mailflow` calls it before its fast exit; atexit otherwise).
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import marshal
from pathlib import Path
from types import CodeType
from typing import Any

from bot.core.cachefiles import PYTHON_TAG, cache_dir, read_private, write_private

_FORMAT = "v1"
MAX_ENTRIES = 4096  # beyond it the file keeps only what the last process used


class _CodeCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = {}
        self.used: set[str] = set()
        self.compiled = 0
        if path is not None:
            self.codes = _load(path)

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` as dataclasses calls it, with the compiled text looked up first."""
        if isinstance(source, str):
            code = self.codes.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")
                self.codes[source] = code
                self.compiled += 1
            self.used.add(source)
            source = code
        builtins.exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated code

    def save(self) -> None:
        if self.path is None or not self.compiled:
            return
        keep = self.codes
        if len(keep) > MAX_ENTRIES:
            keep = {text: keep[text] for text in self.used}
        self.compiled = 0
        write_private(self.path, marshal.dumps(keep))


def _load(path: Path) -> dict[str, CodeType]:
    blob = read_private(path)
    if blob is None:
        return {}
    try:
        codes = marshal.loads(blob)  # noqa: S302 - the user's own private file (read_private)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict):
        return {}
    return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, CodeType)}


_cache: _CodeCache | None = None


def install() -> None:
    """Route the `exec` of the dataclasses module through the cache (once per process)."""
    global _cache  # noqa: PLW0603 - one cache per process, installed once
    if _cache is not None:
        return
    directory = cache_dir()
    path = None if directory is None else directory / f"dataclass-code-{_FORMAT}-{PYTHON_TAG}"
    _cache = _CodeCache(path)
    # Module globals come before builtins: this is the `exec` dataclasses' own code calls.
    dataclasses.exec = _cache.exec  # type: ignore[attr-defined]
    atexit.register(save)


def save() -> None:
    """Write what this process compiled; nothing when it compiled nothing new."""
    if _cache is not None:
        _cache.save()
