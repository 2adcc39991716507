from pathlib import Path

import pytest

from bot.core import paths

REPO = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_the_top_level_folders() -> None:
    assert paths.config_dir() == REPO / "config"
    assert (paths.config_dir() / "knowledge").is_dir()
    assert paths.examples_dir() == REPO / "examples"


def test_an_installed_package_reads_its_own_copy_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages" / "bot"
    (site / "config" / "knowledge").mkdir(parents=True)
    (site / "examples").mkdir()
    monkeypatch.setattr(paths, "_PACKAGE", site)  # where an installed `bot` package lives
    monkeypatch.chdir(tmp_path)
    assert paths.config_dir() == site / "config"
    assert paths.examples_dir() == site / "examples"
