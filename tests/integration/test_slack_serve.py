"""`serve()` as a process: HTTP mode on $PORT, /healthz, clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import BOT_TOKEN
from tests.integration.slack_harness import SIGNING_SECRET, fake_api

SERVE = "import sys; from bot.settings import Settings; from bot.slack.serve import serve; " \
    "sys.exit(serve(Settings.from_env()))"  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_runs_http_mode_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    async with fake_api() as api:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PORT": str(port),
            "MAILFLOW_SLACK_API_URL": api.api_url,
            "MAILFLOW_DB": str(tmp_path / "serve.db"),
        }
        env.pop("SLACK_APP_TOKEN", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVE, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            healthy = False
            async with aiohttp.ClientSession() as http:
                for _ in range(200):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                            healthy = response.status == 200
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
            assert healthy
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 10)
            assert code == 0
            assert process.stderr is not None
            log = (await process.stderr.read()).decode()
            assert "Traceback" not in log and "stopped" in log
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert (tmp_path / "serve.db").exists()
