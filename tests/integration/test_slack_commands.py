"""/tlscheck end to end: ack, parent message, progress, threaded report, fallbacks, limits."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.blockkit import assert_valid_message
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import message_text
from tests.integration.slack_engines import ScriptedCheck, scripted_engines
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for
from tests.integration.test_slack_messages import TRACE


@pytest.fixture
def check() -> ScriptedCheck:
    return ScriptedCheck(delay=0.05)


@pytest.fixture
async def bot(tmp_path: Path, check: ScriptedCheck) -> AsyncIterator[Bot]:
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db", MAILFLOW_CHECKS_PER_MINUTE="3")
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            yield bot


async def test_check_posts_parent_then_threaded_report(bot: Bot) -> None:
    reply = await bot.command("contoso.com")
    assert reply.status == 200 and reply.seconds < 3
    assert "Checking" in reply.json()["text"]
    posts = await bot.api.wait_calls("chat.postMessage", 2)
    parent, report = posts[0], posts[1]
    assert parent.get("channel") == "C0INCIDENT" and not parent.get("thread_ts")
    parent_ts = (await bot.api.wait_calls("chat.update", 1))[0].get("ts")
    assert report.get("thread_ts") == parent_ts
    text = message_text(report)
    assert "cert.self_signed" in text and "Enable-ExchangeCertificate" in text
    action_ids = [
        element["action_id"]
        for block in report.get("blocks")
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert action_ids == ["mailflow_rerun", "mailflow_watch", "mailflow_evidence"]
    for call in bot.api.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            assert_valid_message(call.params)


async def test_usage_errors_are_ephemeral_and_post_nothing(bot: Bot) -> None:
    for text in ("contoso.com fabrikam.com", "frobnicate", "contoso.com color=blue", "<!channel>"):
        reply = await bot.command(text)
        assert reply.status == 200
        body = reply.json()
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert "Usage" in json.dumps(body)
        assert "<!channel>" not in json.dumps(body)
    await asyncio.sleep(0.3)
    assert bot.api.of("chat.postMessage") == []


async def test_rate_limit_answers_politely(bot: Bot) -> None:
    answers = [
        (await bot.command(f"site{i}.example.com", user_id="U0BUSY")).json()["text"]
        for i in range(4)
    ]
    assert all("Checking" in a for a in answers[:3])
    assert "Please try again" in answers[3]
    other = await bot.command("other.example.com", user_id="U0CALM")
    assert "Checking" in other.json()["text"]


async def test_same_check_in_same_channel_runs_once(bot: Bot, check: ScriptedCheck) -> None:
    check.delay = 1.0
    first = await bot.command("contoso.com")
    second = await bot.command("contoso.com", user_id="U0BOB")
    elsewhere = await bot.command("contoso.com", channel_id="C0OTHER")
    assert "Checking" in first.json()["text"]
    assert "already running" in second.json()["text"]
    assert "Checking" in elsewhere.json()["text"]
    await bot.api.wait_calls("chat.postMessage", 4, timeout=10)
    assert len(check.calls) == 2


async def test_not_in_channel_falls_back_to_response_url(bot: Bot) -> None:
    bot.api.fail("chat.postMessage", "not_in_channel")
    reply = await bot.command("contoso.com", channel_id="C0PRIVATE")
    assert reply.status == 200
    responses = await bot.api.wait_calls("response_url", 2)
    assert "/invite" in message_text(responses[0])
    assert "cert.self_signed" in message_text(responses[1])
    assert all(r.get("response_type") == "ephemeral" for r in responses)
    for response in responses:
        assert_valid_message(response.params)


async def test_rate_limited_web_api_is_retried(bot: Bot) -> None:
    bot.api.rate_limit("chat.postMessage", retry_after=1)
    await bot.command("contoso.com")
    posts = await bot.api.wait_calls("chat.postMessage", 3, timeout=10)  # 429, retry, report
    assert len([p for p in posts if p.get("thread_ts")]) == 1


async def test_failing_engine_reports_an_error_not_silence(bot: Bot, check: ScriptedCheck) -> None:
    check.error = ConnectionError("resolver exploded")
    await bot.command("fabrikam.com")
    updates = await bot.api.wait_calls("chat.update", 1)
    assert "failed" in message_text(updates[-1])
    assert (await bot.healthz()).status == 200


async def test_a_crashing_summary_is_reported_privately_and_the_app_lives_on(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_timeline(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database disk image is malformed")

    monkeypatch.setattr(bot.app.runtime.store, "timeline", broken_timeline)
    reply = await bot.command("summary")
    assert reply.status == 200
    answer = (await bot.api.wait_calls("response_url", 1))[0]
    assert "could not build the summary" in message_text(answer)
    assert "malformed" not in message_text(answer)  # details stay in the log
    assert bot.api.of("chat.postMessage") == []
    assert (await bot.healthz()).status == 200


async def test_a_check_cut_short_by_shutdown_says_so_with_a_rerun(tmp_path: Path) -> None:
    check = ScriptedCheck(hang=True)
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db")
        async with serve_bot(settings, api, scripted_engines(check)) as bot:
            await bot.command("contoso.com")
            parent = (await api.wait_calls("chat.postMessage", 1))[0]
            async with asyncio.timeout(5):
                while not check.calls:  # the probe has started and hangs
                    await asyncio.sleep(0.01)
        # the app has shut down (runner cleanup cancelled the hanging check)
        last = api.of("chat.update")[-1]
        assert "interrupted" in message_text(last) and "Re-run" in json.dumps(last.params)
        assert_valid_message(last.params)
        assert parent.get("thread_ts") is None and last.get("ts") == "1700000001.000100"


async def test_summary_lists_the_channel_timeline(bot: Bot) -> None:
    await bot.command("contoso.com")
    await bot.api.wait_calls("chat.postMessage", 2)
    await bot.event(signing.message_event(TRACE))
    await bot.api.wait_calls("chat.postMessage", 3)
    await bot.idle()
    await bot.command("summary", channel_id="C0OTHER")  # another channel: its own timeline
    other = (await bot.api.wait_calls("chat.postMessage", 4))[-1]
    assert "No checks" in message_text(other)
    reply = await bot.command("summary")
    assert reply.status == 200
    posts = await bot.api.wait_calls("chat.postMessage", 5)
    text = message_text(posts[-1])
    assert "timeline" in text and "contoso.com" in text and "error" in text
    assert "diagnosis" in text and "message_trace" in text
    assert text.index("check") < text.index("diagnosis")  # oldest first


async def test_allowlist_refuses_commands_in_other_channels(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db", MAILFLOW_ALLOWED_CHANNELS="C0ALLOWED")
        async with serve_bot(settings, api, scripted_engines()) as bot:
            refused = await bot.command("contoso.com", channel_id="C0ELSEWHERE")
            assert "not enabled in this channel" in refused.json()["text"]
            allowed = await bot.command("contoso.com", channel_id="C0ALLOWED")
            assert "Checking" in allowed.json()["text"]
            await api.wait_calls("chat.postMessage", 2)
            assert {p.get("channel") for p in api.posts()} == {"C0ALLOWED"}


async def test_parent_message_shows_progress_before_the_result(
    bot: Bot, check: ScriptedCheck
) -> None:
    check.delay = 1.2  # the second progress step arrives after the update interval
    await bot.command("contoso.com")
    await bot.api.wait_calls("chat.postMessage", 2, timeout=10)
    updates = [message_text(u) for u in bot.api.of("chat.update")]
    assert len(updates) >= 2
    assert "1/1 connections done" in updates[0]
    assert "details in the thread" in updates[-1]
