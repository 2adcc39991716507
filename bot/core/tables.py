"""The one way knowledge files are read: TOML with a checked shape, and the one template filler.

    data = load_toml(path, TableError)               # one-line error naming the file
    entry = Entry(data, "causes.toml: cause 3")      # typed getters that remember what was read
    name = entry.string("id"); tags = entry.strings("tags", default=())
    entry.done()                                     # any key nobody asked for is an error

Every problem raises the caller's error type (a ValueError subclass) with a message that names the
file, the table and the key, so broken knowledge never reaches a user as a traceback.

Templates are plain text with `{field}` or `{field|fallback text}` placeholders; `fill` puts the
values in and uses the fallback (or "?") for a field without a value.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from bot.core.cachefiles import PYTHON_TAG, cache_dir, dump_marshal, load_marshal
from bot.core.paths import ConfigError

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\|([^{}]*))?\}")
_MISSING: Any = object()
_E = TypeVar("_E", bound=ValueError)
_T = TypeVar("_T")


class TableError(ConfigError):
    """A knowledge file or one of its tables is malformed (message names file and key)."""


def load_toml(path: Path, error: type[ValueError] = TableError) -> dict[str, Any]:
    """Parse one TOML file; a missing, unreadable or malformed file raises `error`. What a
    file parsed to is kept in the parse cache (`bot.core.cachefiles`) under a hash of its bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    cache = _cache_file(raw)
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    import tomllib  # noqa: PLC0415 - only on a cache miss: most processes never parse

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path.name}: not valid TOML: {exc}") from None
    _write_cache(cache, data)
    return data


# -- the parse cache: knowledge is read by every `mailflow` process, and parsing its TOML costs
# twenty times more than reading what it parsed to (marshal). It is keyed by the file's bytes, so
# an edited file is parsed again.
_CACHE_FORMAT = "v1"


def _cache_file(raw: bytes) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    # Two checksums and the length: the files are ours, not an adversary's, and hashlib's
    # import alone would cost a twentieth of what the cache saves.
    key = f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}{len(raw):x}"
    return directory / f"toml-{_CACHE_FORMAT}-{PYTHON_TAG}-{key}"


def _read_cache(cache: Path | None) -> dict[str, Any] | None:
    return None if cache is None else load_marshal(cache, dict)


def _write_cache(cache: Path | None, data: dict[str, Any]) -> None:
    """A value marshal cannot hold (a TOML date) only means the file is parsed again."""
    if cache is not None:
        dump_marshal(cache, data)


def toml_files(directory: Path, error: type[ValueError] = TableError) -> list[Path]:
    """The *.toml files of `directory`, sorted; a missing or empty directory raises `error`."""
    if not directory.is_dir():
        raise error(f"{directory}: missing")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise error(f"{directory}: holds no .toml file")
    return files


class Entry:
    """Typed access to one TOML table; `done()` fails on keys that were never asked for."""

    def __init__(self, raw: object, where: str, error: type[ValueError] = TableError) -> None:
        self.where = where
        self._error = error
        if not isinstance(raw, dict):
            raise error(f"{where}: must be a table")
        self._raw: dict[str, Any] = raw
        self._read: set[str] = set()

    def fail(self, message: str) -> ValueError:
        """An error (to raise) about this table."""
        return self._error(f"{self.where}: {message}")

    def has(self, key: str) -> bool:
        return key in self._raw

    def keys(self) -> list[str]:
        return list(self._raw)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._read.add(key)
        if key not in self._raw:
            if default is _MISSING:
                raise self.fail(f"{key} is required")
            return default
        return self._raw[key]

    def string(self, key: str, default: Any = _MISSING, *, empty: bool = False) -> str:
        """A string; non-empty unless `empty` (a missing key with a default gives the
        default)."""
        if key not in self._raw and default is not _MISSING:
            self._read.add(key)
            return str(default)
        value = self.raw(key)
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.fail(f"{key} must be a non-empty string")
        return value.strip()

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        """A string or a list of non-empty strings."""
        value = self.raw(key, default)
        if isinstance(value, tuple):
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key} must be a string or a list of non-empty strings")
        return tuple(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false")
        return value

    def integer(self, key: str, default: Any = _MISSING) -> int:
        value = self.raw(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{key} must be an integer")
        return value

    def choice(self, key: str, allowed: Iterable[str], default: Any = _MISSING) -> str:
        value = self.string(key, default)
        options = tuple(allowed)
        if value not in options:
            raise self.fail(f"{key} {value!r} is not one of: {', '.join(options)}")
        return value

    def choices(self, key: str, allowed: Iterable[str], default: Any = _MISSING) -> tuple[str, ...]:
        values = self.strings(key, default)
        options = frozenset(allowed)
        unknown = [value for value in values if value not in options]
        if unknown:
            raise self.fail(f"{key} names unknown values {unknown}")
        return values

    def table(self, key: str, default: Any = _MISSING) -> Entry:
        value = self.raw(key, {} if default is not _MISSING else _MISSING)
        return Entry(value, f"{self.where}: {key}", self._error)

    def tables(self, key: str, *, required: bool = False) -> list[Entry]:
        """An array of tables (`[[key]]`), each as an Entry named `key N`."""
        value = self.raw(key, _MISSING if required else [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"{key} must be an array of tables")
        return [
            Entry(item, f"{self.where}: {key} {index}", self._error)
            for index, item in enumerate(value, 1)
        ]

    def mapping(self, key: str, convert: Callable[[str, Any], _T]) -> dict[str, _T]:
        """A table of key -> value pairs, each checked by `convert(key, value)`."""
        value = self.raw(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"{key} must be a table")
        try:
            return {str(name): convert(str(name), item) for name, item in value.items()}
        except (TypeError, ValueError) as exc:
            raise self.fail(f"{key}: {exc}") from None

    def done(self) -> None:
        unknown = sorted(set(self._raw) - self._read)
        if unknown:
            raise self.fail(f"unknown keys {unknown}")


def placeholders(template: str) -> list[str]:
    """The field names a template uses, in order of appearance."""
    return [name for name, _fallback in PLACEHOLDER.findall(template)]


def template_problem(template: str, known: frozenset[str] | None = None) -> str | None:
    """Why `template` is malformed (stray brace, unknown field), or None."""
    for name in placeholders(template):
        if known is not None and name not in known:
            return f"uses unknown placeholder {{{name}}}"
    leftover = PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        return "has a stray brace or a malformed placeholder"
    return None


def fill(template: str, values: Mapping[str, str], missing: str = "?") -> str:
    """Fill {field} / {field|fallback}; a field without a value takes its fallback (or
    `missing`)."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value:
            return value
        fallback = match.group(2)
        return fallback if fallback is not None else missing

    return PLACEHOLDER.sub(substitute, template)
