"""Block Kit and mrkdwn as HTML (bot/render/html.py): Slack's rendering, everything escaped."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.render import html as render_html

ROOT = Path(__file__).resolve().parents[2]
CASES = tomllib.loads((ROOT / "tests/data/render/mrkdwn_html.toml").read_text(encoding="utf-8"))
NAMES = render_html.Names(CASES["names"]["users"], CASES["names"]["channels"])


@pytest.mark.parametrize("case", CASES["case"], ids=[c["name"] for c in CASES["case"]])
def test_mrkdwn_renders_as_slack_does(case: dict[str, str]) -> None:
    assert render_html.mrkdwn_to_html(case["mrkdwn"], NAMES) == case["html"]


def test_every_block_type_renders_and_buttons_are_real_buttons() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "mailflow <bot>"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*hi*"},
            "fields": [{"type": "plain_text", "text": "a & b"}],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Go"},
                "action_id": "x",
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "`id`"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "a <chart>"},
        {
            "type": "actions",
            "block_id": "b1",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Re-run", "emoji": True},
                    "action_id": "mailflow_rerun",
                    "value": '{"t": "<x>"}',
                    "style": "primary",
                }
            ],
        },
    ]
    assert render_html.unknown_types(blocks) == set()
    out = render_html.blocks_html(blocks, strict=True)
    assert '<h3 class="block header">mailflow &lt;bot&gt;</h3>' in out
    assert (
        '<button type="button" class="button primary" data-action-id="mailflow_rerun" '
        'data-block-id="b1" data-value="{&quot;t&quot;: &quot;&lt;x&gt;&quot;}">Re-run</button>'
    ) in out
    assert "a &amp; b" in out and "[a &lt;chart&gt;]" in out and "https://x" not in out


def test_an_unknown_type_is_visible_or_raises_when_strict() -> None:
    blocks: list[dict[str, Any]] = [{"type": "rich_text", "elements": []}, {"type": "input"}]
    assert render_html.unknown_types(blocks) == {"rich_text", "input"}
    assert "[unsupported: rich_text]" in render_html.blocks_html(blocks)
    with pytest.raises(render_html.UnknownBlockError):
        render_html.blocks_html(blocks, strict=True)
    element = [{"type": "actions", "elements": [{"type": "static_select"}]}]
    assert render_html.unknown_types(element) == {"static_select"}
    with pytest.raises(render_html.UnknownBlockError):
        render_html.blocks_html(element, strict=True)


def _emitted_types() -> set[str]:
    """Every `"type": "..."` the bot's Block Kit code writes in a dict literal."""
    found: set[str] = set()
    for path in sorted((ROOT / "bot/render").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "type"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    found.add(value.value)
    return found


def test_the_renderer_knows_every_type_the_bot_emits() -> None:
    views = {"home", "modal"}
    emitted = _emitted_types() - views
    assert emitted, "no Block Kit found in bot/render"
    unknown = emitted - render_html.BLOCK_TYPES - render_html.ELEMENT_TYPES
    assert not unknown, f"bot/render/html.py cannot render {sorted(unknown)}"


def test_long_hostile_input_renders_in_linear_time() -> None:
    hostile = ("*_~`<@U1|" * 20_000) + ("&lt;" * 20_000) + "```" * 3000
    out = render_html.mrkdwn_to_html(hostile)
    assert "<script" not in out and len(out) > len(hostile)
