"""`mailflow` loads only what the command at hand uses (start-up is most of a check's run):
the module list comes from the real program's `-X importtime` report."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.integration.test_cli_check import REPO

DIAGNOSIS_STACK = ("bot.core.diagnose", "bot.diagnosis")
SLACK_STACK = ("slack_bolt", "slack_sdk", "aiohttp", "bot.slack", "handlers")
NETWORK_STACK = ("dns", "ssl", "asyncio", "bot.probe", "bot.check")


def imported(*args: str) -> set[str]:
    """Every module `python -m bot ARGS` imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "bot.cli" in names  # the report was read
    return names


def loaded(names: set[str], stack: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == s or n.startswith(s + ".") for s in stack))


def test_check_help_loads_neither_diagnosis_nor_slack() -> None:
    names = imported("check", "--help")
    assert loaded(names, DIAGNOSIS_STACK + SLACK_STACK) == []


def test_a_whole_check_loads_neither_diagnosis_nor_slack() -> None:
    names = imported("check", "--host", "127.0.0.1", "--json")  # blocked: nothing connected
    assert "bot.probe.engine" in names
    assert loaded(names, DIAGNOSIS_STACK + SLACK_STACK) == []
    # dnspython's feature scan is settled by bot.probe: distribution metadata is never read
    assert loaded(names, ("importlib.metadata",)) == []


def test_diagnose_loads_no_dns_tls_asyncio_or_slack() -> None:
    names = imported(
        "diagnose", str(REPO / "examples" / "message-trace-4.7.320-subject-mismatch.txt")
    )
    assert "bot.diagnosis" in names
    assert loaded(names, NETWORK_STACK + SLACK_STACK) == []
