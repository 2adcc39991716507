"""Message shortcut "Diagnose mail-flow error", the Workflow Builder step `tlscheck`, App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.render import blocks, replies
from bot.slack.checks import run_to_end, status_word
from bot.slack.engines import CheckSpec, InvalidTargetError
from bot.slack.poster import Where
from bot.slack.runtime import Runtime
from handlers.common import Ack, privately_on_error
from handlers.messages import diagnose_message

log = logging.getLogger("mailflow.workflows")

SHORTCUT_CALLBACK_ID = "diagnose_mailflow_error"
FUNCTION_CALLBACK_ID = "tlscheck"
# The custom step's parameters, as declared in config/manifest.yaml.
TARGET_INPUT, EXPECTED_INPUT = "target", "expected_name"
FUNCTION_INPUTS = (TARGET_INPUT, EXPECTED_INPUT)
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
        try:
            target = runtime.engines.normalise(str(inputs.get(TARGET_INPUT) or ""), False)
            expected = str(inputs.get(EXPECTED_INPUT) or "").strip()
            names = (runtime.engines.normalise(expected, False),) if expected else ()
        except InvalidTargetError as exc:
            await fail(f"Invalid input: {exc}")
            return
        spec = CheckSpec(target, expected_names=names)

        async def job() -> None:
            try:
                result = await run_to_end(runtime.engines, spec)
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


async def _publish_home(runtime: Runtime, user: str) -> None:
    # Only the user's own activity: the store spans every channel, private ones included.
    recent = await runtime.store.timeline(None, limit=HOME_RECENT, user=user)
    await runtime.client.views_publish(user_id=user, view=blocks.home_view(recent[::-1]))
