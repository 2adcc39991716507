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
import re
from pathlib import Path
from types import CodeType
from typing import Any

from bot.core.cachefiles import PYTHON_TAG, cache_dir, dump_marshal, load_marshal

_FORMAT = "v1"
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,200}")  # a file name part as it is


class _CodeCache:
    """Compiled method code per defining module: one file each (`dataclass-code-...-MODULE`),
    read when the module defines its first dataclass, rewritten when it compiled anything new,
    with only what this process used, so a file never outgrows its module."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.known: dict[str, dict[str, CodeType]] = {}  # module -> text -> code, as read
        self.used: dict[str, dict[str, CodeType]] = {}
        self.changed: set[str] = set()
        self.compiled = 0

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` as dataclasses calls it, with the compiled text looked up first."""
        module = globals.get("__name__") if isinstance(globals, dict) else None
        if isinstance(source, str) and isinstance(module, str) and _MODULE_NAME.fullmatch(module):
            source = self._code(module, source)
        builtins.exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated code

    def _code(self, module: str, text: str) -> CodeType:
        known = self.known.get(module)
        if known is None:
            known = self.known[module] = self._read(module)
        code = known.get(text)
        if code is None:
            code = known[text] = compile(text, "<string>", "exec")
            self.compiled += 1
            self.changed.add(module)
        self.used.setdefault(module, {})[text] = code
        return code

    def _file(self, module: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"dataclass-code-{_FORMAT}-{PYTHON_TAG}-{module}"

    def _read(self, module: str) -> dict[str, CodeType]:
        path = self._file(module)
        codes = None if path is None else load_marshal(path, dict)
        if codes is None:
            return {}
        return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, CodeType)}

    def save(self) -> None:
        for module in sorted(self.changed):
            path = self._file(module)
            if path is not None:
                dump_marshal(path, self.used[module])
        self.changed.clear()


_cache: _CodeCache | None = None


def install() -> None:
    """Route the `exec` of the dataclasses module through the cache (once per process)."""
    global _cache  # noqa: PLW0603 - one cache per process, installed once
    if _cache is not None:
        return
    _cache = _CodeCache(cache_dir())
    # Module globals come before builtins: this is the `exec` dataclasses' own code calls.
    dataclasses.exec = _cache.exec  # type: ignore[attr-defined]
    atexit.register(save)


def save() -> None:
    """Write what this process compiled; nothing when it compiled nothing new."""
    if _cache is not None:
        _cache.save()
