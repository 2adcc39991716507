"""HTTP mode: an aiohttp application with POST /slack/events (every payload type: events,
slash commands, interactions, shortcuts) and GET /healthz."""

from __future__ import annotations

import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.slack.app import MailflowApp

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; refuse anything bigger early


def build_web_app(app: MailflowApp) -> web.Application:
    runtime = app.runtime
    started = time.monotonic()

    async def slack_events(request: web.Request) -> web.Response:
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
