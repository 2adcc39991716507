"""The regex program cache: a pattern built from a kept program is the pattern `re` compiles,
a second process compiles nothing anew, and a file that cannot be trusted is only ignored."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import startup

_ROOT = Path(__file__).parents[2]
_PROBE = (
    "import bot.core.diagnose.pipeline as p, bot.startup as s; p.load_knowledge();"
    "c = s._regex_cache; print(c.compiled, len(c.used)); s.save()"
)
_COMPILER = importlib.import_module("re._compiler")
_ENGINE = importlib.import_module("_sre")


def _fresh_process(cache: Path) -> tuple[int, int]:
    env = {**os.environ, "MAILFLOW_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True,
        timeout=60,
    )  # fmt: skip
    compiled, used = done.stdout.split()
    return int(compiled), int(used)


def _cache(directory: Path) -> startup._RegexCache:
    cache = startup._RegexCache(directory, _COMPILER, _ENGINE)
    cache.original = _original_compile  # the stdlib's compiler, not the hook of this process
    return cache


def _original_compile(pattern: object, flags: int = 0) -> re.Pattern[str]:
    return _ENGINE.compile(*_stdlib_arguments(pattern, flags))  # type: ignore[no-any-return]


def _stdlib_arguments(pattern: object, flags: int) -> tuple[object, ...]:
    parsed = _COMPILER._parser.parse(pattern, flags)
    groupindex = parsed.state.groupdict
    indexgroup = [None] * parsed.state.groups
    for name, number in groupindex.items():
        indexgroup[number] = name
    code = _COMPILER._code(parsed, flags)
    return (pattern, flags | parsed.state.flags, code, parsed.state.groups - 1, groupindex,
            tuple(indexgroup))  # fmt: skip


def test_a_second_process_compiles_no_pattern(tmp_path: Path) -> None:
    compiled, used = _fresh_process(tmp_path)
    assert compiled == used > 300  # readers, reasons and causes: hundreds of patterns
    assert any(p.name.startswith("regex-code-") for p in tmp_path.iterdir())
    compiled_again, used_again = _fresh_process(tmp_path)
    assert compiled_again == 0
    assert 300 < used_again <= used  # the first also parsed TOML (tomllib's own patterns)


_SAMPLES = [
    p.read_bytes().decode("utf-8", "replace")[:20_000]
    for p in sorted((_ROOT / "tests" / "data" / "diagnose").rglob("*"))[:400:7]
    if p.is_file()
]
_PATTERNS = [
    (r"(?P<code>[245])\.(\d{1,3})\.(\d{1,3})", 0),
    (r"^(?:Reporting|Remote)-MTA:\s*dns;\s*(\S+)", re.IGNORECASE | re.MULTILINE),
    (r"(?x) \b user \s+ (unknown|not\s+found) \b", 0),
    (r"[^\x00-\x7f]+|\u00e9t\u00e9", re.ASCII),
    (r"(a)?b(?(1)c|d)", 0),
]


@pytest.mark.parametrize(("pattern", "flags"), _PATTERNS)
def test_a_kept_program_makes_the_pattern_re_makes(
    tmp_path: Path, pattern: str, flags: int
) -> None:
    first = _cache(tmp_path).compile(pattern, flags)
    _cache(tmp_path).save()  # nothing compiled by this one: writes nothing
    writer = _cache(tmp_path)
    writer.compile(pattern, flags)
    writer.save()
    reader = _cache(tmp_path)
    kept = reader.compile(pattern, flags)
    assert reader.compiled == 0  # came from the file
    expected = _original_compile(pattern, flags)
    for built in (first, kept):
        assert (built.pattern, built.flags, built.groups, built.groupindex) == (
            expected.pattern, expected.flags, expected.groups, expected.groupindex)  # fmt: skip
        for text in _SAMPLES:
            assert [m.span() for m in built.finditer(text)] == [
                m.span() for m in expected.finditer(text)
            ]


def test_every_pattern_of_the_knowledge_behaves_the_same_from_the_file(tmp_path: Path) -> None:
    _fresh_process(tmp_path)
    reader = _cache(tmp_path)
    keys = list(reader._read())
    assert len(keys) > 300
    for pattern, flags in keys:
        kept = reader.compile(pattern, flags)
        expected = _original_compile(pattern, flags)
        assert (kept.flags, kept.groups, kept.groupindex) == (
            expected.flags, expected.groups, expected.groupindex)  # fmt: skip
        for text in _SAMPLES[:12]:
            sample = text if isinstance(pattern, str) else text.encode("latin-1", "replace")
            found = kept.search(sample)
            wanted = expected.search(sample)  # type: ignore[arg-type]
            assert (found and found.span()) == (wanted and wanted.span()), pattern
    assert reader.compiled == 0


def test_bytes_patterns_and_debug_compiles_pass_through(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    assert cache.compile(rb"\d+", 0).findall(b"a12b3") == [b"12", b"3"]
    assert cache.compiled == 1
    cache.original = lambda pattern, flags=0: ("stdlib", pattern)
    assert cache.compile("x", re.DEBUG) == ("stdlib", "x")
    assert cache.compiled == 1


def test_an_untrusted_or_damaged_file_is_ignored(tmp_path: Path) -> None:
    writer = _cache(tmp_path)
    writer.compile("abc", 0)
    writer.save()
    assert writer.path is not None
    os.chmod(writer.path, 0o666)  # others may write it: never read
    assert _cache(tmp_path)._read() == {}
    os.chmod(writer.path, 0o600)
    assert len(_cache(tmp_path)._read()) == 1
    writer.path.write_bytes(b"\x00garbage")
    reader = _cache(tmp_path)
    assert reader._read() == {}
    assert reader.compile("abc", 0).fullmatch("abc")
