"""pyproject.toml lists the Python packages by hand (a mapped data folder rules out
`packages.find`): a package missing from the list would be missing from every install."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _setuptools() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        table = tomllib.load(handle)["tool"]["setuptools"]
    assert isinstance(table, dict)
    return table


def test_every_python_package_of_the_checkout_is_listed() -> None:
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("bot", "handlers")
        for init in (REPO / top).rglob("__init__.py")
    }
    listed = set(_setuptools()["packages"])  # type: ignore[call-overload]
    missing = sorted(on_disk - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


def test_every_listed_package_exists() -> None:
    setuptools = _setuptools()
    mapped = setuptools["package-dir"]
    assert isinstance(mapped, dict)
    gone = [
        name
        for name in setuptools["packages"]  # type: ignore[attr-defined]
        if not (REPO / mapped.get(name, name.replace(".", "/"))).is_dir()
    ]
    assert not gone, f"pyproject.toml lists packages that no longer exist: {gone}"


def test_config_and_examples_ship_whole_inside_the_package() -> None:
    table = _setuptools()
    assert table["package-dir"] == {"bot.config": "config", "bot.examples": "examples"}
    assert table["package-data"] == {
        "bot.config": ["**/*"],
        "bot.examples": ["*"],
        "bot.playground": ["static/*"],  # the playground's page, script and style
    }
