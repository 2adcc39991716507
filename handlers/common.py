"""Small pieces shared by the listeners: starting a rate-limited check, polite refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.render import blocks, replies
from bot.render.blocks import Message
from bot.slack.engines import CheckSpec
from bot.slack.poster import CannotPostError, Where
from bot.slack.runtime import Runtime
from bot.slack.tasks import ErrorReporter

Ack = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Started:
    started: bool
    message: Message  # what to tell the user right away: "checking…", or why not


def privately_on_error(runtime: Runtime, where: Where, message: Message) -> ErrorReporter:
    """A task's error reporter: the user who asked sees `message` (details go to the log)."""

    async def report(_: BaseException) -> None:
        await runtime.poster.private(where, message)

    return report


def start_check(runtime: Runtime, where: Where, spec: CheckSpec) -> Started:
    """Start a live check in the background (never waits for it)."""
    if not runtime.settings.channel_allowed(where.channel):
        return Started(False, replies.channel_not_allowed())
    key = spec.key(where.channel)
    if runtime.tasks.running(key):
        return Started(False, replies.already_running(spec.label))
    if where.user is not None:
        wait = runtime.limiter.acquire(where.user)
        if wait > 0:
            return Started(False, replies.rate_limited(runtime.limiter.limit, wait))

    async def report(exc: BaseException) -> None:
        await runtime.poster.tell(
            where, blocks.parent_failed_message(spec.label, type(exc).__name__)
        )

    runtime.tasks.spawn(
        _checked(runtime, where, spec), name=f"check {spec.label}", key=key, on_error=report
    )
    return Started(True, replies.checking(spec.label))


async def _checked(runtime: Runtime, where: Where, spec: CheckSpec) -> None:
    try:
        await runtime.checks.run(where, spec)
    except CannotPostError:
        # No response_url to fall back to (a button or shortcut): tell the user privately.
        if where.user:
            await runtime.poster.ephemeral(where.channel, where.user, replies.cannot_post_here())
