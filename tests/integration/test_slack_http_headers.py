"""Unauthenticated requests with malformed signing headers, written byte for byte on a real
socket (a client library would tidy them): 401, no traceback in the log, nothing dispatched.
Then the listen address: HOST, and a port that cannot be opened."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.slack.http import EVENTS_PATH
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_TOKEN
from tests.integration.slack_engines import scripted_engines
from tests.integration.slack_harness import SIGNING_SECRET, Bot, fake_api, serve_bot, settings_for
from tests.integration.test_slack_serve import free_port, start, wait_healthy

STAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with (
        fake_api() as api,
        serve_bot(settings_for(api, tmp_path / "db"), api, scripted_engines()) as bot,
    ):
        yield bot


def _help_command(bot: Bot) -> signing.SignedRequest:
    return signing.slash_command(bot.secret, "help", response_url=bot.api.response_url())


async def _post_raw(bot: Bot, body: str, headers: list[tuple[str, str]]) -> int:
    """POST exactly these header lines (repeats and odd values included); the status code."""
    host, port = bot.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    data = body.encode()
    lines = [
        f"POST {EVENTS_PATH} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(data)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + data)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


def _cases(request: signing.SignedRequest) -> dict[str, list[tuple[str, str]]]:
    stamp, sig = request.headers[STAMP], request.headers[SIGNATURE]
    now = int(time.time())
    return {
        "no_timestamp": [(SIGNATURE, sig)],
        "no_signature": [(STAMP, stamp)],
        "no_headers": [],
        "non_numeric_timestamp": [(STAMP, "yesterday"), (SIGNATURE, sig)],
        "float_timestamp": [(STAMP, f"{now}.5"), (SIGNATURE, sig)],
        "negative_timestamp": [(STAMP, "-1"), (SIGNATURE, sig)],
        "huge_timestamp": [(STAMP, "9" * 40), (SIGNATURE, sig)],
        "empty_timestamp": [(STAMP, ""), (SIGNATURE, sig)],
        "duplicated_timestamp": [(STAMP, stamp), (STAMP, stamp), (SIGNATURE, sig)],
        "duplicated_signature": [(STAMP, stamp), (SIGNATURE, sig), (SIGNATURE, sig)],
        "non_ascii_signature": [(STAMP, stamp), (SIGNATURE, "v0=é" + sig[4:])],
        "signature_of_other_scheme": [(STAMP, stamp), (SIGNATURE, "v1=" + sig[3:])],
    }


CASES = list(_cases(signing.SignedRequest("", {STAMP: "1", SIGNATURE: "v0=" + "0" * 64})))


@pytest.mark.parametrize("case", CASES)
async def test_malformed_signing_headers_get_401_without_a_traceback(
    bot: Bot, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = _help_command(bot)
    caplog.set_level(logging.DEBUG)
    status = await _post_raw(bot, request.body, _cases(request)[case])
    assert status == 401
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert len(bot.app.runtime.tasks) == 0


async def test_the_same_request_with_proper_headers_is_answered(bot: Bot) -> None:
    request = _help_command(bot)
    assert await _post_raw(bot, request.body, list(request.headers.items())[1:]) == 200


async def test_host_chooses_the_listen_address(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
    env |= {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "HOST": "127.0.0.2",
        "PORT": str(port),
        "MAILFLOW_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "MAILFLOW_DB": str(tmp_path / "host.db"),
    }
    process = await start(env)
    try:
        assert await wait_healthy(f"http://127.0.0.2:{port}")
        with pytest.raises(aiohttp.ClientConnectionError):
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz"),
            ):
                pass
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
        env |= {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(taken.getsockname()[1]),
            "MAILFLOW_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
            "MAILFLOW_DB": str(tmp_path / "port.db"),
        }
        process = await start(env)
        assert await asyncio.wait_for(process.wait(), 10) == 2
    assert process.stderr is not None
    lines = (await process.stderr.read()).decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("mailflow serve: cannot listen on HOST=127.0.0.1 PORT=")
