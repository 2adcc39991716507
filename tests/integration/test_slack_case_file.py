"""The incident case file: everything pasted, uploaded and probed in one thread is one case.

End to end against the fake Web API, the real diagnosis and the real probe: EX01's dump, EX02's
dump and a message trace pasted into one thread, then `@mailflow check host=...` in that thread
against a loopback SMTP server presenting EX02's self-signed certificate. The last reply judges
all four together and names EX02's connector.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.blockkit import assert_valid_message
from tests.fakes import slack_signing as signing
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi, message_text
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, server_context
from tests.integration.conftest import Pki
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for

CASE = Path(__file__).resolve().parents[1] / "data" / "config_case"
EX02_SELF_SIGNED = "9E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B3A291807"  # in ex02.txt
THREAD = "1700000500.000100"


@pytest.fixture
async def bot(tmp_path: Path, pki: Pki) -> AsyncIterator[Bot]:
    smtp = ScriptedSmtp(name="mx.example.test", tls=server_context(pki.self_signed, tmp_path, "ss"))
    async with fake_api() as api, RawServer(smtp, "127.0.0.1") as server:
        dns = await FakeDnsServer({"mx.example.test": {"A": ["127.0.0.1"]}}).start()
        settings = settings_for(
            api, tmp_path / "bot.db", MAILFLOW_NAMESERVERS=dns.address,
            MAILFLOW_ALLOW_NETS="127.0.0.0/8", MAILFLOW_PROBE_PORT=str(server.port),
            MAILFLOW_PROBE_TIMEOUT="2",
        )  # fmt: skip
        try:
            async with serve_bot(settings, api) as running:
                yield running
        finally:
            await dns.stop()


def thread_posts(api: FakeSlackApi) -> list[str]:
    return [message_text(p) for p in api.posts() if p.get("thread_ts") == THREAD]


async def paste(bot: Bot, text: str, ts: str, count: int) -> str:
    await bot.event(signing.message_event(text, ts=ts, thread_ts=THREAD))
    await bot.api.wait_for(lambda _: len(thread_posts(bot.api)) >= count, 15)
    return thread_posts(bot.api)[-1]


async def test_three_pastes_and_a_mention_probe_are_one_case(bot: Bot, pki: Pki) -> None:
    thumbprint = hashlib.sha1(pki.self_signed.der).hexdigest().upper()
    ex02 = (CASE / "ex02.txt").read_text().replace(EX02_SELF_SIGNED, thumbprint)
    first = await paste(bot, (CASE / "ex01.txt").read_text(), "1700000501.000001", 1)
    assert "config.checked" in first or "Configuration read" in first
    second = await paste(bot, ex02, "1700000502.000001", 2)
    assert "2 pieces judged together" in second
    assert "EX02\\Default Frontend EX02" in second  # now the two servers meet
    third = await paste(bot, (CASE / "trace.txt").read_text(), "1700000503.000001", 3)
    assert "3 pieces judged together" in third
    assert "exo.tls.subject_mismatch" in third  # absorbed: named as what the story explains
    mention = signing.message_event(
        f"<@{BOT_USER_ID}> check host=mx.example.test", ts="1700000504.000001", thread_ts=THREAD
    )
    await bot.event(mention)
    await bot.api.wait_for(
        lambda _: any("4 pieces judged together" in t for t in thread_posts(bot.api)), 30
    )
    last = next(t for t in thread_posts(bot.api) if "4 pieces judged together" in t)
    assert "config.probe.presented_other_certificate" in last
    assert "EX02\\Default Frontend EX02" in last and thumbprint in last
    assert "the probe of host=mx.example.test" in last
    for post in bot.api.posts():
        assert_valid_message(post.params)


async def test_chat_in_the_thread_is_not_part_of_the_case(bot: Bot) -> None:
    await paste(bot, (CASE / "ex01.txt").read_text(), "1700000601.000001", 1)
    await bot.event(
        signing.message_event("thanks, looking", ts="1700000602.0001", thread_ts=THREAD)
    )
    second = await paste(bot, (CASE / "trace.txt").read_text(), "1700000603.000001", 2)
    assert "2 pieces judged together" in second


async def test_an_uploaded_collector_file_joins_the_case(bot: Bot) -> None:
    await paste(bot, (CASE / "ex02.txt").read_text(), "1700000701.000001", 1)
    collected = CASE.parent / "diagnose" / "config.exo.inbound_certificate_mismatch"
    upload = bot.api.add_file(
        "mailflow-onprem.json", (collected / "collector-ps51.json").read_bytes()
    )
    event = signing.message_event(
        "", subtype="file_share", files=[bot.api.file_event_entry(upload)],
        ts="1700000702.000001", thread_ts=THREAD,
    )  # fmt: skip
    await bot.event(event)
    await bot.api.wait_for(lambda _: len(thread_posts(bot.api)) >= 2, 15)
    last = thread_posts(bot.api)[-1]
    assert "2 pieces judged together" in last and "the file mailflow-onprem.json" in last
    assert "config.exo.inbound_certificate_mismatch" in last
