"""config/manifest.yaml must match what the handlers listen for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from handlers.commands import COMMAND
from handlers.workflows import (
    FUNCTION_CALLBACK_ID,
    FUNCTION_INPUTS,
    FUNCTION_OUTPUTS,
    SHORTCUT_CALLBACK_ID,
)

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


def test_custom_step_follows_slacks_function_schema() -> None:
    """Slack's manifest schema nests parameters under `properties` with a `required` list, and
    a step served by a Bolt app needs function_runtime: remote and the function_executed
    event; the names must be the ones the workflow handler reads and completes with."""
    data = manifest()
    function = data["functions"][FUNCTION_CALLBACK_ID]
    inputs, outputs = function["input_parameters"], function["output_parameters"]
    assert set(inputs) == {"properties", "required"} == set(outputs)
    assert set(inputs["properties"]) == set(FUNCTION_INPUTS)
    assert set(FUNCTION_INPUTS) == {"target", "expected_name", "channel_id", "user_id"}
    assert inputs["properties"]["channel_id"]["type"] == "slack#/types/channel_id"
    assert inputs["properties"]["user_id"]["type"] == "slack#/types/user_id"
    assert inputs["required"] == ["target"]
    assert set(outputs["properties"]) == set(FUNCTION_OUTPUTS) == {"status", "summary"}
    assert sorted(outputs["required"]) == ["status", "summary"]
    strings = [inputs["properties"][name] for name in ("target", "expected_name")]
    for parameter in [*strings, *outputs["properties"].values()]:
        assert parameter["type"] == "string" and parameter["title"]
    for parameter in [*inputs["properties"].values(), *outputs["properties"].values()]:
        assert parameter["title"]
        assert "is_required" not in parameter  # the old workflow-step syntax
    assert function["title"] and function["description"]
    settings = data["settings"]
    assert settings["function_runtime"] == "remote"
    assert settings["org_deploy_enabled"] is True
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]


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


def _procfile() -> dict[str, str]:
    lines = (MANIFEST.parents[1] / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfile_web_is_http_and_worker_insists_on_socket_mode() -> None:
    processes = _procfile()
    assert set(processes) == {"web", "worker"}
    assert processes["web"] == "env -u SLACK_APP_TOKEN mailflow serve"
    assert processes["worker"].endswith("exec mailflow serve")
    # Without an app-level token the worker would silently serve HTTP on a dyno nobody routes
    # to: it must stop with one line and exit code 2 instead (run up to the guard only).
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        ["/bin/sh", "-c", processes["worker"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("mailflow serve: SLACK_APP_TOKEN is not set")
    assert done.stdout == ""
