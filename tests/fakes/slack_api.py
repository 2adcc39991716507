"""A local fake of the Slack Web API (aiohttp) that records every call.

Point the bot at it with MAILFLOW_SLACK_API_URL=`fake.api_url`. It answers the methods the bot
uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral, files.info, views.publish,
functions.completeSuccess/completeError), serves uploaded files at their url_private (bearer
token required), accepts response_url posts, and can be told to fail a method with a Slack
error (not_in_channel, channel_not_found, missing_scope, ...) or with HTTP 429 + Retry-After.

The bot's own uploads follow Slack's external-upload flow: files.getUploadURLExternal hands out
an upload_url on this server, the bytes are POSTed there, and files.completeUploadExternal
shares them; each completed upload is recorded in `uploads` (and served like any other file).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "xoxb-test-0000-mailflow"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", ..., "response_url", "file_download"
    params: dict[str, Any]
    at: float
    authorization: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class _Failure:
    error: str
    remaining: int
    status: int = 200
    retry_after: int | None = None


@dataclass
class FakeFile:
    id: str
    name: str
    content: bytes
    filetype: str = "text"
    size: int | None = None  # reported size; defaults to len(content)


@dataclass
class Upload:
    """A file the bot uploaded and shared with files.completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    snippet_type: str | None
    content: bytes
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass
class _PendingUpload:
    filename: str
    length: int
    snippet_type: str | None
    content: bytes | None = None


@dataclass
class FakeSlackApi:
    bot_token: str = BOT_TOKEN
    calls: list[Call] = field(default_factory=list)
    files: dict[str, FakeFile] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    posted_ts: list[str] = field(default_factory=list)  # chat.postMessage answers, in order
    _pending_uploads: dict[str, _PendingUpload] = field(default_factory=dict)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    _socket_outbox: asyncio.Queue[dict[str, Any]] | None = None
    socket_connected: asyncio.Event = field(default_factory=asyncio.Event)
    socket_connections: int = 0  # WebSockets opened so far
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1") -> FakeSlackApi:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        app.router.add_post("/upload/v1/{file_id}", self._upload_bytes)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{port}"
        self._changed = asyncio.Condition()
        self._socket_outbox = asyncio.Queue()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, token: str = "hook") -> str:
        return f"{self.base_url}/response/{token}"

    # -- configuration ---------------------------------------------------------------------
    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        self._failures.setdefault(method, []).append(_Failure(error, times))

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with Retry-After."""
        self._failures.setdefault(method, []).append(
            _Failure("ratelimited", times, status=429, retry_after=retry_after)
        )

    def add_file(self, name: str, content: bytes, *, size: int | None = None) -> FakeFile:
        file_id = f"F{len(self.files) + 1:08d}"
        fake = FakeFile(file_id, name, content, filetype=name.rsplit(".", 1)[-1], size=size)
        self.files[file_id] = fake
        return fake

    def file_event_entry(self, fake: FakeFile) -> dict[str, Any]:
        """The (partial) file object that a message event carries."""
        return {"id": fake.id, "name": fake.name, "filetype": fake.filetype}

    # -- inspection ------------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def posts(self) -> list[Call]:
        return self.of("chat.postMessage")

    async def wait_for(
        self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0
    ) -> list[Call]:
        assert self._changed is not None
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.calls))
        return self.calls

    async def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        await self.wait_for(lambda calls: len(self.of(method)) >= count, timeout)
        return self.of(method)

    # -- handlers --------------------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        auth = request.headers.get("Authorization")
        await self._record(Call(method, params, time.monotonic(), auth))
        if method == "apps.connections.open":
            if not (auth or "").startswith("Bearer xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            failure = self._next_failure(method)
            if failure is not None:
                return web.json_response({"ok": False, "error": failure.error})
            return web.json_response(
                {"ok": True, "url": self.base_url.replace("http", "ws") + "/socket"}
            )
        # A workflow step completes with the token of its function_executed event, as on Slack.
        function_token = method.startswith("functions.") and (auth or "").startswith("Bearer xwfp-")
        if method != "auth.test" and auth != f"Bearer {self.bot_token}" and not function_token:
            return web.json_response({"ok": False, "error": "not_authed"})
        failure = self._next_failure(method)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        return web.json_response(self._answer(method, params))

    def _next_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://contoso.slack.com/",
                "team": "Contoso",
                "user": "mailflow",
                "team_id": "T0TEST",
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            self.posted_ts.append(ts)
            message = {"ts": ts, "text": params.get("text"), "bot_id": BOT_ID}
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "files.info":
            return self._file_info(str(params.get("file", "")))
        if method == "files.getUploadURLExternal":
            return self._upload_url(params)
        if method == "files.completeUploadExternal":
            return self._complete_upload(params)
        return {"ok": True}

    # -- the external upload flow (docs.slack.dev/messaging/working-with-files) ------------
    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), str(params.get("length", ""))
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"FU{len(self._pending_uploads) + 1:07d}"
        snippet_type = params.get("snippet_type")
        self._pending_uploads[file_id] = _PendingUpload(str(filename), int(length), snippet_type)
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.base_url}/upload/v1/{file_id}",
        }

    async def _upload_bytes(self, request: web.Request) -> web.Response:
        """The upload URL: takes the raw bytes (or a multipart `file` part), as Slack's does."""
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            part = (await request.post()).get("file")
            body = part.file.read() if isinstance(part, web.FileField) else b""
        else:
            body = await request.read()
        await self._record(
            Call("file_upload", {"file": file_id, "bytes": len(body)}, time.monotonic())
        )
        pending = self._pending_uploads.get(file_id)
        if pending is None or pending.content is not None:
            return web.Response(status=404, text="upload URL not found")
        if len(body) != pending.length:
            return web.Response(status=400, text="length mismatch")
        pending.content = body
        return web.Response(text=f"OK - {len(body)}")

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            entries = json.loads(str(params.get("files", "")))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for entry in entries if isinstance(entries, list) else []:
            file_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
            pending = self._pending_uploads.get(file_id)
            if pending is None or pending.content is None:
                return {"ok": False, "error": "file_not_found"}
            upload = Upload(
                file_id, pending.filename, entry.get("title"), pending.snippet_type,
                pending.content, params.get("channel_id"), params.get("thread_ts"),
                params.get("initial_comment"),
            )  # fmt: skip
            self.uploads.append(upload)
            self.files[file_id] = FakeFile(
                file_id, pending.filename, pending.content, filetype=pending.snippet_type or "text"
            )
            shared.append({"id": file_id, "title": upload.title or pending.filename})
        if not shared:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "files": shared}

    def _file_info(self, file_id: str) -> dict[str, Any]:
        fake = self.files.get(file_id)
        if fake is None:
            return {"ok": False, "error": "file_not_found"}
        url = f"{self.base_url}/files-pri/{fake.id}/{fake.name}"
        return {
            "ok": True,
            "file": {
                "id": fake.id,
                "name": fake.name,
                "title": fake.name,
                "filetype": fake.filetype,
                "mimetype": "text/plain",
                "size": fake.size if fake.size is not None else len(fake.content),
                "url_private": url,
                "url_private_download": url + "?download=1",
            },
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        await self._record(
            Call("file_download", {"file": request.match_info["file_id"]}, time.monotonic(), auth)
        )
        fake = self.files.get(request.match_info["file_id"])
        if auth != f"Bearer {self.bot_token}" or fake is None:
            # Slack answers an unauthenticated download with its login page, not an error code.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=fake.content, content_type="text/plain")

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Deliver a Socket Mode envelope (events_api, slash_commands, interactive)."""
        assert self._socket_outbox is not None
        await self._socket_outbox.put(envelope)

    async def socket_drop(self) -> None:
        """Close every open Socket Mode connection from Slack's side."""
        for ws in list(self._sockets):
            await ws.close()

    async def wait_socket_connections(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.socket_connections < count:
                await asyncio.sleep(0.02)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        assert self._socket_outbox is not None
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        self._sockets.add(ws)
        self.socket_connections += 1
        self.socket_connected.set()

        async def deliver() -> None:
            assert self._socket_outbox is not None
            while True:
                await ws.send_json(await self._socket_outbox.get())

        sender = asyncio.create_task(deliver())
        try:
            async for message in ws:
                if message.type.name == "TEXT":
                    data = json.loads(message.data)
                    await self._record(Call("socket_ack", data, time.monotonic()))
        finally:
            sender.cancel()
            self._sockets.discard(ws)
        return ws

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await request.json()
        params["token"] = request.match_info["token"]
        await self._record(Call("response_url", params, time.monotonic()))
        return web.Response(text="ok")


def message_text(call: Call) -> str:
    """Everything a person would read in a recorded message: the fallback text and blocks."""
    parts = [str(call.get("text") or "")]
    blocks = call.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts.append(json.dumps(blocks or []))
    return "\n".join(parts)
