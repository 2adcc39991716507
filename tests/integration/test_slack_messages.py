"""Pasted and uploaded errors: threaded diagnoses, silence on chat, help in DMs, escaping."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.models import Diagnosis
from tests.blockkit import assert_valid_message
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, message_text
from tests.integration.slack_engines import scripted_engines
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for

TRACE = (
    "Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
    "[LastAttemptedServerName=mail.contoso.com] [LastAttemptedIP=203.0.113.5:25]};"
    "{MSG=SubjectMismatch};{FQDN=mail.contoso.com};{IP=203.0.113.5}]"
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with (
        fake_api() as api,
        serve_bot(settings_for(api, tmp_path / "db"), api, scripted_engines()) as bot,
    ):
        yield bot


async def settle() -> None:
    await asyncio.sleep(0.4)


async def test_pasted_trace_gets_a_threaded_diagnosis(bot: Bot) -> None:
    event = signing.message_event(TRACE, ts="1700000100.000200")
    reply = await bot.event(event)
    assert reply.status == 200 and reply.seconds < 3
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert posts[0].get("thread_ts") == "1700000100.000200"
    assert posts[0].get("channel") == "C0INCIDENT"
    text = message_text(posts[0])
    assert "4.7.320" in text and "Get-ExchangeCertificate" in text
    assert "Probe mail.contoso.com now" in text
    assert_valid_message(posts[0].params)


async def test_reply_in_an_existing_thread_stays_in_that_thread(bot: Bot) -> None:
    event = signing.message_event(TRACE, ts="1700000101.000300", thread_ts="1700000050.000100")
    await bot.event(event)
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert posts[0].get("thread_ts") == "1700000050.000100"


async def test_ordinary_chat_gets_no_reply(bot: Bot) -> None:
    for text in ("lunch at 12?", "the mail server is slow today", "see <!channel> above"):
        await bot.event(signing.message_event(text))
    await settle()
    assert bot.api.of("chat.postMessage") == []


async def test_dm_chat_gets_short_help_in_the_conversation_not_a_thread(bot: Bot) -> None:
    await bot.event(signing.message_event("hi", channel="D0DIRECT", channel_type="im"))
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert "Paste an NDR" in message_text(posts[0])
    assert posts[0].get("channel") == "D0DIRECT" and not posts[0].get("thread_ts")
    # A message inside a DM thread is answered in that thread.
    threaded = signing.message_event(
        "hello?", channel="D0DIRECT", channel_type="im", thread_ts="1700000300.000100"
    )
    await bot.event(threaded)
    posts = await bot.api.wait_calls("chat.postMessage", 2)
    assert posts[1].get("thread_ts") == "1700000300.000100"


async def test_mention_with_chat_gets_help_and_is_answered_once(bot: Bot) -> None:
    text = f"<@{BOT_USER_ID}> are you there?"
    event = signing.message_event(text, ts="1700000200.000100")
    mention = {**event, "type": "app_mention"}
    await bot.event(event)
    await bot.event(mention)
    await settle()
    posts = bot.api.of("chat.postMessage")
    assert len(posts) == 1 and "Paste an NDR" in message_text(posts[0])
    assert posts[0].get("thread_ts") == "1700000200.000100"  # in a channel: in its thread


async def test_channel_mention_in_pasted_text_comes_back_escaped(bot: Bot) -> None:
    hostile = TRACE.replace("mail.contoso.com]", "<!channel> & <@U0BOSS>]", 1)
    await bot.event(signing.message_event(hostile))
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    sent = json.dumps([posts[0].get("text"), posts[0].get("blocks")])
    assert "<!channel>" not in sent and "<@U0BOSS>" not in sent
    assert "&amp;" in sent and " & " not in sent  # what survives of the paste is escaped


async def test_hostile_file_name_comes_back_escaped(bot: Bot) -> None:
    upload = bot.api.add_file("<!channel> & <!here>.log", TRACE.encode())
    event = signing.message_event(
        "", subtype="file_share", files=[bot.api.file_event_entry(upload)]
    )
    await bot.event(event)
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    sent = json.dumps([posts[0].get("text"), posts[0].get("blocks")])
    assert "&lt;!channel&gt; &amp; &lt;!here&gt;.log" in sent
    assert "<!channel>" not in sent and "<!here>" not in sent


async def test_edits_deletions_and_bot_messages_are_ignored(bot: Bot) -> None:
    edited = signing.message_event(TRACE, subtype="message_changed")
    deleted = signing.message_event(TRACE, subtype="message_deleted")
    other_bot = signing.message_event(TRACE, bot_id="B0OTHER", subtype="bot_message")
    ours = signing.message_event(TRACE, user=BOT_USER_ID, bot_id=BOT_ID)
    joined = signing.message_event(TRACE, subtype="channel_join")
    for event in (edited, deleted, other_bot, ours, joined):
        assert (await bot.event(event)).status == 200
    await settle()
    assert bot.api.of("chat.postMessage") == []


async def test_uploaded_log_is_fetched_with_the_bot_token_and_diagnosed(bot: Bot) -> None:
    upload = bot.api.add_file("queue.log", TRACE.encode())
    event = signing.message_event(
        "", subtype="file_share", files=[bot.api.file_event_entry(upload)], ts="1700000300.000100"
    )
    await bot.event(event)
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert posts[0].get("thread_ts") == "1700000300.000100"
    assert "queue.log" in message_text(posts[0])
    downloads = bot.api.of("file_download")
    assert downloads and downloads[0].authorization == f"Bearer {bot.api.bot_token}"
    assert bot.api.of("files.info")[0].get("file") == upload.id


async def test_unsupported_and_oversized_uploads(bot: Bot) -> None:
    image = bot.api.add_file("screenshot.png", b"\x89PNG")
    huge = bot.api.add_file("smtp.log", b"x", size=21 * 1024 * 1024)
    event = signing.message_event(
        "",
        subtype="file_share",
        files=[bot.api.file_event_entry(image), bot.api.file_event_entry(huge)],
    )
    await bot.event(event)
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    await settle()
    assert len(bot.api.of("chat.postMessage")) == 1
    assert "larger than 20 MB" in message_text(posts[0])
    assert bot.api.of("file_download") == []


async def test_not_allowed_channel_is_ignored(tmp_path: Path) -> None:
    async with fake_api() as api:
        settings = settings_for(api, tmp_path / "db", MAILFLOW_ALLOWED_CHANNELS="C0ALLOWED")
        async with serve_bot(settings, api, scripted_engines()) as bot:
            await bot.event(signing.message_event(TRACE, channel="C0INCIDENT"))
            await bot.event(signing.message_event(TRACE, channel="C0ALLOWED"))
            posts = await api.wait_calls("chat.postMessage", 1)
            await settle()
            assert [p.get("channel") for p in api.of("chat.postMessage")] == ["C0ALLOWED"]
            assert posts


async def test_a_crashing_diagnosis_is_reported_not_silent(tmp_path: Path) -> None:
    def exploding(text: str) -> Diagnosis:
        raise RuntimeError("parser bug")

    engines = dataclasses.replace(scripted_engines(), diagnose=exploding)
    async with (
        fake_api() as api,
        serve_bot(settings_for(api, tmp_path / "db"), api, engines) as bot,
    ):
        await bot.event(signing.message_event(TRACE, ts="1700000900.000100"))
        posts = await api.wait_calls("chat.postMessage", 1)
        assert "could not diagnose" in message_text(posts[0])
        assert posts[0].get("thread_ts") == "1700000900.000100"
        assert (await bot.healthz()).status == 200


async def test_utf16_upload_from_windows_powershell_is_decoded(bot: Bot) -> None:
    content = "\ufeffIdentity: EXCH01\\Hybrid\r\nLastError: " + TRACE + "\r\n"
    upload = bot.api.add_file("get-queue.txt", content.encode("utf-16-le"))
    event = signing.message_event(
        "", subtype="file_share", files=[bot.api.file_event_entry(upload)]
    )
    await bot.event(event)
    posts = await bot.api.wait_calls("chat.postMessage", 1)
    assert "exo.tls.subject_mismatch" in message_text(posts[0])
