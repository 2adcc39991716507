"""The HTTP endpoint: signatures, stale timestamps, healthz, acks, dedupe of retried events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes import slack_signing as signing
from tests.integration.slack_engines import scripted_engines
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with (
        fake_api() as api,
        serve_bot(settings_for(api, tmp_path / "db"), api, scripted_engines()) as bot,
    ):
        yield bot


async def test_healthz_answers_ok(bot: Bot) -> None:
    reply = await bot.healthz()
    assert reply.status == 200
    assert reply.json()["ok"] is True


async def test_bad_signature_is_rejected_with_401(bot: Bot) -> None:
    request = signing.slash_command(
        "wrong-secret", "contoso.com", response_url=bot.api.response_url()
    )
    reply = await bot.raw(request)
    assert reply.status == 401
    assert bot.api.of("chat.postMessage") == []


async def test_tampered_body_is_rejected(bot: Bot) -> None:
    request = signing.slash_command(bot.secret, "contoso.com", response_url=bot.api.response_url())
    tampered = signing.SignedRequest(request.body.replace("contoso", "fabrikam"), request.headers)
    assert (await bot.raw(tampered)).status == 401


async def test_stale_timestamp_is_rejected(bot: Bot) -> None:
    stale = int(time.time()) - 10 * 60
    request = signing.slash_command(
        bot.secret, "help", response_url=bot.api.response_url(), timestamp=stale
    )
    assert (await bot.raw(request)).status == 401


async def test_help_is_acked_fast_and_ephemeral(bot: Bot) -> None:
    reply = await bot.command("help")
    assert reply.status == 200
    assert reply.seconds < 3
    body = reply.json()
    assert "Usage" in body["text"] and body.get("response_type", "ephemeral") == "ephemeral"
    await asyncio.sleep(0.2)
    assert bot.api.of("chat.postMessage") == []


async def test_retried_event_posts_once(bot: Bot) -> None:
    event = signing.message_event("Reason: 450 4.7.320 Certificate validation failed")
    first = await bot.event(event, event_id="Ev0RETRY1")
    assert first.status == 200
    await bot.api.wait_calls("chat.postMessage", 1)
    retry = await bot.event(event, event_id="Ev0RETRY1", retry_num=1)
    again = await bot.event(event, event_id="Ev0RETRY1", retry_num=2)
    assert retry.status == 200 and again.status == 200
    await asyncio.sleep(0.5)
    assert len(bot.api.of("chat.postMessage")) == 1


async def test_retry_after_a_restart_of_the_app_posts_nothing(tmp_path: Path) -> None:
    """The first delivery was answered, the app restarted (a deploy) and Slack's retry of the
    same event_id reaches the new process: it must not answer a second time."""
    event = signing.message_event("Reason: 450 4.7.320 Certificate validation failed")
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db")
        async with serve_bot(settings, api, scripted_engines()) as bot:
            await bot.event(event, event_id="Ev0DEPLOY1")
            await api.wait_calls("chat.postMessage", 1)
            await bot.idle()
        async with serve_bot(settings, api, scripted_engines()) as bot:
            retry = await bot.event(event, event_id="Ev0DEPLOY1", retry_num=1)
            assert retry.status == 200
            other = signing.message_event(
                "Reason: 450 4.7.320 Certificate validation failed", ts="1700000999.000100"
            )
            await bot.event(other, event_id="Ev0DEPLOY2")  # a new event is still answered
            await api.wait_calls("chat.postMessage", 2)
            await bot.idle()
            await asyncio.sleep(0.3)
    posts = api.of("chat.postMessage")
    assert len(posts) == 2
    assert posts[1].get("thread_ts") == "1700000999.000100"


async def test_url_verification_challenge_is_answered(bot: Bot) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY", "type": "url_verification"}
    )
    reply = await bot.raw(signing.sign(bot.secret, body, "application/json"))
    assert reply.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY" in reply.body


async def test_unknown_path_and_oversized_body_are_refused(bot: Bot) -> None:
    async with bot.http.post(bot.url + "/elsewhere", data=b"x") as response:
        assert response.status in (404, 405)
    big = signing.slash_command(
        bot.secret, "x" * (2 * 1024 * 1024), response_url=bot.api.response_url()
    )
    assert (await bot.raw(big)).status == 413
