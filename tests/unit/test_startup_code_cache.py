"""The dataclass code cache: the same classes with and without it, compiled once per text and
user, and a cache file that cannot be trusted or read is only ignored."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import startup

_PROBE = (
    "import bot.check, bot.core.check.findings, bot.startup as s;"
    "print(s._cache.compiled, len(s._cache.codes))"
)


def _fresh_process(cache: Path) -> tuple[int, int]:
    env = {**os.environ, "MAILFLOW_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE + ";s.save()"], capture_output=True, text=True, env=env,
        check=True, timeout=60,
    )  # fmt: skip
    compiled, known = done.stdout.split()
    return int(compiled), int(known)


def test_a_second_process_compiles_no_dataclass_method(tmp_path: Path) -> None:
    compiled, known = _fresh_process(tmp_path)
    assert compiled > 100  # the check path defines dozens of dataclasses
    assert _fresh_process(tmp_path) == (0, known)


def test_an_edited_class_is_compiled_again_and_behaves_as_written(tmp_path: Path) -> None:
    cache = startup._CodeCache(tmp_path / "codes")

    def make(field_name: str) -> type:
        namespace: dict[str, object] = {"__annotations__": {field_name: "int"}}
        cls = type("Point", (), namespace)
        original = dataclasses.exec  # type: ignore[attr-defined]
        dataclasses.exec = cache.exec  # type: ignore[attr-defined]
        try:
            return dataclasses.dataclass(frozen=True)(cls)
        finally:
            dataclasses.exec = original  # type: ignore[attr-defined]

    first = make("x")
    compiled = cache.compiled
    assert compiled > 0
    again = make("x")
    assert cache.compiled == compiled  # same text: no compile
    assert again(x=1) == again(x=1) and repr(again(x=1)) == "Point(x=1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        again(x=1).x = 2
    edited = make("y")
    assert cache.compiled > compiled
    assert repr(edited(y=3)) == "Point(y=3)" and first(x=1) != edited(y=1)


def test_saved_code_is_loaded_by_the_next_cache(tmp_path: Path) -> None:
    path = tmp_path / "codes"
    cache = startup._CodeCache(path)
    namespace: dict[str, object] = {}
    cache.exec("def f():\n return 42\n", {}, namespace)
    cache.save()
    assert path.stat().st_mode & 0o777 == 0o600
    later = startup._CodeCache(path)
    later.exec("def f():\n return 42\n", {}, namespace)
    assert later.compiled == 0 and namespace["f"]() == 42  # type: ignore[operator]


def test_untrusted_or_damaged_cache_files_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "codes"
    planted = compile("def f():\n return 'planted'\n", "<string>", "exec")
    path.write_bytes(marshal.dumps({"def f():\n return 42\n": planted}))
    os.chmod(path, 0o666)  # others may write it: not trusted
    assert startup._CodeCache(path).codes == {}
    for damage in (b"", b"\x00junk", marshal.dumps([1, 2]), marshal.dumps({"x": 1})):
        path.write_bytes(damage)
        os.chmod(path, 0o600)
        assert startup._CodeCache(path).codes == {}


def test_the_file_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "MAX_ENTRIES", 3)
    path = tmp_path / "codes"
    cache = startup._CodeCache(path)
    for n in range(5):
        cache.exec(f"x = {n}\n", {}, {})
    cache.save()
    later = startup._CodeCache(path)
    assert len(later.codes) == 5  # over the bound, but all of it was used by that process
    later.exec("x = 0\n", {}, {})
    later.exec("x = 99\n", {}, {})
    later.save()
    assert set(startup._CodeCache(path).codes) == {"x = 0\n", "x = 99\n"}


def test_no_cache_directory_means_no_file(tmp_path: Path) -> None:
    cache = startup._CodeCache(None)
    cache.exec("x = 1\n", {}, {})
    cache.save()
    assert cache.compiled == 1 and not list(tmp_path.iterdir())
