from pathlib import Path

import pytest

from bot.core import paths


def test_checkout_config_is_used_when_present() -> None:
    assert paths.config_dir() == Path(__file__).resolve().parents[2] / "config"
    assert (paths.config_dir() / "knowledge").is_dir()


def test_installed_package_falls_back_to_the_app_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "_BESIDE_PACKAGES", tmp_path / "site-packages" / "config")
    monkeypatch.chdir(tmp_path)
    assert paths.config_dir() == tmp_path / "config"
