"""The ONE message listener (bolt runs only the first matching one) and app mentions.

Pasted NDRs, message-trace reasons, queue errors and protocol-log lines get a diagnosis in the
thread of the message; ordinary chat gets nothing (a short help in DMs and on mentions).
Uploaded .txt/.log/.csv/.eml/.json files are fetched with the bot token and diagnosed the same way.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.models import Diagnosis
from bot.render import blocks, replies
from bot.slack.commands import UsageError, parse_mention
from bot.slack.engines import CheckSpec
from bot.slack.files import FileRejectedError, fetch_file
from bot.slack.poster import CannotPostError, Where
from bot.slack.runtime import Runtime
from handlers.common import start_check

log = logging.getLogger("mailflow.messages")

MAX_TEXT_CHARS = 200_000
MAX_FILES = 5
# Message subtypes that carry a person's new words; everything else (edits, deletions, joins,
# bot messages, ...) is ignored.
ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@[UW][A-Z0-9]{1,20}>")


def probe_value(host: str) -> str:
    return CheckSpec(host, host_mode=True, expected_names=(host,)).to_json()


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.event("message")
    async def on_message(event: dict[str, Any], context: dict[str, Any]) -> None:
        await _dispatch(runtime, event, context, mentioned=False)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
        await _dispatch(runtime, event, context, mentioned=True)


def _ignored(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return (
        event.get("subtype") not in ANSWERED_SUBTYPES
        or bool(event.get("bot_id"))
        or event.get("user") in (None, bot_user_id)
        or not event.get("channel")
        or not event.get("ts")
    )


async def _dispatch(
    runtime: Runtime, event: dict[str, Any], context: dict[str, Any], *, mentioned: bool
) -> None:
    bot_user_id = context.get("bot_user_id")
    if _ignored(event, bot_user_id):
        return
    channel, ts = str(event["channel"]), str(event["ts"])
    if not runtime.settings.channel_allowed(channel):
        return
    # The same message arrives as `message` and as `app_mention`: answer it once.
    if not runtime.seen.first_time(f"message:{channel}:{ts}"):
        return
    text = str(event.get("text") or "")
    is_dm = event.get("channel_type") == "im" or channel.startswith("D")
    mentioned = mentioned or (bool(bot_user_id) and f"<@{bot_user_id}>" in text)
    thread = event.get("thread_ts")
    where = Where(channel, event.get("user"), thread_ts=str(thread or ts))
    # Help is a reply to the conversation: in a DM it stays out of a thread unless the user
    # wrote in one; in a channel (a mention) it goes in the message's thread.
    help_thread = (str(thread) if thread else None) if is_dm else where.thread_ts
    if mentioned and _mention_check(runtime, where, text):
        return
    runtime.tasks.spawn(
        _diagnose_message(runtime, where, event, help_thread, answer_chat=is_dm or mentioned),
        name=f"diagnose {channel}/{ts}",
        on_error=lambda exc: runtime.poster.tell(where, replies.diagnosis_failed()),
    )


def _mention_check(runtime: Runtime, where: Where, text: str) -> bool:
    """`@mailflow check contoso.com` in a thread: a probe that joins the thread's case file.
    False when the mention is not a check (then it is read like any message)."""
    try:
        spec = parse_mention(text, runtime.engines.normalise)
    except UsageError as exc:
        message = blocks.usage_message(str(exc))
        runtime.tasks.spawn(runtime.poster.private(where, message), name="mention usage")
        return True
    if spec is None:
        return False
    answer = start_check(runtime, where, spec)
    if not answer.started:
        runtime.tasks.spawn(runtime.poster.private(where, answer.message), name="refusal")
    return True


async def _diagnose_message(
    runtime: Runtime,
    where: Where,
    event: dict[str, Any],
    help_thread: str | None,
    *,
    answer_chat: bool,
) -> None:
    answered = await diagnose_message(runtime, where, event, source="this message")
    if not answered and answer_chat:
        await runtime.poster.post(where.channel, replies.dm_help(), help_thread)


async def diagnose_message(
    runtime: Runtime, where: Where, message: dict[str, Any], *, source: str
) -> bool:
    """Diagnose a message's text and its uploaded files, replying in the thread; False when
    nothing in it was recognised."""
    text = _MENTION.sub(" ", str(message.get("text") or ""))[:MAX_TEXT_CHARS]
    answered = False
    if text.strip():
        answered = await diagnose_and_reply(runtime, where, text, source=source)
    for file in (message.get("files") or [])[:MAX_FILES]:
        answered = await _diagnose_file(runtime, where, file) or answered
    return answered


async def diagnose_and_reply(runtime: Runtime, where: Where, text: str, *, source: str) -> bool:
    """Diagnose `text` (with the rest of the thread's case file) and reply in the thread; False
    (and no reply) when nothing is recognised."""
    diagnosis = await asyncio.to_thread(runtime.engines.diagnose, text)
    piece = ("paste", "a paste", text.encode("utf-8", "replace"))
    judged = await runtime.cases.judge(where.channel, where.thread_ts, piece, diagnosis, source)
    return await reply_with(runtime, where, judged.diagnosis, source=judged.source)


async def reply_with(runtime: Runtime, where: Where, diagnosis: Diagnosis, *, source: str) -> bool:
    if not diagnosis.recognised:
        return False
    messages = blocks.diagnosis_messages(diagnosis, source=source, probe_value=probe_value)
    try:
        await runtime.poster.post_all(where.channel, messages, where.thread_ts)
    except CannotPostError:
        for message in messages:
            await runtime.poster.tell(where, message)
    first = diagnosis.findings[0].summary if diagnosis.findings else ""
    await runtime.store.add_incident(
        channel=where.channel,
        user=where.user,
        message_ts=where.thread_ts,
        kind=diagnosis.input.kind,
        finding_ids=[f.id for f in diagnosis.findings],
        summary=first[:300],
    )
    return True


async def _diagnose_file(runtime: Runtime, where: Where, file: dict[str, Any]) -> bool:
    file_id = str(file.get("id") or "")
    if not file_id:
        return False
    try:
        name, data = await fetch_file(runtime, file_id)
    except FileRejectedError as exc:
        if exc.tell_user:
            await runtime.poster.post(
                where.channel, replies.file_problem(str(exc)), where.thread_ts
            )
        return exc.tell_user
    diagnosis = await asyncio.to_thread(runtime.engines.diagnose_file, data, name)
    piece = ("file", f"the file {name}", data)
    judged = await runtime.cases.judge(
        where.channel, where.thread_ts, piece, diagnosis, f"the file {name}"
    )
    return await reply_with(runtime, where, judged.diagnosis, source=judged.source)
