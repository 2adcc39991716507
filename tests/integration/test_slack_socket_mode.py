"""Socket Mode (the Procfile's worker): serve() with SLACK_APP_TOKEN opens the WebSocket that
apps.connections.open hands out, acks envelopes over it and posts through the Web API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fakes.slack_api import BOT_TOKEN
from tests.integration.slack_harness import fake_api
from tests.integration.test_slack_serve import SERVE

APP_TOKEN = "xapp-1-A0MAILFLOW-1-socket"


async def test_socket_mode_acks_commands_and_serves_events(tmp_path: Path) -> None:
    async with fake_api() as api:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "MAILFLOW_SLACK_API_URL": api.api_url,
            "MAILFLOW_DB": str(tmp_path / "socket.db"),
        }
        env.pop("SLACK_SIGNING_SECRET", None)  # not needed in Socket Mode
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVE, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await asyncio.wait_for(api.socket_connected.wait(), 20)
            opened = api.of("apps.connections.open")
            assert opened and opened[0].authorization == f"Bearer {APP_TOKEN}"
            await api.socket_send(
                {
                    "envelope_id": "env-command-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/tlscheck",
                        "text": "help",
                        "user_id": "U0ALICE",
                        "channel_id": "C0INCIDENT",
                        "team_id": "T0TEST",
                        "response_url": api.response_url(),
                        "trigger_id": "1.2.3",
                    },
                }
            )
            acks = await api.wait_calls("socket_ack", 1, timeout=10)
            assert acks[0].get("envelope_id") == "env-command-1"
            assert "Usage" in json.dumps(acks[0].get("payload"))
            await api.socket_send(
                {
                    "envelope_id": "env-event-1",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "payload": {
                        "type": "event_callback",
                        "team_id": "T0TEST",
                        "event_id": "Ev0SOCKET",
                        "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
                    },
                }
            )
            published = await api.wait_calls("views.publish", 1, timeout=10)
            assert "mailflow-bot" in json.dumps(published[0].get("view"))
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 10) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
