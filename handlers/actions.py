"""Buttons: Re-run, Watch until fixed, Stop watching, Show evidence, Probe <host> now."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.render import blocks, replies
from bot.render.blocks import ActionId
from bot.slack.engines import CheckSpec
from bot.slack.poster import CannotPostError, Where
from bot.slack.runtime import Runtime
from handlers.common import Ack, privately_on_error, start_check

__all__ = ["ActionId", "register"]


def _where(body: dict[str, Any]) -> Where:
    """Answers to a button go to the thread the button's message is in."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    thread = message.get("thread_ts") or message.get("ts") or container.get("message_ts")
    return Where(
        channel=str(channel),
        user=(body.get("user") or {}).get("id"),
        response_url=body.get("response_url"),
        thread_ts=str(thread) if thread else None,
    )


def _spec(action: dict[str, Any]) -> CheckSpec | None:
    try:
        return CheckSpec.from_json(str(action.get("value", "")))
    except (ValueError, KeyError, TypeError):
        return None


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.action(ActionId.RERUN.value)
    @app.action(ActionId.PROBE_NOW.value)
    async def rerun(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where, spec = _where(body), _spec(action)
        if spec is None:
            return
        answer = start_check(runtime, where, spec)
        if not answer.started:  # refused: tell the user why, privately
            runtime.tasks.spawn(runtime.poster.private(where, answer.message), name="refusal")

    @app.action(ActionId.WATCH.value)
    async def watch(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where, spec = _where(body), _spec(action)
        if spec is None or where.user is None:
            return
        wait = runtime.limiter.acquire(where.user)
        if wait > 0:
            message = replies.rate_limited(runtime.limiter.limit, wait)
            runtime.tasks.spawn(runtime.poster.private(where, message), name="refusal")
            return

        async def start() -> None:
            try:
                answer = await runtime.watches.start(where, spec)
            except CannotPostError:
                answer = replies.watch_cannot_post()
            await runtime.poster.private(where, answer)

        runtime.tasks.spawn(
            start(),
            name=f"watch {spec.label}",
            on_error=privately_on_error(runtime, where, replies.job_failed("start the watch")),
        )

    @app.action(ActionId.STOP_WATCH.value)
    async def stop_watch(ack: Ack, action: dict[str, Any]) -> None:
        await ack()
        value = str(action.get("value", ""))
        if value.isdigit():
            await runtime.watches.stop_id(int(value))

    @app.action(ActionId.EVIDENCE.value)
    async def evidence(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where = _where(body)
        kept = runtime.evidence.get(str(action.get("value", "")))

        async def show() -> None:
            if kept is None:
                await runtime.poster.private(where, replies.evidence_expired())
                return
            for message in blocks.evidence_messages(kept.label, kept.evidence):
                await runtime.poster.tell(where, message)

        runtime.tasks.spawn(
            show(),
            name="evidence",
            on_error=privately_on_error(runtime, where, replies.job_failed("show the evidence")),
        )
