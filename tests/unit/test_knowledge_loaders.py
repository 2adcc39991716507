"""Broken knowledge is refused at load with one line that names the file and the key.

Each case is tests/data/knowledge/<case>/: `case.toml` names the loader and a fragment of the
expected error; `files/` is laid over a copy of the shipped config folder of that loader.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.check.texts import load_check_texts
from bot.core.diagnose.causes import load_causes
from bot.core.diagnose.playbooks import load_playbooks
from bot.core.diagnose.readers.mta import load_specs
from bot.core.diagnose.reasons import load_reasons
from bot.core.models import Severity
from bot.core.paths import ConfigError, config_dir

CASES = Path(__file__).parents[1] / "data" / "knowledge"

_LOADERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "causes": ("causes", load_causes),
    "playbooks": ("playbooks", lambda folder: load_playbooks(folder, load_causes())),
    "reasons": ("reasons", load_reasons),
    "readers": ("readers", load_specs),
    "check_texts": ("", lambda folder: load_check_texts(folder / "check_findings.toml")),
}


def _shipped(tmp_path: Path, shipped: str) -> Path:
    """A copy of the shipped config folder of a loader (or of its one file)."""
    folder = tmp_path / "config"
    if shipped:
        shutil.copytree(config_dir() / shipped, folder)
    else:
        folder.mkdir()
        shutil.copy(config_dir() / "check_findings.toml", folder)
    return folder


def _folder(case: Path, tmp_path: Path, shipped: str) -> Path:
    folder = _shipped(tmp_path, shipped)
    shutil.copytree(case / "files", folder, dirs_exist_ok=True)
    return folder


@pytest.mark.parametrize("case", sorted(p for p in CASES.iterdir() if p.is_dir()), ids=str)
def test_broken_knowledge_is_refused_with_one_line(case: Path, tmp_path: Path) -> None:
    spec = tomllib.loads((case / "case.toml").read_text())
    shipped, load = _LOADERS[spec["loader"]]
    with pytest.raises(ConfigError) as raised:
        load(_folder(case, tmp_path, shipped))
    message = str(raised.value)
    assert spec["error"] in message
    assert "\n" not in message.strip() and len(message) < 600


@pytest.mark.parametrize("loader", sorted(_LOADERS))
def test_the_shipped_knowledge_loads_through_the_same_path(loader: str, tmp_path: Path) -> None:
    shipped, load = _LOADERS[loader]
    assert load(_shipped(tmp_path, shipped))


def test_every_case_folder_is_used() -> None:
    loaders = {tomllib.loads((p / "case.toml").read_text())["loader"] for p in CASES.iterdir()}
    assert loaders == set(_LOADERS)


def test_every_cause_that_warns_ends_with_a_remedy_even_when_no_fact_is_known() -> None:
    playbooks = load_playbooks()
    for cause in load_causes().causes:
        if cause.severity is Severity.INFO:
            continue
        steps = playbooks.for_cause(cause.id, cause.variant)
        fixes = playbooks.fixes(cause.id, cause.variant, {}, {})
        assert any(step.remedies for step in steps), cause.id
        assert any(fix.stage == "fix" for fix in fixes), cause.id
        placeholders = [shown for fix in fixes for shown, _ in fix.missing]
        assert all(shown.startswith("<") for shown in placeholders), cause.id
