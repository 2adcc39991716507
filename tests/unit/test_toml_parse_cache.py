"""The TOML parse cache: a hit gives what parsing gives, an edited file is parsed again, and a
cache that cannot be used (off, unwritable, damaged) only means parsing again."""

from __future__ import annotations

import marshal
import os
import tomllib
from pathlib import Path

import pytest

from bot.core import cachefiles
from bot.core.tables import TableError, load_toml

_TEXT = '[[rule]]\nid = "a"\nwords = ["x", "y"]\nweight = 2.5\n'


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("MAILFLOW_CACHE_DIR", str(directory))
    return directory


def _source(tmp_path: Path, text: str = _TEXT) -> Path:
    path = tmp_path / "knowledge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cache_hit_returns_what_parsing_returned(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path)
    first = load_toml(source)
    assert len(list(cache_dir.iterdir())) == 1
    assert load_toml(source) == first == {"rule": [{"id": "a", "words": ["x", "y"], "weight": 2.5}]}


def test_the_hit_comes_from_the_cache_not_from_parsing(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path)
    load_toml(source)

    def no_parsing(_text: str) -> dict[str, object]:
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(tomllib, "loads", no_parsing)
    assert load_toml(source)["rule"][0]["id"] == "a"


def test_an_edited_file_is_parsed_again(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path)
    load_toml(source)
    source.write_text(_TEXT.replace('"a"', '"b"'), encoding="utf-8")
    assert load_toml(source)["rule"][0]["id"] == "b"


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILFLOW_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cachefiles.cache_dir() is None
    assert load_toml(_source(tmp_path))["rule"][0]["id"] == "a"
    assert not (tmp_path / "home").exists()


def test_the_default_directory_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILFLOW_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachefiles.cache_dir() == tmp_path / "xdg" / "mailflow-bot"


def test_an_unwritable_cache_directory_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("MAILFLOW_CACHE_DIR", str(blocker / "cache"))
    assert load_toml(_source(tmp_path))["rule"][0]["id"] == "a"


def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path)
    load_toml(source)
    (entry,) = cache_dir.iterdir()
    for damage in (b"", b"\x00garbage", b"\xe9"):  # empty, not marshal, a marshalled int
        entry.write_bytes(damage)
        assert load_toml(source)["rule"][0]["id"] == "a"


def test_values_marshal_cannot_hold_are_not_cached(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path, "when = 2026-12-03\n")
    assert str(load_toml(source)["when"]) == "2026-12-03"
    assert not cache_dir.exists() or not list(cache_dir.iterdir())
    assert str(load_toml(source)["when"]) == "2026-12-03"


def test_malformed_toml_is_still_an_error_and_never_cached(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path, "key = \n")
    with pytest.raises(TableError, match="not valid TOML"):
        load_toml(source)
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


def test_a_cache_file_others_may_write_is_not_trusted(tmp_path: Path, cache_dir: Path) -> None:
    source = _source(tmp_path)
    load_toml(source)
    (entry,) = cache_dir.iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600
    entry.write_bytes(marshal.dumps({"rule": [{"id": "planted"}]}))
    os.chmod(entry, 0o666)
    assert load_toml(source)["rule"][0]["id"] == "a"
