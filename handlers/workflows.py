"""Message shortcut "Diagnose mail-flow error", the Workflow Builder step `tlscheck`, App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.render import blocks, replies
from bot.slack.checks import run_recorded, status_word
from bot.slack.commands import UsageError, parse_check
from bot.slack.poster import Where
from bot.slack.runtime import Runtime
from handlers.common import Ack, privately_on_error
from handlers.messages import diagnose_message

log = logging.getLogger("mailflow.workflows")

SHORTCUT_CALLBACK_ID = "diagnose_mailflow_error"
FUNCTION_CALLBACK_ID = "tlscheck"
# The custom step's parameters, as declared in config/manifest.yaml. Slack does not say where a
# workflow runs: the optional channel and user inputs say whose timeline records the check.
TARGET_INPUT, EXPECTED_INPUT = "target", "expected_name"
CHANNEL_INPUT, USER_INPUT = "channel_id", "user_id"
FUNCTION_INPUTS = (TARGET_INPUT, EXPECTED_INPUT, CHANNEL_INPUT, USER_INPUT)
FUNCTION_OUTPUTS = ("status", "summary")
HOME_RECENT = 10


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.shortcut(SHORTCUT_CALLBACK_ID)
    async def diagnose_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "")
        ts = message.get("thread_ts") or message.get("ts")
        where = Where(
            channel=channel,
            user=(body.get("user") or {}).get("id"),
            response_url=body.get("response_url"),
            thread_ts=str(ts) if ts else None,
        )

        async def job() -> None:
            if not await diagnose_message(runtime, where, message, source="that message"):
                await runtime.poster.private(where, replies.not_recognised())

        runtime.tasks.spawn(
            job(),
            name="diagnose shortcut",
            on_error=privately_on_error(runtime, where, replies.diagnosis_failed()),
        )

    @app.function(FUNCTION_CALLBACK_ID)
    async def tlscheck_step(inputs: dict[str, Any], complete: Any, fail: Any) -> None:
        channel, user = _slack_id(inputs, CHANNEL_INPUT), _slack_id(inputs, USER_INPUT)
        where = Where(channel=channel or "", user=user)
        try:
            spec = parse_check(
                str(inputs.get(TARGET_INPUT) or ""),
                runtime.engines.normalise,
                expect=str(inputs.get(EXPECTED_INPUT) or ""),
            )
        except UsageError as exc:
            await fail(f"Invalid input: {exc}")
            return
        if where.channel and not runtime.settings.channel_allowed(where.channel):
            await fail("mailflow-bot is not enabled in that channel")
            return

        async def job() -> None:
            try:
                result = await run_recorded(runtime.engines, runtime.store, where, spec)
            except Exception as exc:
                log.exception("workflow check of %s failed", spec.label)
                await fail(f"The check of {spec.label} failed: {type(exc).__name__}")
                return
            summary = blocks.plain_summary(spec.label, result.findings)
            await complete(outputs={"status": status_word(result), "summary": summary})

        runtime.tasks.spawn(job(), name=f"workflow check {spec.label}")

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        runtime.tasks.spawn(_publish_home(runtime, str(event["user"])), name="app home")


def _slack_id(inputs: dict[str, Any], name: str) -> str | None:
    """A channel or user id input, when it looks like one (anything else is ignored)."""
    value = str(inputs.get(name) or "")
    return value if value.isascii() and value.isalnum() and len(value) <= 30 else None


async def _publish_home(runtime: Runtime, user: str) -> None:
    # Only the user's own activity: the store spans every channel, private ones included.
    recent = await runtime.store.timeline(None, limit=HOME_RECENT, user=user)
    await runtime.client.views_publish(user_id=user, view=blocks.home_view(recent[::-1]))
