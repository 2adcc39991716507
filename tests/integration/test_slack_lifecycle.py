"""`mailflow serve` stops within 5 s of SIGTERM or SIGINT in every state it can be in: HTTP,
Socket Mode connected, connecting to a Slack that refuses or never answers, and reconnecting
after Slack dropped the connection. Reconnect attempts back off, one log line each, and no
state prints a traceback."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fakes.smtp_servers import RawServer, hostile_no_banner
from tests.integration.slack_harness import SIGNING_SECRET, fake_api
from tests.integration.test_slack_serve import SERVE, free_port, wait_healthy

APP_TOKEN = "xapp-1-A0MAILFLOW-1-lifecycle"
SIGNALS = [signal.SIGTERM, signal.SIGINT]
STOP_WITHIN = 5.0


@dataclass
class Served:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._changed.set()

    async def wait_line(self, pattern: str, *, count: int = 1, timeout: float = 15) -> list[str]:
        """The first `count` log lines matching `pattern`, once they are there."""
        async with asyncio.timeout(timeout):
            while True:
                found = [line for line in self.lines if re.search(pattern, line)]
                if len(found) >= count:
                    return found[:count]
                self._changed.clear()
                await self._changed.wait()

    async def stop(self, sig: signal.Signals) -> tuple[int, float]:
        """Send `sig`; the exit code and how long the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 15)
        elapsed = time.monotonic() - started
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code, elapsed

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


@asynccontextmanager
async def served(env: dict[str, str]) -> AsyncIterator[Served]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVE, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    serve = Served(process)
    serve._reader = asyncio.create_task(serve._read())
    try:
        yield serve
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        serve._reader.cancel()


def _env(tmp_path: Path, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAILFLOW_"))}
    return env | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "MAILFLOW_SLACK_API_URL": api_url,
        "MAILFLOW_DB": str(tmp_path / "lifecycle.db"),
        **extra,
    }


def _socket_env(tmp_path: Path, api_url: str) -> dict[str, str]:
    return _env(tmp_path, api_url, SLACK_APP_TOKEN=APP_TOKEN)


def _assert_clean_stop(serve: Served, code: int, elapsed: float) -> None:
    assert code == 0, serve.log
    assert elapsed < STOP_WITHIN, f"took {elapsed:.1f} s\n{serve.log}"
    assert "Traceback" not in serve.log, serve.log
    assert serve.lines and serve.lines[-1].endswith("mailflow.serve stopped"), serve.log


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
async def test_http_mode_stops(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    env = _env(
        tmp_path, f"http://127.0.0.1:{free_port()}/api/",
        SLACK_SIGNING_SECRET=SIGNING_SECRET, HOST="127.0.0.1", PORT=str(port),
    )  # fmt: skip
    async with served(env) as serve:
        assert await wait_healthy(f"http://127.0.0.1:{port}")
        code, elapsed = await serve.stop(sig)
    _assert_clean_stop(serve, code, elapsed)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
async def test_socket_mode_connected_stops(tmp_path: Path, sig: signal.Signals) -> None:
    async with fake_api() as api, served(_socket_env(tmp_path, api.api_url)) as serve:
        await asyncio.wait_for(api.socket_connected.wait(), 20)
        await serve.wait_line("Socket Mode: connected")
        code, elapsed = await serve.stop(sig)
    _assert_clean_stop(serve, code, elapsed)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
async def test_socket_mode_stops_while_slack_refuses_connections(
    tmp_path: Path, sig: signal.Signals
) -> None:
    closed_port = free_port()  # nothing listens there: every connect is refused at once
    env = _socket_env(tmp_path, f"http://127.0.0.1:{closed_port}/api/")
    async with served(env) as serve:
        await serve.wait_line("cannot connect to Slack", count=2)
        code, elapsed = await serve.stop(sig)
    _assert_clean_stop(serve, code, elapsed)
    failures = [line for line in serve.lines if "cannot connect to Slack" in line]
    assert all(line.count("\n") == 0 and "retrying in" in line for line in failures)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
async def test_socket_mode_stops_while_slack_never_answers(
    tmp_path: Path, sig: signal.Signals
) -> None:
    async with RawServer(hostile_no_banner, "127.0.0.1") as tarpit:  # accepts, then silence
        env = _socket_env(tmp_path, f"http://127.0.0.1:{tarpit.port}/api/")
        async with served(env) as serve:
            async with asyncio.timeout(20):
                while not tarpit.connections:
                    await asyncio.sleep(0.05)
            code, elapsed = await serve.stop(sig)
    _assert_clean_stop(serve, code, elapsed)
    assert not any("cannot connect" in line for line in serve.lines)  # it was still waiting


async def _drop_and_refuse(api: FakeSlackApi) -> None:
    api.fail("apps.connections.open", "internal_error", times=1000)
    await api.socket_drop()


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
async def test_socket_mode_stops_while_reconnecting(tmp_path: Path, sig: signal.Signals) -> None:
    async with fake_api() as api, served(_socket_env(tmp_path, api.api_url)) as serve:
        await serve.wait_line("Socket Mode: connected")
        await _drop_and_refuse(api)
        (dropped,) = await serve.wait_line("reconnecting")
        await serve.wait_line(r"cannot connect to Slack \(apps.connections.open: internal_error\)")
        code, elapsed = await serve.stop(sig)
    assert "Slack closed the connection" in dropped
    _assert_clean_stop(serve, code, elapsed)


async def test_reconnect_attempts_back_off_one_line_each(tmp_path: Path) -> None:
    env = _socket_env(tmp_path, f"http://127.0.0.1:{free_port()}/api/")
    async with served(env) as serve:
        failures = await serve.wait_line("cannot connect to Slack", count=3, timeout=20)
        code, elapsed = await serve.stop(signal.SIGTERM)
    _assert_clean_stop(serve, code, elapsed)
    others = [line for line in serve.lines if "cannot connect to Slack" not in line]
    assert len(others) == 1, others  # one line per attempt, then "stopped"
    delays = [int(re.findall(r"retrying in (\d+) s", line)[0]) for line in failures]
    assert delays == sorted(delays) and delays[0] < delays[2], delays
    assert delays[0] <= 1 and 3 <= delays[2] <= 4, delays


async def test_socket_mode_reconnects_and_serves_again(tmp_path: Path) -> None:
    async with fake_api() as api, served(_socket_env(tmp_path, api.api_url)) as serve:
        await api.wait_socket_connections(1, timeout=20)
        await api.socket_drop()
        await api.wait_socket_connections(2, timeout=10)
        await api.socket_send({"type": "disconnect", "reason": "refresh_requested"})
        await api.wait_socket_connections(3, timeout=10)
        await api.socket_send(
            {
                "envelope_id": "env-after-reconnect",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/tlscheck", "text": "help", "user_id": "U0ALICE",
                    "channel_id": "C0INCIDENT", "team_id": "T0TEST",
                    "response_url": api.response_url(), "trigger_id": "1.2.3",
                },
            }
        )  # fmt: skip
        acks = await api.wait_calls("socket_ack", 1, timeout=10)
        code, elapsed = await serve.stop(signal.SIGTERM)
    assert acks[0].get("envelope_id") == "env-after-reconnect"
    assert any("refresh_requested" in line for line in serve.lines)
    _assert_clean_stop(serve, code, elapsed)


async def test_a_refused_app_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with fake_api() as api:
        api.fail("apps.connections.open", "invalid_auth")
        async with served(_socket_env(tmp_path, api.api_url)) as serve:
            code = await asyncio.wait_for(serve.process.wait(), 15)
            assert serve._reader is not None
            await asyncio.wait_for(serve._reader, 5)
    assert code == 2
    assert serve.lines == [
        "mailflow serve: SLACK_APP_TOKEN was refused by Slack (invalid_auth): it must be an "
        "app-level token (xapp-...) with the connections:write scope"
    ]
