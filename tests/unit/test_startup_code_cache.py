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
    "print(s._cache.compiled, sum(map(len, s._cache.used.values())))"
)
_MODULE = {"__name__": "tests.example"}  # the globals dataclasses passes: the class's module


def _fresh_process(cache: Path) -> tuple[int, int]:
    env = {**os.environ, "MAILFLOW_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE + ";s.save()"], capture_output=True, text=True, env=env,
        check=True, timeout=60,
    )  # fmt: skip
    compiled, used = done.stdout.split()
    return int(compiled), int(used)


def test_a_second_process_compiles_no_dataclass_method(tmp_path: Path) -> None:
    compiled, used = _fresh_process(tmp_path)
    assert compiled == used > 100  # the check path defines dozens of dataclasses
    assert any(p.name.endswith("-bot.core.evidence") for p in tmp_path.iterdir())
    assert _fresh_process(tmp_path) == (0, used)


def test_an_edited_class_is_compiled_again_and_behaves_as_written(tmp_path: Path) -> None:
    cache = startup._CodeCache(tmp_path)

    def make(field_name: str) -> type:
        namespace: dict[str, object] = {"__annotations__": {field_name: "int"},
                                        "__module__": __name__}  # fmt: skip
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


def test_saved_code_is_loaded_by_the_next_process(tmp_path: Path) -> None:
    cache = startup._CodeCache(tmp_path)
    namespace: dict[str, object] = {}
    cache.exec("def f():\n return 42\n", dict(_MODULE), namespace)
    cache.save()
    (path,) = tmp_path.iterdir()
    assert path.name.endswith("-tests.example") and path.stat().st_mode & 0o777 == 0o600
    later = startup._CodeCache(tmp_path)
    later.exec("def f():\n return 42\n", dict(_MODULE), namespace)
    assert later.compiled == 0 and namespace["f"]() == 42  # type: ignore[operator]


def _file_of(tmp_path: Path) -> Path:
    cache = startup._CodeCache(tmp_path)
    cache.exec("x = 1\n", dict(_MODULE), {})
    cache.save()
    (path,) = tmp_path.iterdir()
    return path


def test_untrusted_or_damaged_cache_files_are_ignored(tmp_path: Path) -> None:
    path = _file_of(tmp_path)
    planted = compile("x = 'planted'\n", "<string>", "exec")
    path.write_bytes(marshal.dumps({"x = 1\n": planted}))
    os.chmod(path, 0o666)  # others may write it: not trusted
    for damage in (None, b"", b"\x00junk", marshal.dumps([1, 2]), marshal.dumps({"x = 1\n": 1})):
        if damage is not None:
            path.write_bytes(damage)
            os.chmod(path, 0o600)
        cache = startup._CodeCache(tmp_path)
        namespace: dict[str, object] = {}
        cache.exec("x = 1\n", dict(_MODULE), namespace)
        assert namespace["x"] == 1 and cache.compiled == 1


def test_a_file_keeps_only_what_its_module_last_used(tmp_path: Path) -> None:
    path = _file_of(tmp_path)
    cache = startup._CodeCache(tmp_path)
    cache.exec("x = 2\n", dict(_MODULE), {})  # the module changed: x = 1 is gone from it
    cache.save()
    assert list(marshal.loads(path.read_bytes())) == ["x = 2\n"]


def test_code_without_a_module_or_a_directory_is_only_compiled(tmp_path: Path) -> None:
    cache = startup._CodeCache(None)
    cache.exec("x = 1\n", dict(_MODULE), {})
    cache.save()
    anonymous = startup._CodeCache(tmp_path)
    anonymous.exec("x = 1\n", {}, {})
    anonymous.exec("x = 1\n", {"__name__": "../../etc/x"}, {})  # never part of a file name
    anonymous.save()
    assert cache.compiled == 1 and anonymous.compiled == 0 and not list(tmp_path.iterdir())
