"""`mailflow serve` as an operator starts it: settings from the environment, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}


async def test_missing_setting_is_one_line_naming_the_variable() -> None:
    proc = await _start(_base_env() | {"SLACK_SIGNING_SECRET": "secret"})
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0]


async def test_serves_healthz_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _base_env() | {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": str(port),
        "MAILFLOW_SLACK_API_URL": "http://127.0.0.1:9/api/",
        "MAILFLOW_DB": str(tmp_path / "mailflow.db"),
    }
    proc = await _start(env)
    try:
        status = None
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        status = response.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data="x=1"
            ) as unsigned:
                assert unsigned.status == 401
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0


async def test_without_credentials_it_serves_the_playground_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    proc = await _start(_base_env() | {"PORT": str(port)})
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        assert line.startswith(f"mailflow playground: open http://127.0.0.1:{port}/")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as page:
                assert page.status == 200
                assert '<label for="message" class="visually-hidden">Message</label>' in (
                    await page.text()
                )
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data="x=1"
            ) as unsigned:
                assert unsigned.status == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0


async def test_the_playground_refuses_a_wide_host_without_a_token() -> None:
    proc = await _start(_base_env() | {"HOST": "0.0.0.0", "PORT": str(_free_port())})
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "MAILFLOW_PLAYGROUND_TOKEN" in lines[0], lines
