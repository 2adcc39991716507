"""Small pieces shared by the listeners: starting a rate-limited check, polite refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.render import blocks
from bot.render.blocks import Message
from bot.render.mrkdwn import inline_code
from bot.slack.engines import CheckSpec
from bot.slack.poster import CannotPostError, Where
from bot.slack.runtime import Runtime

Ack = Callable[..., Awaitable[Any]]


def rate_limited_message(limit: int, wait: float) -> Message:
    return blocks.plain_message(
        f":hourglass: You have started {limit} checks in the last minute. "
        f"Please try again in {max(1, round(wait))} s."
    )


def channel_not_allowed_message() -> Message:
    return blocks.plain_message(
        ":no_entry: mailflow-bot is not enabled in this channel. "
        "Ask an admin to add it to MAILFLOW_ALLOWED_CHANNELS, or DM me."
    )


@dataclass(frozen=True, slots=True)
class Started:
    started: bool
    message: Message  # what to tell the user right away: "checking…", or why not


def start_check(runtime: Runtime, where: Where, spec: CheckSpec) -> Started:
    """Start a live check in the background (never waits for it)."""
    if not runtime.settings.channel_allowed(where.channel):
        return Started(False, channel_not_allowed_message())
    key = spec.key(where.channel)
    if runtime.tasks.running(key):
        return Started(
            False,
            blocks.plain_message(
                f":repeat: A check of {inline_code(spec.label)} is already running in this "
                "channel; its results will appear in its thread."
            ),
        )
    if where.user is not None:
        wait = runtime.limiter.acquire(where.user)
        if wait > 0:
            return Started(False, rate_limited_message(runtime.limiter.limit, wait))

    async def report(exc: BaseException) -> None:
        await runtime.poster.tell(
            where, blocks.parent_failed_message(spec.label, type(exc).__name__)
        )

    runtime.tasks.spawn(
        _checked(runtime, where, spec), name=f"check {spec.label}", key=key, on_error=report
    )
    return Started(True, blocks.plain_message(f":mag: Checking {inline_code(spec.label)}…"))


async def _checked(runtime: Runtime, where: Where, spec: CheckSpec) -> None:
    try:
        await runtime.checks.run(where, spec)
    except CannotPostError:
        # No response_url to fall back to (a button or shortcut): tell the user privately.
        if where.user:
            await runtime.poster.ephemeral(
                where.channel,
                where.user,
                blocks.plain_message(
                    ":information_source: I cannot post here. Invite me with `/invite @mailflow`."
                ),
            )
