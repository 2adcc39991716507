"""Start-up cost that every `mailflow` process would pay again: the methods of dataclasses and
the compiled regular expressions.

On Python 3.11 `@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`
and the frozen `__setattr__`/`__delattr__` as source text and compiles it when the module
loads: 60-odd classes on the way to a `mailflow check` answer, about a sixth of the whole
process. The compiled code depends on nothing but that text, so it is kept, like bytecode,
in the user's cache directory (`bot.core.cachefiles`) keyed by the text itself, and a later
process runs the same code without compiling it. A changed class writes a different text and
is compiled anew; nothing else about dataclasses changes.

Regular expressions are the other third of a diagnosis' start (about 400 patterns of readers,
reasons and causes, 25-30 ms): `re` turns each pattern text into a program for its matching
engine in pure Python. That program depends only on the pattern, its flags and the interpreter,
so it is kept the same way (one file per interpreter and engine version) and handed straight
to the engine, which checks every program it is given (`_sre` validates the code) as it does
for the `re` compiler's own output.

`install()` runs when the `bot` package loads (before any of its dataclasses exist) and
`save()` when the process ends (`mailflow` calls it before its fast exit; atexit otherwise).
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import importlib
import re
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

from bot.core.cachefiles import PYTHON_TAG, cache_dir, dump_marshal, load_marshal

_FORMAT = "v1"
_REGEX_FORMAT = "v1"
_REGEX_KEEP = 5000  # programs kept beyond this process's own: check and diagnose share the file
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


# (pattern, flags) -> (flags, code, groups, groupindex, indexgroup): _sre.compile's arguments
_Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


class _RegexCache:
    """The programs `re` compiles, by (pattern text, flags): read at the first compile, written
    at the end when something was compiled anew."""

    def __init__(self, directory: Path | None, compiler: Any, engine: Any) -> None:
        self.compiler = compiler  # re._compiler
        self.engine = engine  # _sre
        self.original: Callable[..., Any] = compiler.compile
        tag = f"{PYTHON_TAG}-{engine.MAGIC}-{zlib.crc32(sys.version.encode()):08x}"
        name = f"regex-code-{_REGEX_FORMAT}-{tag}"
        self.path = None if directory is None else directory / name
        self.known: dict[tuple[str | bytes, int], _Program] | None = None
        self.used: dict[tuple[str | bytes, int], _Program] = {}
        self.compiled = 0

    def compile(self, pattern: Any, flags: Any = 0) -> Any:
        """`re._compiler.compile`, with the program looked up first."""
        if not isinstance(pattern, str | bytes) or flags & re.DEBUG:
            return self.original(pattern, flags)
        key = (pattern, int(flags))
        if self.known is None:
            self.known = self._read()
        program = self.known.get(key)
        if program is None:
            program = self.known[key] = self._program(pattern, int(flags))
            self.compiled += 1
        self.used[key] = program
        final, code, groups, groupindex, indexgroup = program
        return self.engine.compile(pattern, final, code, groups, groupindex, indexgroup)

    def _program(self, pattern: str | bytes, flags: int) -> _Program:
        """What re._compiler.compile computes before it calls the engine."""
        parsed = self.compiler._parser.parse(pattern, flags)
        code = self.compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, number in groupindex.items():
            indexgroup[number] = name
        final = int(flags | parsed.state.flags)
        code = [int(op) for op in code]  # opcodes are an int subclass, which marshal refuses
        return final, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)

    def _read(self) -> dict[tuple[str | bytes, int], _Program]:
        programs = None if self.path is None else load_marshal(self.path, dict)
        return {k: v for k, v in (programs or {}).items() if _is_program(k, v)}

    def save(self) -> None:
        if not self.compiled or self.path is None or self.known is None:
            return
        kept = self.known if len(self.known) <= _REGEX_KEEP + len(self.used) else self.used
        dump_marshal(self.path, kept)
        self.compiled = 0


def _is_program(key: Any, value: Any) -> bool:
    return (
        isinstance(key, tuple)
        and len(key) == 2
        and isinstance(key[0], str | bytes)
        and isinstance(value, tuple)
        and len(value) == 5
        and isinstance(value[1], list)
    )


_cache: _CodeCache | None = None
_regex_cache: _RegexCache | None = None


def install() -> None:
    """Route the `exec` of the dataclasses module and the `re` compiler through the caches
    (once per process)."""
    global _cache, _regex_cache  # noqa: PLW0603 - one cache per process, installed once
    if _cache is not None:
        return
    directory = cache_dir()
    _cache = _CodeCache(directory)
    # Module globals come before builtins: this is the `exec` dataclasses' own code calls.
    dataclasses.exec = _cache.exec  # type: ignore[attr-defined]
    _regex_cache = _install_regex_cache(directory)
    atexit.register(save)


def _install_regex_cache(directory: Path | None) -> _RegexCache | None:
    """Only where the `re` compiler is the one this was written against (3.11 to 3.13)."""
    if directory is None or not (3, 11) <= sys.version_info[:2] <= (3, 13):
        return None
    try:  # private modules without type stubs
        engine = importlib.import_module("_sre")
        compiler = importlib.import_module("re._compiler")
    except ImportError:
        return None
    if not all(hasattr(compiler, name) for name in ("_code", "_parser", "compile")):
        return None
    cache = _RegexCache(directory, compiler, engine)
    compiler.compile = cache.compile  # type: ignore[attr-defined]  # re._compile calls it so
    return cache


def save() -> None:
    """Write what this process compiled; nothing when it compiled nothing new."""
    if _cache is not None:
        _cache.save()
    if _regex_cache is not None:
        _regex_cache.save()
