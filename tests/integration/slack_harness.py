"""The real bot served over HTTP on loopback, a fake Slack Web API, and signed requests.

Used by tests/integration/test_slack_*.py and benchmarks/bench_slack.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.settings import Settings
from bot.slack.app import MailflowApp, build_app
from bot.slack.engines import Engines
from bot.slack.http import EVENTS_PATH, build_web_app
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Bot:
    api: FakeSlackApi
    app: MailflowApp
    url: str
    http: aiohttp.ClientSession
    secret: str = SIGNING_SECRET

    async def _post(self, request: signing.SignedRequest) -> Reply:
        start = time.perf_counter()
        async with self.http.post(
            self.url + EVENTS_PATH, data=request.body.encode(), headers=request.headers
        ) as response:
            body = await response.text()
        return Reply(response.status, body, time.perf_counter() - start)

    async def command(self, text: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("response_url", self.api.response_url())
        return await self._post(signing.slash_command(self.secret, text, **kwargs))

    async def event(self, event: dict[str, Any], **kwargs: Any) -> Reply:
        return await self._post(signing.event_callback(self.secret, event, **kwargs))

    async def interact(self, payload: dict[str, Any]) -> Reply:
        return await self._post(signing.interaction(self.secret, payload))

    async def raw(self, request: signing.SignedRequest) -> Reply:
        return await self._post(request)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has no background job left."""
        async with asyncio.timeout(timeout):
            while len(self.app.runtime.tasks):
                await asyncio.sleep(0.01)

    async def healthz(self) -> Reply:
        start = time.perf_counter()
        async with self.http.get(self.url + "/healthz") as response:
            body = await response.text()
        return Reply(response.status, body, time.perf_counter() - start)


def settings_for(api: FakeSlackApi, db: Path, **env: str) -> Settings:
    values = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MAILFLOW_SLACK_API_URL": api.api_url,
        "MAILFLOW_DB": str(db),
        **env,
    }
    return Settings.from_env(values)


@asynccontextmanager
async def serve_bot(
    settings: Settings, api: FakeSlackApi, engines: Engines | None = None
) -> AsyncIterator[Bot]:
    app = build_app(settings, engines)
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            yield Bot(api, app, f"http://127.0.0.1:{port}", http)
        finally:
            await runner.cleanup()


@asynccontextmanager
async def fake_api() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    try:
        yield api
    finally:
        await api.close()
