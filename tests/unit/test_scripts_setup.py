"""scripts/run.sh (through scripts/setup.sh) runs pip only when pyproject.toml changed since
the last successful install: a start with nothing to install touches neither pip nor the
network. The scripts run for real in a copy of the repository's layout whose .venv holds a
python that records every call instead of installing anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
# Records its arguments; `-m pip install` succeeds (or fails when FAIL_PIP is set).
echo "$*" >> "$(dirname "$0")/../calls.log"
case "$*" in
  *"pip install"*) [ -z "$FAIL_PIP" ] || { echo "no network" >&2; exit 1; } ;;
esac
exit 0
"""
FAKE_MAILFLOW = """#!/bin/sh
echo "mailflow $*"
"""


def _layout(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    for script in ("setup.sh", "run.sh"):
        shutil.copy(REPO / "scripts" / script, root / "scripts" / script)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "examples").mkdir()
    (root / "examples" / "sample.txt").write_text("550 5.1.1 user unknown\n")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON), ("mailflow", FAKE_MAILFLOW)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return root


def _run(root: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAIL_PIP"))}
    environ |= {"PYTHON": sys.executable, **env}
    return subprocess.run(
        ["bash", str(root / "scripts" / script), *args],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _pip_calls(root: Path) -> list[str]:
    log = root / ".venv" / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return [call for call in calls if "pip install" in call]


def test_run_installs_once_and_then_starts_without_pip(tmp_path: Path) -> None:
    root = _layout(tmp_path / "app")
    first = _run(root, "run.sh", SLACK_BOT_TOKEN="xoxb-test")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "mailflow serve"
    assert any("-e ." in call for call in _pip_calls(root))

    again = _run(root, "run.sh", SLACK_BOT_TOKEN="xoxb-test", FAIL_PIP="1")
    assert again.returncode == 0, again.stderr  # pip would have failed: it was not called
    assert _pip_calls(root) == []
    playground = _run(root, "run.sh", FAIL_PIP="1")  # no credentials: serve the playground
    assert playground.returncode == 0 and playground.stdout.strip() == "mailflow serve"
    assert "playground" in playground.stderr
    offline = _run(root, "run.sh", "--offline", FAIL_PIP="1")  # the examples on the terminal
    assert offline.returncode == 0 and "mailflow diagnose examples/sample.txt" in offline.stdout
    assert _pip_calls(root) == []


def test_a_changed_pyproject_installs_again(tmp_path: Path) -> None:
    root = _layout(tmp_path / "app")
    assert _run(root, "setup.sh").returncode == 0
    _pip_calls(root)
    with (root / "pyproject.toml").open("a") as handle:
        handle.write("\n# a new dependency, say\n")
    assert _run(root, "run.sh", SLACK_BOT_TOKEN="xoxb-test").returncode == 0
    assert any("-e ." in call for call in _pip_calls(root))
    assert _run(root, "run.sh", SLACK_BOT_TOKEN="xoxb-test").returncode == 0
    assert _pip_calls(root) == []


def test_a_failed_install_is_tried_again_next_time(tmp_path: Path) -> None:
    root = _layout(tmp_path / "app")
    failed = _run(root, "setup.sh", FAIL_PIP="1")
    assert failed.returncode == 1 and "setup failed" in failed.stderr
    assert not (root / ".venv" / ".installed").exists()
    _pip_calls(root)
    assert _run(root, "setup.sh").returncode == 0
    assert _pip_calls(root)


def test_dev_tools_are_installed_once_on_top_of_the_runtime(tmp_path: Path) -> None:
    root = _layout(tmp_path / "app")
    assert _run(root, "setup.sh").returncode == 0
    assert not any(".[dev]" in call for call in _pip_calls(root))
    assert _run(root, "setup.sh", "--dev").returncode == 0
    assert any(".[dev]" in call for call in _pip_calls(root))
    for args in (("--dev",), ()):  # a dev install also serves the runtime
        assert _run(root, "setup.sh", *args).returncode == 0
        assert _pip_calls(root) == []
