"""Posting to Slack: chat.postMessage / chat.update / response_url / file snippets, with the
fallbacks.

When the bot cannot post in a channel (not a member, a DM it is not part of), Slack answers
not_in_channel or channel_not_found; callers then fall back to the command's response_url.
A snippet upload that Slack refuses (no files:write scope, uploads disabled) raises
CannotUploadError; callers then post the text as code blocks instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.blocks import Message

log = logging.getLogger("mailflow.poster")

CANNOT_POST = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_dm_bot"}
)
# files.getUploadURLExternal / files.completeUploadExternal errors that mean "not here, not
# with this token": worth a fallback, not a retry.
UPLOAD_REFUSED = CANNOT_POST | {
    "missing_scope",
    "not_allowed_token_type",
    "no_permission",
    "access_denied",
    "file_uploads_disabled",
    "file_uploads_except_images_disabled",
    "posting_to_general_channel_denied",
    "unknown_method",  # a Slack-compatible API without the external upload (the playground)
}
RESPONSE_URL_TIMEOUT = aiohttp.ClientTimeout(total=10)


class CannotPostError(Exception):
    """The bot may not post in that conversation (error code in `code`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CannotUploadError(Exception):
    """Slack refused a file upload (error code in `code`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Snippet:
    """A text file shown in Slack as a snippet, with a comment posted along with it."""

    content: str
    filename: str
    title: str
    snippet_type: str
    comment: str


@dataclass(frozen=True, slots=True)
class Where:
    """Where a job reports: a channel, optionally a thread, and a response_url fallback."""

    channel: str
    user: str | None = None
    response_url: str | None = None
    thread_ts: str | None = None


class Poster:
    def __init__(self, client: AsyncWebClient, http: aiohttp.ClientSession) -> None:
        self._client = client
        self._http = http

    async def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        """chat.postMessage; returns the message ts. Raises CannotPostError when not allowed."""
        kwargs: dict[str, Any] = message.as_kwargs()
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = await self._client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **kwargs
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error", ""))
            if code in CANNOT_POST:
                raise CannotPostError(code) from None
            raise
        return str(response["ts"])

    async def post_all(
        self, channel: str, messages: list[Message], thread_ts: str | None
    ) -> list[str]:
        return [await self.post(channel, message, thread_ts) for message in messages]

    async def upload(self, channel: str, snippet: Snippet, thread_ts: str | None = None) -> None:
        """files_upload_v2 (files.getUploadURLExternal, the upload, files.completeUploadExternal).
        Raises CannotUploadError when Slack refuses it."""
        try:
            await self._client.files_upload_v2(
                content=snippet.content,
                filename=snippet.filename,
                title=snippet.title,
                snippet_type=snippet.snippet_type,
                initial_comment=snippet.comment,
                channel=channel,
                thread_ts=thread_ts,
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error", ""))
            if code in UPLOAD_REFUSED:
                raise CannotUploadError(code) from None
            raise

    async def update(self, channel: str, ts: str, message: Message) -> None:
        try:
            await self._client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except SlackApiError as exc:  # a progress update is not worth failing a job for
            log.warning("chat.update failed: %s", exc.response.get("error"))

    async def ephemeral(self, channel: str, user: str, message: Message) -> None:
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user, **message.as_kwargs())
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", exc.response.get("error"))

    async def respond(
        self, response_url: str, message: Message, *, in_channel: bool = False
    ) -> None:
        payload: dict[str, Any] = {
            "response_type": "in_channel" if in_channel else "ephemeral",
            "replace_original": False,
            **message.as_kwargs(),
        }
        async with self._http.post(
            response_url, json=payload, timeout=RESPONSE_URL_TIMEOUT
        ) as response:
            if response.status >= 400:
                log.warning("response_url answered HTTP %s", response.status)

    async def private(self, where: Where, message: Message) -> None:
        """Only the user sees it: via the response_url when there is one, else ephemeral."""
        if where.response_url:
            await self.respond(where.response_url, message)
        elif where.user:
            await self.ephemeral(where.channel, where.user, message)

    async def tell(self, where: Where, message: Message) -> None:
        """Best effort to show `message` to the user: thread/channel, else response_url, else
        an ephemeral message."""
        try:
            await self.post(where.channel, message, where.thread_ts)
            return
        except CannotPostError:
            await self.private(where, message)
