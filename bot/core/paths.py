"""Where the knowledge in config/ lives.

In a checkout (and an editable install) it sits next to the packages. A non-editable install,
as a Procfile platform makes with `pip install .`, runs from the application directory, whose
`config/` is then used.
"""

from __future__ import annotations

from pathlib import Path

_BESIDE_PACKAGES = Path(__file__).resolve().parents[2] / "config"


def config_dir() -> Path:
    if _BESIDE_PACKAGES.is_dir():
        return _BESIDE_PACKAGES
    return Path.cwd() / "config"
