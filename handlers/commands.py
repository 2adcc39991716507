"""`/tlscheck`: ack within Slack's 3 s (ephemeral), then work in the background."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.collect import FILE_NAMES, HOW_TO_RUN, SIDES, SNIPPET_TYPE, TITLES, script
from bot.render import blocks, replies
from bot.render.blocks import Message
from bot.slack.commands import (
    Check,
    Collect,
    Help,
    Stop,
    Summary,
    UsageError,
    Watch,
    parse_command,
)
from bot.slack.poster import CannotPostError, CannotUploadError, Snippet, Where
from bot.slack.runtime import Runtime
from handlers.common import Ack, privately_on_error, start_check

COMMAND = "/tlscheck"


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command(COMMAND)
    async def tlscheck(ack: Ack, command: dict[str, Any]) -> None:
        where = Where(
            channel=str(command.get("channel_id", "")),
            user=command.get("user_id"),
            response_url=command.get("response_url"),
        )
        try:
            parsed = parse_command(str(command.get("text", "")), runtime.engines.normalise)
        except UsageError as exc:
            await ack(**blocks.usage_message(str(exc)).as_kwargs())
            return
        if isinstance(parsed, Help):
            await ack(**blocks.usage_message().as_kwargs())
        elif not runtime.settings.channel_allowed(where.channel):
            await ack(**replies.channel_not_allowed().as_kwargs())
        elif isinstance(parsed, Check):
            await ack(**start_check(runtime, where, parsed.spec).message.as_kwargs())
        elif isinstance(parsed, Watch):
            await _watch(runtime, ack, where, parsed)
        elif isinstance(parsed, Stop):
            await _stop(runtime, ack, where, parsed)
        elif isinstance(parsed, Collect):
            await ack()
            _in_background(
                runtime, where, _collect(runtime, where), "collect", "post the collector scripts"
            )
        elif isinstance(parsed, Summary):
            await ack()
            _in_background(runtime, where, _summary(runtime, where), "summary", "build the summary")


def _in_background(
    runtime: Runtime, where: Where, job: Coroutine[Any, Any, None], name: str, what: str
) -> None:
    """Run an acked command's job as a task; a failure is told privately ("could not <what>")."""
    runtime.tasks.spawn(
        job, name=name, on_error=privately_on_error(runtime, where, replies.job_failed(what))
    )


async def _watch(runtime: Runtime, ack: Ack, where: Where, command: Watch) -> None:
    assert where.user is not None
    wait = runtime.limiter.acquire(where.user)
    if wait > 0:
        await ack(**replies.rate_limited(runtime.limiter.limit, wait).as_kwargs())
        return
    await ack(**replies.watch_starting(command.spec.label).as_kwargs())

    async def start() -> None:
        try:
            answer = await runtime.watches.start(where, command.spec)
        except CannotPostError:
            answer = replies.watch_cannot_post()
        if where.response_url:
            await runtime.poster.respond(where.response_url, answer)

    runtime.tasks.spawn(
        start(),
        name=f"watch start {command.spec.label}",
        on_error=privately_on_error(runtime, where, replies.job_failed("start the watch")),
    )


async def _stop(runtime: Runtime, ack: Ack, where: Where, command: Stop) -> None:
    stopped = await runtime.watches.stop(where.channel, command.target)
    if stopped is None:
        await ack(**replies.no_such_watch(command.target).as_kwargs())
    else:
        await ack(**replies.watch_stopped(stopped.label).as_kwargs())


async def _collect(runtime: Runtime, where: Where) -> None:
    """Both collector scripts as snippets in a thread of their own (slash commands carry no
    thread). When Slack refuses the upload (no files:write, uploads disabled), the rest come as
    code blocks with a note saying why; the user alone sees them when the bot cannot post."""
    try:
        parent = await runtime.poster.post(where.channel, replies.collect_intro(), None)
    except CannotPostError:
        for message in (replies.collect_intro(), *map(_script_blocks, SIDES)):
            await runtime.poster.private(where, message)
        return
    for index, side in enumerate(SIDES):
        try:
            await runtime.poster.upload(where.channel, _snippet(side), parent)
        except CannotUploadError as exc:
            rest = [_script_blocks(other) for other in SIDES[index:]]
            await runtime.poster.post_all(
                where.channel, [replies.collect_upload_refused(exc.code), *rest], parent
            )
            return


def _snippet(side: str) -> Snippet:
    comment = replies.collect_snippet_comment(FILE_NAMES[side], HOW_TO_RUN[side])
    return Snippet(script(side), FILE_NAMES[side], TITLES[side], SNIPPET_TYPE, comment)


def _script_blocks(side: str) -> Message:
    return replies.collect_script(HOW_TO_RUN[side], FILE_NAMES[side], script(side))


async def _summary(runtime: Runtime, where: Where) -> None:
    entries = await runtime.store.timeline(where.channel)
    channel_label = f"<#{where.channel}>" if where.channel.isalnum() else "this channel"
    for message in blocks.summary_messages(channel_label, entries):
        await runtime.poster.tell(where, message)
