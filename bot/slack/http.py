"""HTTP mode: an aiohttp application with POST /slack/events (every payload type: events,
slash commands, interactions, shortcuts) and GET /healthz."""

from __future__ import annotations

import logging
import re
import time

from aiohttp import web
from multidict import CIMultiDictProxy
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.slack.app import MailflowApp

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; refuse anything bigger early
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds, as Slack sends them
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

log = logging.getLogger("mailflow.http")


def signed_headers_problem(headers: CIMultiDictProxy[str]) -> str | None:
    """Why the signing headers cannot be checked, or None. bolt's verifier assumes a single,
    numeric timestamp and an ASCII signature (it raises on anything else); Slack always sends
    exactly one of each, so anything else is answered 401 before bolt sees it."""
    for name, shape in ((TIMESTAMP_HEADER, _TIMESTAMP), (SIGNATURE_HEADER, _SIGNATURE)):
        values = headers.getall(name, [])
        if len(values) != 1:
            return f"{name} sent {len(values)} times"
        if not shape.fullmatch(values[0]):
            return f"{name} is malformed"
    return None


def build_web_app(app: MailflowApp) -> web.Application:
    runtime = app.runtime
    started = time.monotonic()

    async def slack_events(request: web.Request) -> web.Response:
        problem = signed_headers_problem(request.headers)
        if problem is not None:
            log.debug("refused a request to %s: %s", EVENTS_PATH, problem)
            return web.Response(status=401, text="")
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": runtime.started,
                "uptime_s": round(time.monotonic() - started, 1),
                "jobs": len(runtime.tasks),
            },
            status=200 if runtime.started else 503,
        )

    async def on_startup(_: web.Application) -> None:
        await runtime.start()

    async def on_cleanup(_: web.Application) -> None:
        await runtime.aclose()

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.on_startup.append(on_startup)
    web_app.on_cleanup.append(on_cleanup)
    return web_app
