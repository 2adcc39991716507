"""config/manifest.yaml must match what the handlers listen for, pass Slack's published
manifest schema and request exactly the scopes the code needs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from handlers.commands import COMMAND
from handlers.workflows import (
    FUNCTION_CALLBACK_ID,
    FUNCTION_INPUTS,
    FUNCTION_OUTPUTS,
    SHORTCUT_CALLBACK_ID,
)

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "config" / "manifest.yaml"
SCHEMA = REPO / "tests" / "data" / "slack" / "manifest.schema.2.0.0.json"

# The bot scope each Web API method needs (docs.slack.dev/reference/methods); None: no scope.
METHOD_SCOPES: dict[str, str | None] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "files.info": "files:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "views.publish": None,
    "auth.test": None,
    # Called by bolt's complete()/fail() with the step's own function token.
    "functions.completeSuccess": None,
    "functions.completeError": None,
    # Called with the app-level token (connections:write), not a bot scope.
    "apps.connections.open": None,
}
# The scope each subscribed event needs (docs.slack.dev/reference/events).
EVENT_SCOPES: dict[str, str | None] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
    "app_mention": "app_mentions:read",
    "app_home_opened": None,
    "function_executed": None,
}
# slack_sdk helpers that are not Web API methods themselves, with the methods they call.
SDK_HELPERS = {
    "files.upload.v2": {"files.getUploadURLExternal", "files.completeUploadExternal"},
}
BOLT_CALLS = {"functions.completeSuccess", "functions.completeError", "auth.test"}


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
    assert "files:write" in scopes  # /tlscheck collect's snippets
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


def test_manifest_is_valid_against_slacks_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    data = manifest()
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(data), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    # The schema's dispatcher reads a manifest without _metadata.major_version as version 1,
    # whose `functions` is an array under `features`: ours is the version 2 shape.
    assert data["_metadata"]["major_version"] == 2


def test_schema_copy_rejects_what_slack_rejects() -> None:
    """The copy is the real schema, not a permissive stand-in."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    data = manifest()
    broken = json.loads(json.dumps(data))
    broken["functions"]["tlscheck"]["input_parameters"] = [{"name": "target", "type": "string"}]
    assert not validator.is_valid(broken)
    too_long = json.loads(json.dumps(data))
    too_long["display_information"]["name"] = "m" * 36
    assert not validator.is_valid(too_long)
    assert not validator.is_valid({**data, "unknown_section": {}})


def _web_api_methods_in_code() -> set[str]:
    """Slack Web API methods the bot calls itself: AsyncWebClient methods named in bot/ and
    handlers/ (chat_postMessage -> chat.postMessage, apps_connections_open ->
    apps.connections.open; files_upload_v2 -> the methods it calls)."""
    client_methods = {
        name for name in dir(AsyncWebClient) if not name.startswith("_") and "_" in name
    }
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("bot", "handlers")
        for path in (REPO / folder).rglob("*.py")
    )
    called = set(re.findall(r"\.([a-z]+(?:_[A-Za-z0-9]+)+)\(", source)) & client_methods
    methods = {name.replace("_", ".") for name in called}
    for helper in methods & set(SDK_HELPERS):
        methods = (methods - {helper}) | SDK_HELPERS[helper]
    return methods


def test_scopes_are_exactly_those_the_code_needs() -> None:
    data = manifest()
    methods = _web_api_methods_in_code() | BOLT_CALLS
    unknown = methods - set(METHOD_SCOPES)
    assert not unknown, f"add the scope of {sorted(unknown)} to METHOD_SCOPES (and the manifest)"
    events = data["settings"]["event_subscriptions"]["bot_events"]
    needed = {METHOD_SCOPES[m] for m in methods} | {EVENT_SCOPES[e] for e in events}
    if data["features"].get("slash_commands") or data["features"].get("shortcuts"):
        needed.add("commands")
    needed.discard(None)
    assert set(data["oauth_config"]["scopes"]["bot"]) == needed
    assert "im:write" not in needed  # no conversations.open: replies go to existing DMs
    # Where the bot is not a member it answers through the command's response_url instead.
    assert "chat:write.public" not in needed


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^##)", readme, re.S | re.M)
    assert match, f"README has no '### {title}' section"
    return match.group(1)


def test_readme_justifies_every_scope_and_states_the_plan_requirements() -> None:
    section = _readme_section("Scopes and plans")
    justified = set(re.findall(r"^\| `([a-z_:.]+)` \|", section, re.M))
    assert justified == set(manifest()["oauth_config"]["scopes"]["bot"]) | {"connections:write"}
    assert "paid plan" in section and "org_deploy_enabled" in section
    assert "organization level" in section


@pytest.mark.parametrize("scope", ["im:write", "chat:write.public"])
def test_dropped_scopes_are_not_requested(scope: str) -> None:
    assert scope not in manifest()["oauth_config"]["scopes"]["bot"]
