"""The architecture rule, checked on every import statement (see ../shared/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NETWORK_OR_SLACK = (
    "asyncio",
    "socket",
    "ssl",
    "dns",
    "aiohttp",
    "aiosqlite",
    "slack_bolt",
    "slack_sdk",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _modules(package):
        for name in sorted(_imports(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_core_is_pure() -> None:
    forbidden = (*NETWORK_OR_SLACK, "bot.probe", "bot.render", "bot.slack", "handlers", "bot.cli")
    assert _violations("bot/core", forbidden) == []


def test_probe_gathers_evidence_without_judging_it() -> None:
    forbidden = (
        "bot.core.check",
        "bot.core.diagnose",
        "bot.core.tables",
        "bot.render",
        "bot.slack",
    )
    assert _violations("bot/probe", forbidden) == []


@pytest.mark.parametrize("package", ["bot/core", "bot/probe"])
def test_engines_know_nothing_of_slack(package: str) -> None:
    assert _violations(package, ("slack_bolt", "slack_sdk", "bot.slack", "handlers")) == []


def test_only_render_and_slack_know_block_kit() -> None:
    allowed = {"bot/render", "bot/slack", "handlers"}
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers")
        for path in _modules(package)
        if not any(str(path.relative_to(ROOT)).startswith(a) for a in allowed)
        and any(n.startswith("slack_sdk.models") for n in _imports(path))
    ]
    assert offenders == []


def test_the_html_renderer_renders_without_judging_and_the_playground_is_no_second_bot() -> None:
    html_renderer = [
        name
        for name in sorted(_imports(ROOT / "bot/render/html.py"))
        if name.startswith(("bot.", "handlers")) or name in NETWORK_OR_SLACK
    ]
    assert html_renderer == []
    # The playground only fakes Slack: it answers through the real app, never by itself.
    forbidden = ("bot.core.check", "bot.core.diagnose", "bot.probe", "bot.diagnosis", "bot.check")
    assert _violations("bot/playground", (*forbidden, "handlers", "slack_bolt")) == []
