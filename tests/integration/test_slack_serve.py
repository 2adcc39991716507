"""`mailflow serve` as a process: HTTP mode on $PORT, /healthz, settings errors, and a clean
exit on SIGTERM even while a check hangs on a tarpit."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes import slack_signing as signing
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.smtp_servers import RawServer, hostile_no_banner
from tests.integration.slack_harness import SIGNING_SECRET, fake_api

SERVE = "import sys; from bot.slack.serve import serve_from_env; sys.exit(serve_from_env())"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVE, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(url + "/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    return False


async def test_bad_settings_exit_2_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
    env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PORT": "eighty"})
    process = await start(env)
    assert await asyncio.wait_for(process.wait(), 20) == 2
    assert process.stderr is not None
    lines = (await process.stderr.read()).decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailflow serve: PORT=")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_serve_stops_cleanly_while_a_check_hangs(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    async with (
        fake_api() as api,
        RawServer(hostile_no_banner, "127.0.0.1") as tarpit,
    ):
        dns = await FakeDnsServer(
            {"slow.test": {"MX": ["10 mx.slow.test"]}, "mx.slow.test": {"A": ["127.0.0.1"]}}
        ).start()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PORT": str(port),
            "MAILFLOW_SLACK_API_URL": api.api_url,
            "MAILFLOW_DB": str(tmp_path / "serve.db"),
            "MAILFLOW_NAMESERVERS": dns.address,
            "MAILFLOW_ALLOW_NETS": "127.0.0.0/8",
            "MAILFLOW_PROBE_PORT": str(tarpit.port),
            "MAILFLOW_PROBE_TIMEOUT": "60",
        }
        env.pop("SLACK_APP_TOKEN", None)
        process = await start(env)
        url = f"http://127.0.0.1:{port}"
        try:
            assert await wait_healthy(url)
            request = signing.slash_command(
                SIGNING_SECRET, "slow.test", response_url=api.response_url()
            )
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    url + "/slack/events", data=request.body.encode(), headers=request.headers
                ) as response,
            ):
                assert response.status == 200
            async with asyncio.timeout(10):
                while tarpit.active == 0:  # the check now hangs on the tarpit
                    await asyncio.sleep(0.05)
            stopping = time.monotonic()
            process.send_signal(sig)
            assert await asyncio.wait_for(process.wait(), 10) == 0
            assert time.monotonic() - stopping < 5
            assert process.stderr is not None
            log = (await process.stderr.read()).decode()
            assert "Traceback" not in log and "stopped" in log
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await dns.stop()
        assert (tmp_path / "serve.db").exists()


async def test_bad_trust_anchor_file_stops_serve_with_one_line(tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.key"
    anchor.write_text("dane.test. IN DNSKEY 257 3 13 !!!not base64!!!\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
    env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s",
                "MAILFLOW_TRUST_ANCHOR": str(anchor), "PORT": str(free_port())})  # fmt: skip
    process = await start(env)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "anchor.key: line 1" in lines[0], lines
