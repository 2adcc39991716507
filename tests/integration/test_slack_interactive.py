"""Buttons, the message shortcut, the workflow step, App Home and watches (scripted probe)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack.engines import CheckSpec
from tests.blockkit import assert_valid_message, assert_valid_view
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import FakeSlackApi, message_text
from tests.integration.slack_engines import ScriptedCheck, scripted_engines
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for
from tests.integration.test_slack_messages import TRACE

# "fixed in under a minute" / "fixed after 3 min"
FIXED = re.compile(r"fixed (in under a minute|after \d)")


@pytest.fixture
def check() -> ScriptedCheck:
    return ScriptedCheck()


@pytest.fixture
async def bot(tmp_path: Path, check: ScriptedCheck) -> AsyncIterator[Bot]:
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db", MAILFLOW_WATCH_INTERVAL="0.2")
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            yield bot


def block_action(
    api: FakeSlackApi, action_id: str, value: str, message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0ALICE"},
        "channel": {"id": "C0INCIDENT"},
        "container": {"type": "message", "channel_id": "C0INCIDENT", "message_ts": message["ts"]},
        "message": message,
        "response_url": api.response_url("button"),
        "trigger_id": "1.2.3",
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
    }


def button_value(call_params: dict[str, Any], action_id: str) -> str:
    for block in call_params["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


async def run_check(bot: Bot) -> tuple[str, dict[str, Any]]:
    await bot.command("contoso.com")
    posts = await bot.api.wait_calls("chat.postMessage", 2)
    await bot.idle()
    return str(posts[1].get("thread_ts")), posts[1].params


async def test_show_evidence_posts_chain_details_in_the_thread(bot: Bot) -> None:
    thread_ts, report = await run_check(bot)
    value = button_value(report, "mailflow_evidence")
    message = {"ts": "1700000009.000100", "thread_ts": thread_ts}
    reply = await bot.interact(block_action(bot.api, "mailflow_evidence", value, message))
    assert reply.status == 200 and reply.seconds < 3
    posts = await bot.api.wait_calls("chat.postMessage", 3)
    evidence = posts[2]
    assert evidence.get("thread_ts") == thread_ts
    text = message_text(evidence)
    assert "SHA-256" in text and "CN=SERVER1" in text and "TLSv1.3" in text
    assert_valid_message(evidence.params)


async def test_rerun_runs_the_same_check_again_in_the_thread(
    bot: Bot, check: ScriptedCheck
) -> None:
    thread_ts, report = await run_check(bot)
    value = button_value(report, "mailflow_rerun")
    message = {"ts": "1700000009.000100", "thread_ts": thread_ts}
    await bot.interact(block_action(bot.api, "mailflow_rerun", value, message))
    posts = await bot.api.wait_calls("chat.postMessage", 4)
    assert all(p.get("thread_ts") == thread_ts for p in posts[2:])
    assert [c.target for c in check.calls] == ["contoso.com", "contoso.com"]


async def test_probe_now_button_checks_the_named_host(bot: Bot, check: ScriptedCheck) -> None:
    await bot.event(signing.message_event(TRACE, ts="1700000400.000100"))
    diagnosis = (await bot.api.wait_calls("chat.postMessage", 1))[0]
    value = button_value(diagnosis.params, "mailflow_probe_now")
    message = {"ts": "1700000401.000100", "thread_ts": "1700000400.000100"}
    await bot.interact(block_action(bot.api, "mailflow_probe_now", value, message))
    await bot.api.wait_calls("chat.postMessage", 3)
    assert check.calls[-1] == CheckSpec("mail.contoso.com", True, ("mail.contoso.com",))


async def test_watch_reports_fixed_and_stops(bot: Bot, check: ScriptedCheck) -> None:
    reply = await bot.command("watch contoso.com")
    assert "watch" in reply.json()["text"].lower()
    status = (await bot.api.wait_calls("chat.postMessage", 1))[0]
    await bot.api.wait_for(lambda calls: len(check.calls) >= 2, timeout=5)
    check.broken.clear()  # the admin fixed the certificate
    await bot.api.wait_for(
        lambda calls: any(FIXED.search(message_text(c)) for c in bot.api.posts()), timeout=5
    )
    fixed = next(c for c in bot.api.posts() if FIXED.search(message_text(c)))
    status_ts = {u.get("ts") for u in bot.api.of("chat.update")}
    assert len(status_ts) == 1 and fixed.get("thread_ts") in status_ts
    assert "cert.self_signed" in message_text(fixed)
    calls = len(check.calls)
    await asyncio.sleep(0.6)
    assert len(check.calls) == calls  # stopped after the fix
    assert status.get("channel") == "C0INCIDENT"
    assert not await bot.app.runtime.store.active_watches()


async def test_stop_ends_a_watch(bot: Bot, check: ScriptedCheck) -> None:
    await bot.command("watch contoso.com")
    await bot.api.wait_for(lambda calls: len(check.calls) >= 1, timeout=5)
    reply = await bot.command("stop contoso.com")
    assert "Stopped" in reply.json()["text"]
    calls = len(check.calls)
    await asyncio.sleep(0.6)
    assert len(check.calls) == calls
    check.broken.add("mail.contoso.com")
    await bot.command("watch host=mail.contoso.com")
    await bot.api.wait_for(lambda calls: len(check.calls) >= 2, timeout=5)
    by_host = await bot.command("stop host=mail.contoso.com")
    assert "Stopped" in by_host.json()["text"]
    missing = await bot.command("stop fabrikam.com")
    assert "No active watch" in missing.json()["text"]


async def test_watch_resumes_after_restart(tmp_path: Path) -> None:
    check = ScriptedCheck()
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db", MAILFLOW_WATCH_INTERVAL="0.2")
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            await bot.command("watch contoso.com")
            # the first check found the error (the status message says so): then restart
            await api.wait_for(
                lambda calls: any(
                    "cert.self_signed" in message_text(c) for c in api.of("chat.update")
                ),
                timeout=5,
            )
        calls_before = len(check.calls)
        check.broken.clear()
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            await api.wait_for(
                lambda calls: any(FIXED.search(message_text(c)) for c in api.posts()),
                timeout=5,
            )
        assert len(check.calls) > calls_before


async def test_watch_stops_after_its_maximum_and_says_so(tmp_path: Path) -> None:
    check = ScriptedCheck()  # contoso.com stays broken the whole time
    async with fake_api() as api:
        settings = settings_for(
            api, tmp_path / "db", MAILFLOW_WATCH_INTERVAL="0.2", MAILFLOW_WATCH_MAX="0.7"
        )
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            await bot.command("watch contoso.com")
            status = (await api.wait_calls("chat.postMessage", 1))[0]
            assert status.get("channel") == "C0INCIDENT"
            await api.wait_for(
                lambda calls: any("still failing" in message_text(c) for c in api.posts()),
                timeout=5,
            )
            expired = next(c for c in api.posts() if "still failing" in message_text(c))
            status_ts = {u.get("ts") for u in api.of("chat.update")}
            assert len(status_ts) == 1  # one status message, kept up to date
            assert expired.get("thread_ts") in status_ts  # the answer is in its thread
            assert "after 1 s" in message_text(expired)
            assert "cert.self_signed" in message_text(expired)
            assert_valid_message(expired.params)
            calls = len(check.calls)
            assert 2 <= calls <= 6  # re-probed every 0.2 s until the 0.7 s were up
            await asyncio.sleep(0.6)
            assert len(check.calls) == calls  # and not once more
            last_status = api.of("chat.update")[-1]
            assert "still failing after 1 s" in message_text(last_status)
            assert "mailflow_stop_watch" not in json.dumps(last_status.params)
            watch = await bot.app.runtime.store.watch(1)
            assert watch is not None and watch.state.value == "expired"
            assert not await bot.app.runtime.store.active_watches()


async def test_message_shortcut_diagnoses_the_message(bot: Bot) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "diagnose_mailflow_error",
        "user": {"id": "U0ALICE"},
        "channel": {"id": "C0INCIDENT"},
        "message": {"type": "message", "ts": "1700000500.000100", "text": TRACE, "user": "U0BOB"},
        "response_url": bot.api.response_url("shortcut"),
        "trigger_id": "1.2.3",
    }
    reply = await bot.interact(payload)
    assert reply.status == 200
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert posts[0].get("thread_ts") == "1700000500.000100"
    upload = bot.api.add_file("smtp-send.log", TRACE.encode())
    payload["message"] = {
        "type": "message", "ts": "1700000502.000100", "text": "see attached",
        "files": [bot.api.file_event_entry(upload)],
    }  # fmt: skip
    await bot.interact(payload)
    posts = await bot.api.wait_calls("chat.postMessage", 2)
    assert posts[1].get("thread_ts") == "1700000502.000100"
    assert "smtp-send.log" in message_text(posts[1])
    payload["message"] = {"type": "message", "ts": "1700000501.000100", "text": "lunch?"}
    await bot.interact(payload)
    answers = await bot.api.wait_calls("response_url", 1)
    assert "did not recognise" in message_text(answers[0])


async def test_workflow_step_completes_with_status_and_summary(bot: Bot) -> None:
    event = {
        "type": "function_executed",
        "function": {"callback_id": "tlscheck", "id": "Fn0TLS"},
        "inputs": {"target": "contoso.com", "expected_name": "hybrid.contoso.com"},
        "function_execution_id": "Fx0001",
        "workflow_execution_id": "Wx0001",
        "event_ts": "1700000600.000100",
        "bot_access_token": "xwfp-function-token",
    }
    reply = await bot.event(event)
    assert reply.status == 200
    done = (await bot.api.wait_calls("functions.completeSuccess", 1))[0]
    outputs = done.get("outputs")
    outputs = json.loads(outputs) if isinstance(outputs, str) else outputs
    assert outputs["status"] == "error"
    assert "contoso.com" in outputs["summary"]
    bad = {**event, "inputs": {"target": "not a domain"}, "function_execution_id": "Fx0002"}
    await bot.event(bad)
    failed = (await bot.api.wait_calls("functions.completeError", 1))[0]
    assert "Invalid input" in str(failed.get("error"))


async def test_app_home_shows_recent_checks(bot: Bot) -> None:
    await run_check(bot)
    await asyncio.sleep(0.2)
    await bot.event(
        {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "channel": "D0HOME"}
    )
    published = (await bot.api.wait_calls("views.publish", 1))[0]
    view = published.get("view")
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    assert "contoso.com" in json.dumps(view)
    assert_valid_view(view)
    # Someone else sees only their own activity, never checks run in channels they may not
    # be in (private channels included).
    await bot.event({"type": "app_home_opened", "user": "U0BOB", "tab": "home", "channel": "D0B"})
    other = (await bot.api.wait_calls("views.publish", 2))[1].get("view")
    other = json.loads(other) if isinstance(other, str) else other
    assert "`contoso.com`: error" in json.dumps(view)  # Alice's own check is listed
    assert "`contoso.com`: error" not in json.dumps(other)
    assert "Nothing yet" in json.dumps(other)
