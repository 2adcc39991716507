"""config/manifest.yaml must match what the handlers listen for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from handlers.commands import COMMAND
from handlers.workflows import FUNCTION_CALLBACK_ID, SHORTCUT_CALLBACK_ID

MANIFEST = Path(__file__).resolve().parents[2] / "config" / "manifest.yaml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def test_command_shortcut_and_function_match_the_handlers() -> None:
    data = manifest()
    commands = [c["command"] for c in data["features"]["slash_commands"]]
    assert commands == [COMMAND]
    shortcuts = data["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("message", SHORTCUT_CALLBACK_ID)]
    assert shortcuts[0]["name"] == "Diagnose mail-flow error"
    function = data["functions"][FUNCTION_CALLBACK_ID]
    assert set(function["input_parameters"]) == {"target", "expected_name"}
    assert set(function["output_parameters"]) == {"status", "summary"}


def test_scopes_and_events_cover_every_listener() -> None:
    data = manifest()
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "files:read", "app_mentions:read", "im:history"} <= scopes
    events = set(data["settings"]["event_subscriptions"]["bot_events"])
    assert events == {
        "message.channels", "message.groups", "message.im", "message.mpim",
        "app_mention", "app_home_opened", "function_executed",
    }  # fmt: skip
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is False
    urls = {
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
        data["features"]["slash_commands"][0]["url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
