"""/tlscheck and watches with the real probe against real loopback SMTP and DNS servers.

DNS: tests/fakes/dns_server.py (wire protocol on 127.0.0.1); SMTP: tests/fakes/smtp_servers.py
with STARTTLS and certificates generated at test time; the bot is configured the way an
operator would do it: MAILFLOW_NAMESERVERS, MAILFLOW_ALLOW_NETS, MAILFLOW_CA_FILE.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from bot.settings import Settings
from tests.blockkit import assert_valid_message
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.slack_api import Call, FakeSlackApi, message_text
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, hostile_no_banner, server_context
from tests.integration.conftest import Pki
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for

SMTP_IP = "127.0.0.1"
TARPIT_IP = "127.0.0.2"


@dataclass
class World:
    api: FakeSlackApi
    smtp: ScriptedSmtp
    settings: Settings
    tmp: Path
    pki: Pki


# "fixed in under a minute" / "fixed after 3 min"
FIXED = re.compile(r"fixed (in under a minute|after \d)")


@pytest.fixture
async def world(tmp_path: Path, pki: Pki) -> AsyncIterator[World]:
    smtp = ScriptedSmtp(name="mx.example.test", tls=server_context(pki.self_signed, tmp_path, "ss"))
    async with fake_api() as api, RawServer(smtp, SMTP_IP) as server:
        tarpit = await RawServer(hostile_no_banner, TARPIT_IP, server.port).start()
        zone = {
            "example.test": {"MX": ["10 mx.example.test"]},
            "mx.example.test": {"A": [SMTP_IP]},
            "tarpit.test": {"MX": ["10 mx.tarpit.test"]},
            "mx.tarpit.test": {"A": [TARPIT_IP]},
        }
        dns = await FakeDnsServer(zone).start()
        ca_file, _ = pki.root.write(tmp_path, "root")
        settings = settings_for(
            api,
            tmp_path / "bot.db",
            MAILFLOW_NAMESERVERS=dns.address,
            MAILFLOW_ALLOW_NETS="127.0.0.0/8",
            MAILFLOW_CA_FILE=str(ca_file),
            MAILFLOW_PROBE_PORT=str(server.port),
            MAILFLOW_PROBE_TIMEOUT="1",
            MAILFLOW_WATCH_INTERVAL="0.3",
        )
        try:
            yield World(api, smtp, settings, tmp_path, pki)
        finally:
            await tarpit.stop()
            await dns.stop()


async def thread_replies(bot: Bot, count: int = 1, timeout: float = 15) -> list[str]:
    await bot.api.wait_for(
        lambda calls: len([p for p in bot.api.posts() if p.get("thread_ts")]) >= count, timeout
    )
    return [message_text(p) for p in bot.api.posts() if p.get("thread_ts")]


async def test_self_signed_server_gets_a_threaded_report_with_the_fix(world: World) -> None:
    async with serve_bot(world.settings, world.api) as bot:
        reply = await bot.command("example.test expect=hybrid.example.test")
        assert reply.status == 200 and reply.seconds < 3
        report = (await thread_replies(bot))[0]
        parent = bot.api.posts()[0]
        assert not parent.get("thread_ts")
        assert "cert.self_signed" in report and "EXCH01" in report
        assert "mx.example.test" in report and SMTP_IP in report
        assert "Enable-ExchangeCertificate" in report or "Set-ReceiveConnector" in report
        updates = bot.api.of("chat.update")
        assert updates and "TLS check of example.test" in message_text(updates[-1])
        for call in bot.api.posts() + updates:
            assert_valid_message(call.params)


async def test_healthy_server_reports_no_errors(world: World, pki: Pki) -> None:
    world.smtp.tls = server_context(pki.leaf, world.tmp, "leaf")
    async with serve_bot(world.settings, world.api) as bot:
        await bot.command("example.test")
        report = (await thread_replies(bot))[0]
        assert ":x:" not in report
        assert "Watch until fixed" not in report  # nothing to watch


async def test_tarpit_does_not_slow_acks_and_ends_with_a_timeout(world: World) -> None:
    async with serve_bot(world.settings, world.api) as bot:
        await bot.command("tarpit.test")
        await bot.api.wait_calls("chat.postMessage", 1)  # the tarpit check is under way
        replies = [await bot.command(f"ack{i}.test", user_id=f"U{i:05d}") for i in range(5)]
        assert all(r.status == 200 and r.seconds < 1 for r in replies)
        assert (await bot.healthz()).status == 200
        texts = await bot.api.wait_for(
            lambda calls: any("smtp.timeout" in message_text(p) for p in bot.api.posts()),
            timeout=20,
        )
        assert texts


async def test_watch_resumes_after_restart_and_reports_the_fix(world: World, pki: Pki) -> None:
    async with serve_bot(world.settings, world.api) as bot:
        await bot.command("watch example.test")
        await world.api.wait_for(
            lambda calls: any(
                "cert.self_signed" in message_text(c) for c in world.api.of("chat.update")
            ),
            timeout=15,
        )
    # The bot is down; meanwhile the admin binds the right certificate.
    world.smtp.tls = server_context(pki.leaf, world.tmp, "fixed")
    async with serve_bot(world.settings, world.api) as bot:
        await world.api.wait_for(
            lambda calls: any(FIXED.search(message_text(p)) for p in world.api.posts()),
            timeout=15,
        )
        fixed = next(p for p in world.api.posts() if FIXED.search(message_text(p)))
        assert "fixed in under a minute" in message_text(fixed)  # never "after 0 min"
        assert "cert.self_signed" in message_text(fixed)  # what changed
        assert "now presents CN=mx.example.test" in message_text(fixed)
        assert pki.leaf.cert.fingerprint(hashes.SHA1()).hex().upper() in message_text(fixed)
        assert_valid_message(fixed.params)
        status_ts = {u.get("ts") for u in world.api.of("chat.update")}
        assert fixed.get("thread_ts") in status_ts
        assert not await bot.app.runtime.store.active_watches()
        await asyncio.sleep(0.1)


async def test_hostile_certificate_subject_is_escaped(world: World, pki: Pki) -> None:
    hostile = pki.factory.self_signed("<!channel> & <@U0BOSS>", ["mx.example.test"], index=7)
    world.smtp.tls = server_context(hostile, world.tmp, "hostile")
    async with serve_bot(world.settings, world.api) as bot:
        await bot.command("example.test")
        await thread_replies(bot)
        thread = next(p for p in bot.api.posts() if p.get("thread_ts"))
        value = next(
            e["value"]
            for b in thread.get("blocks")
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "mailflow_evidence"
        )
        payload = {
            "type": "block_actions",
            "user": {"id": "U0ALICE"},
            "channel": {"id": "C0INCIDENT"},
            "message": {"ts": "1700000999.000100", "thread_ts": thread.get("thread_ts")},
            "response_url": bot.api.response_url("evidence"),
            "actions": [{"action_id": "mailflow_evidence", "value": value, "type": "button"}],
        }
        await bot.interact(payload)
        await bot.api.wait_calls("chat.postMessage", 3)
        for call in bot.api.posts() + bot.api.of("chat.update"):
            sent = json.dumps([call.get("text"), call.get("blocks")])
            assert "<!channel>" not in sent and "<@U0BOSS>" not in sent
            assert_valid_message(call.params)
        everything = json.dumps([p.get("blocks") for p in bot.api.posts()])
        assert "&lt;!channel&gt;" in everything  # shown, but inert


def function_executed(execution: str, **inputs: str) -> dict[str, Any]:
    """The event Slack sends when a workflow reaches the bot's custom step."""
    return {
        "type": "function_executed",
        "function": {"callback_id": "tlscheck", "id": "Fn0TLS"},
        "inputs": inputs,
        "function_execution_id": execution,
        "workflow_execution_id": f"Wx{execution}",
        "event_ts": "1700000600.000100",
        "bot_access_token": "xwfp-function-token",
    }


def step_outputs(call: Call) -> dict[str, str]:
    outputs = call.get("outputs")
    decoded: dict[str, str] = json.loads(outputs) if isinstance(outputs, str) else outputs
    return decoded


async def test_workflow_step_takes_the_command_forms_and_is_in_the_summary(world: World) -> None:
    async with serve_bot(world.settings, world.api) as bot:
        # host=NAME, as /tlscheck takes it, against the real loopback SMTP and DNS servers
        step = function_executed(
            "Fx0001", target="host=mx.example.test", expected_name="mx.example.test",
            channel_id="C0INCIDENT", user_id="U0ALICE",
        )  # fmt: skip
        assert (await bot.event(step)).status == 200
        done = (await bot.api.wait_calls("functions.completeSuccess", 1, timeout=15))[0]
        assert step_outputs(done)["status"] == "error"
        assert "host=mx.example.test" in step_outputs(done)["summary"]
        assert "self-signed" in step_outputs(done)["summary"]
        # an address with expect= in the target, as the slash command accepts it
        step = function_executed(
            "Fx0002", target="admin@example.test expect=hybrid.example.test",
            channel_id="C0INCIDENT",
        )  # fmt: skip
        await bot.event(step)
        done = (await bot.api.wait_calls("functions.completeSuccess", 2, timeout=15))[1]
        assert "example.test expect=hybrid.example.test" in step_outputs(done)["summary"]
        # not a check form: the step fails with the command's reason, nothing is recorded
        await bot.event(function_executed("Fx0003", target="summary", channel_id="C0INCIDENT"))
        failed = (await bot.api.wait_calls("functions.completeError", 1))[0]
        assert "neither a subcommand nor a domain name" in str(failed.get("error"))
        await bot.idle()
        await bot.command("summary")
        timeline = message_text((await bot.api.wait_calls("chat.postMessage", 1))[-1])
        assert "host=mx.example.test" in timeline and "by `U0ALICE`" in timeline
        assert "example.test expect=hybrid.example.test" in timeline
        assert "(2 entries)" in timeline  # the refused step left no trace
        step_calls = bot.api.of("functions.completeSuccess") + bot.api.of("functions.completeError")
        assert {call.authorization for call in step_calls} == {"Bearer xwfp-function-token"}
