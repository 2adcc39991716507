"""Where the data shipped with mailflow lives: config/ (knowledge, texts, manifest) and examples/.

Both stay at the top level of the repository. Wheels and sdists ship them inside the package
as `bot/config` and `bot/examples` (pyproject.toml maps them with `package-dir`), so an
installed mailflow finds them beside its package whatever the working directory (wheels install
unzipped; importlib.resources would find the same folder but costs every command 10 ms of
imports). A checkout, and an editable install of it, has no such copies and reads the top-level
folders.
Every file below config/ ships, so a new knowledge folder needs no packaging change.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # bot/
_CHECKOUT = _PACKAGE.parent


class ConfigError(ValueError):
    """A file in config/ is missing or invalid; str() is one line naming the file."""


def config_dir() -> Path:
    """The config/ folder: look files up as config_dir() / "knowledge" / "ndr.toml"."""
    return _shipped("config")


def examples_dir() -> Path:
    """The sample incidents (`mailflow diagnose --example NAME`)."""
    return _shipped("examples")


def _shipped(name: str) -> Path:
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _CHECKOUT / name
