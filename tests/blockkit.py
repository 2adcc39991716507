"""Validation of every rendered Slack message: slack_sdk's own Block Kit models plus the limits
slack_sdk does not check (50 blocks a message, a non-empty text fallback)."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50


def assert_valid_blocks(blocks: list[dict[str, Any]], *, limit: int = MAX_BLOCKS) -> None:
    assert len(blocks) <= limit, f"{len(blocks)} blocks"
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # raises SlackObjectFormationError on any violated limit
        text = raw.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= 3000


def assert_valid_message(params: dict[str, Any]) -> None:
    """`params` as sent to chat.postMessage / chat.update / a response_url."""
    text = params.get("text")
    assert isinstance(text, str) and text.strip(), "every message needs a text fallback"
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    assert_valid_blocks(blocks)


def assert_valid_view(view: dict[str, Any]) -> None:
    parsed = View(**view)
    parsed.validate_json()
    assert_valid_blocks(view["blocks"], limit=100)
