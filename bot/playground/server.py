"""The playground's HTTP side, on the same aiohttp application as the app's /slack/events.

- The page (GET /, /static/*, server-sent events on /ui/events) and its actions (POST /ui/*):
  each action becomes the request Slack's platform would send, signed with the app's secret
  and posted to the app's own /slack/events, so the same handlers answer it.
- The Web API the app calls (/api/{method}), its response_url posts (/response/{key}) and file
  downloads (/files/{id}/{name}), each as Slack answers them; every change is pushed to the page.

The page never learns the signing secret or the bot token: /slack/events refuses it unsigned.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.playground import signing
from bot.playground.conversation import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    CHANNEL_ID,
    CHANNEL_NAME,
    DM_ID,
    USER_ID,
    USER_NAME,
    Conversation,
)
from bot.slack.http import EVENTS_PATH

log = logging.getLogger("mailflow.playground")

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"page.css": "text/css", "page.js": "text/javascript"}
COOKIE = "mailflow_playground"
UI_HEADER = "X-Playground"  # a header a cross-site form cannot send (no CSRF)
MAX_MESSAGE_CHARS = 40_000  # Slack's limit of one message
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # a little over the app's 20 MB, so it says no itself
MAX_FILES_KEPT = 50
MAX_FILE_BYTES_KEPT = 100 * 1024 * 1024  # uploads kept for the app to download, all together
MAX_RESPONSE_URLS = 1000
APP_TIMEOUT = aiohttp.ClientTimeout(total=30)
_MENTION = re.compile(r"(?<![\w<])@mailflow\b", re.IGNORECASE)
_COMMAND = re.compile(r"^(/[a-z0-9_-]{1,40})(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def slack_escape(text: str) -> str:
    """What Slack does to typed text before the app sees it: &, < and > become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """Where a response_url's posts land: the thread of the command or button, and for a
    button the message it was on (replace_original)."""

    thread_ts: str | None
    message_ts: str | None = None


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    name: str
    content: bytes


class Playground:
    def __init__(
        self,
        *,
        self_url: str,
        bot_token: str,
        signing_secret: str,
        examples: Path | None = None,
        page_token: str | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
        strict: bool = False,
    ) -> None:
        self.self_url = self_url.rstrip("/")
        self.conversation = Conversation(strict=strict)
        self._bot_token = bot_token
        self._secret = signing_secret
        self._examples = examples
        self._page_token = page_token
        self._allowed_hosts = allowed_hosts
        self._http: aiohttp.ClientSession | None = None
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._file_ids = itertools.count(1)
        self._responses: OrderedDict[str, ResponseTarget] = OrderedDict()
        self.app_answers: list[int] = []  # HTTP status of every request the app answered

    # -- wiring ----------------------------------------------------------------------------
    def install(self, web_app: web.Application) -> None:
        router = web_app.router
        router.add_get("/", self._page)
        router.add_post("/login", self._login)
        router.add_get("/static/{name}", self._static)
        router.add_get("/ui/events", self._events)
        router.add_get("/ui/example/{name}", self._example)
        router.add_post("/ui/send", self._send)
        router.add_post("/ui/action", self._action)
        router.add_post("/ui/upload", self._upload)
        router.add_post("/ui/home", self._home)
        router.add_route("*", "/api/{method}", self._api)
        router.add_post("/response/{key}", self._response_url)
        router.add_get("/files/{file_id}/{name}", self._download)
        web_app.middlewares.append(self._gate)
        web_app.on_startup.append(self._start)
        web_app.on_shutdown.append(self._shutdown)

    async def _start(self, _: web.Application) -> None:
        self._http = aiohttp.ClientSession(timeout=APP_TIMEOUT)

    async def _shutdown(self, _: web.Application) -> None:
        self.conversation.close_listeners()  # open event streams end, so shutdown is quick
        if self._http is not None:
            await self._http.close()
            self._http = None

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The page and its actions: only from an allowed Host (DNS rebinding), with the
        playground token when one is set, and actions only with the page's own header."""
        path = request.path
        if not (path == "/" or path.startswith(("/static/", "/ui/", "/login"))):
            return await handler(request)
        if self._page_token is None and request.host not in self._allowed_hosts:
            return web.Response(status=421, text="unexpected Host")
        if (
            path.startswith("/ui/")
            and request.method == "POST"
            and UI_HEADER not in request.headers
        ):
            return web.Response(status=403, text="")
        public = path == "/login" or path.startswith("/static/")
        if self._page_token is not None and not public and not self._has_token(request):
            if path == "/":
                return _html(_LOGIN.substitute(error=""), status=401)
            return web.Response(status=401, text="")
        return await handler(request)

    def _has_token(self, request: web.Request) -> bool:
        given = request.cookies.get(COOKIE, "")
        assert self._page_token is not None
        return hmac.compare_digest(given.encode(), self._page_token.encode())

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        given = str(form.get("token", ""))
        if self._page_token is None or not hmac.compare_digest(
            given.encode(), self._page_token.encode()
        ):
            return _html(_LOGIN.substitute(error="<p role='alert'>Wrong token.</p>"), status=401)
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, given, httponly=True, samesite="Strict")
        raise response

    # -- the page --------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        conversation = self.conversation
        channel = "".join(
            conversation.article(m) for m in conversation.messages.values() if not m.thread_ts
        )
        replies = "".join(
            conversation.article(m) for m in conversation.messages.values() if m.thread_ts
        )
        page = _PAGE.substitute(
            channel=CHANNEL_NAME,
            seq=conversation.last_seq,
            messages=channel,
            replies=replies,
            home=conversation.home_html(),
            examples=self._examples_html(),
        )
        return _html(page)

    def _example_names(self) -> list[str]:
        folder = self._examples
        if folder is None or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    def _examples_html(self) -> str:
        items = []
        for name in self._example_names():
            title = PurePosixPath(name).stem.replace("-", " ")
            items.append(
                f'<li><button type="button" class="example" data-example="{escape(name)}">'
                f"{escape(title)}</button></li>"
            )
        return "".join(items) or "<li>No examples installed.</li>"

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        body = (STATIC / name).read_bytes()
        return web.Response(body=body, content_type=STATIC_FILES[name], charset="utf-8")

    async def _example(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._example_names():
            raise web.HTTPNotFound()
        assert self._examples is not None
        text = (self._examples / name).read_text(encoding="utf-8", errors="replace")
        return web.Response(text=text, content_type="text/plain")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every change after the page's `after` (or Last-Event-ID)."""
        raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        after = int(raw) if raw.isdigit() else 0
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue = self.conversation.listen()
        try:
            for push in self.conversation.since(after):
                await response.write(push.as_sse())
                after = push.seq
            while True:
                try:
                    async with asyncio.timeout(15):
                        next_push = await queue.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if next_push is None:
                    break
                if next_push.seq > after:
                    await response.write(next_push.as_sse())
                    after = next_push.seq
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            self.conversation.unlisten(queue)
        return response

    # -- page actions -> signed requests to the app ----------------------------------------
    async def _send(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        text = str(body.get("text") or "")
        thread = _ts_or_none(body.get("thread_ts"))
        if not text.strip():
            return _problem("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            return _problem(
                f"a message holds at most {MAX_MESSAGE_CHARS:,} characters: attach it as a file"
            )
        command = _COMMAND.match(text.strip())
        if command and text.lstrip().startswith("/"):
            return await self._command(command.group(1).lower(), command.group(2) or "", thread)
        await self.post_user_message(text, thread)
        return web.json_response({"ok": True})

    async def _command(self, command: str, text: str, thread: str | None) -> web.StreamResponse:
        if command != "/tlscheck":
            self.conversation.notice(f"`{command}` is not a valid command here.", thread)
            return web.json_response({"ok": True})
        key = self._response_key(ResponseTarget(thread))
        signed = signing.slash_command(
            self._secret,
            command=command,
            text=text.strip(),
            user_id=USER_ID,
            user_name=USER_NAME,
            channel_id=CHANNEL_ID,
            channel_name=CHANNEL_NAME,
            response_url=f"{self.self_url}/response/{key}",
        )
        status, answer = await self._to_app(signed)
        if status == 200 and answer:
            self._show_response(answer, ResponseTarget(thread))
        elif status != 200:
            self.conversation.notice(f"The app answered HTTP {status}.", thread)
        return web.json_response({"ok": status == 200})

    async def post_user_message(
        self, text: str, thread: str | None, files: tuple[StoredFile, ...] = ()
    ) -> str:
        """The person's message appears, and the app gets the `message` event (and an
        `app_mention` as well when it names @mailflow), as Slack sends them."""
        slack_text = _MENTION.sub(f"<@{BOT_USER_ID}>", slack_escape(text))
        message = self.conversation.add(
            USER_ID, slack_text, thread_ts=thread, files=tuple(f.name for f in files)
        )
        event: dict[str, Any] = {
            "type": "message",
            "channel": CHANNEL_ID,
            "channel_type": "channel",
            "user": USER_ID,
            "text": slack_text,
            "ts": message.ts,
            "event_ts": message.ts,
            "team": signing.TEAM_ID,
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        if files:
            event["subtype"] = "file_share"
            event["files"] = [
                {"id": f.id, "name": f.name, "filetype": PurePosixPath(f.name).suffix[1:]}
                for f in files
            ]
        await self._event(event)
        if f"<@{BOT_USER_ID}>" in slack_text:
            mention = {k: v for k, v in event.items() if k not in ("channel_type", "subtype")}
            await self._event({**mention, "type": "app_mention"})
        return message.ts

    async def _event(self, event: dict[str, Any]) -> None:
        signed = signing.event_callback(self._secret, event, bot_user_id=BOT_USER_ID)
        status, _ = await self._to_app(signed)
        if status != 200:
            self.conversation.notice(f"The app answered HTTP {status} to a {event['type']} event.")

    async def _action(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        message = self.conversation.messages.get(str(body.get("ts", "")))
        if message is None:
            return _problem("that message is gone")
        element = _find_button(message.blocks, body)
        if element is None:
            return _problem("no such button on that message")
        block_id, button = element
        target = ResponseTarget(message.thread_ts, message.ts)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": CHANNEL_ID,
            "is_ephemeral": message.ephemeral,
        }
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": USER_ID, "username": USER_NAME, "name": USER_NAME},
            "container": container,
            "channel": {"id": CHANNEL_ID, "name": CHANNEL_NAME},
            "response_url": f"{self.self_url}/response/{self._response_key(target)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": button.get("action_id"),
                    "block_id": block_id,
                    "text": button.get("text"),
                    "value": button.get("value"),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
            "state": {"values": {}},
        }
        if not message.ephemeral:  # Slack leaves the message out for an ephemeral one
            payload["message"] = message.as_slack()
        status, _ = await self._to_app(signing.interaction(self._secret, payload))
        if status != 200:
            self.conversation.notice(f"The app answered HTTP {status}.", message.thread_ts)
        return web.json_response({"ok": status == 200})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        reader = await request.multipart()
        text, thread, stored = "", None, None
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "file" and part.filename:
                data = await _read_capped(part, MAX_UPLOAD_BYTES)
                if data is None:
                    return _problem("that file is larger than 25 MB")
                stored = self._store_file(part.filename, data)
            elif part.name == "text":
                text = (await part.text())[:MAX_MESSAGE_CHARS]
            elif part.name == "thread_ts":
                thread = _ts_or_none(await part.text())
        if stored is None:
            return _problem("no file in the upload")
        await self.post_user_message(text, thread, (stored,))
        return web.json_response({"ok": True, "file": stored.id})

    def _store_file(self, filename: str, data: bytes) -> StoredFile:
        name = _SAFE_NAME.sub("_", PurePosixPath(filename.replace("\\", "/")).name)[:200] or "file"
        stored = StoredFile(f"F0PLAY{next(self._file_ids):06d}", name, data)
        self._files[stored.id] = stored
        while len(self._files) > 1 and (
            len(self._files) > MAX_FILES_KEPT
            or sum(len(f.content) for f in self._files.values()) > MAX_FILE_BYTES_KEPT
        ):
            self._files.popitem(last=False)
        return stored

    async def _home(self, request: web.Request) -> web.StreamResponse:
        await self._event(
            {
                "type": "app_home_opened",
                "user": USER_ID,
                "channel": DM_ID,
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )
        return web.json_response({"ok": True})

    async def _to_app(self, signed: signing.SignedRequest) -> tuple[int, dict[str, Any] | None]:
        """POST a signed request to the app's /slack/events; its status and JSON answer."""
        assert self._http is not None
        try:
            async with self._http.post(
                self.self_url + EVENTS_PATH, data=signed.body.encode(), headers=signed.headers
            ) as response:
                status, raw = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("the app did not answer: %s", exc)
            return 599, None
        self.app_answers.append(status)
        if not raw.strip():
            return status, None
        try:
            answer = json.loads(raw)
        except ValueError:
            return status, {"text": raw}  # bolt acks with plain text when given a string
        return status, answer if isinstance(answer, dict) else None

    # -- the Web API, as Slack answers it --------------------------------------------------
    def _response_key(self, target: ResponseTarget) -> str:
        key = secrets.token_urlsafe(16)
        self._responses[key] = target
        while len(self._responses) > MAX_RESPONSE_URLS:
            self._responses.popitem(last=False)
        return key

    def _show_response(self, body: dict[str, Any], target: ResponseTarget) -> None:
        if body.get("delete_original") and target.message_ts:
            self.conversation.delete(target.message_ts)
            return
        text, blocks = body.get("text") or "", body.get("blocks")
        if body.get("replace_original") and target.message_ts:
            self.conversation.update(target.message_ts, text, blocks)
            return
        if not text and not blocks:
            return
        in_channel = body.get("response_type") == "in_channel"
        self.conversation.add(
            BOT_USER_ID, text, blocks, thread_ts=target.thread_ts, ephemeral=not in_channel
        )

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        target = self._responses.get(request.match_info["key"])
        if target is None:
            return web.Response(status=404, text="no_active_hooks")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        self._show_response(body, target)
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    body = await request.json()
                    if isinstance(body, dict):
                        params.update(body)
            else:
                params.update(dict((await request.post()).items()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if not hmac.compare_digest(str(token).encode(), self._bot_token.encode()):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        answer = self._answer(method, params)
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        conversation = self.conversation
        if method == "auth.test":
            return {
                "ok": True,
                "url": f"{self.self_url}/",
                "team": "Playground",
                "team_id": signing.TEAM_ID,
                "user": BOT_NAME,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        channel = str(params.get("channel") or "")
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            if channel not in (CHANNEL_ID, DM_ID):
                return {"ok": False, "error": "channel_not_found"}
            if not params.get("text") and not params.get("blocks"):
                return {"ok": False, "error": "no_text"}
        thread = _ts_or_none(params.get("thread_ts"))
        if method == "chat.postMessage":
            message = conversation.add(BOT_USER_ID, params.get("text", ""), params.get("blocks"),
                                       thread_ts=thread)  # fmt: skip
            return {"ok": True, "channel": channel, "ts": message.ts,
                    "message": message.as_slack()}  # fmt: skip
        if method == "chat.postEphemeral":
            message = conversation.add(
                BOT_USER_ID, params.get("text", ""), params.get("blocks"), thread_ts=thread,
                ephemeral=True,
            )  # fmt: skip
            return {"ok": True, "message_ts": message.ts}
        if method == "chat.update":
            ts = str(params.get("ts") or "")
            if conversation.update(ts, params.get("text", ""), params.get("blocks")) is None:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "views.publish":
            view = params.get("view")
            if isinstance(view, str):
                with contextlib.suppress(ValueError):
                    view = json.loads(view)
            if not isinstance(view, dict):
                return {"ok": False, "error": "invalid_arguments"}
            conversation.publish_home(view)
            return {"ok": True, "view": {"id": "V0PLAYHOME", **view}}
        if method == "files.info":
            return self._file_info(str(params.get("file") or ""))
        log.info("the app called %s, which the playground does not know", method)
        return {"ok": False, "error": "unknown_method"}

    def _file_info(self, file_id: str) -> dict[str, Any]:
        stored = self._files.get(file_id)
        if stored is None:
            return {"ok": False, "error": "file_not_found"}
        url = f"{self.self_url}/files/{stored.id}/{quote(stored.name)}"
        return {
            "ok": True,
            "file": {
                "id": stored.id,
                "name": stored.name,
                "title": stored.name,
                "filetype": PurePosixPath(stored.name).suffix[1:],
                "mimetype": "text/plain",
                "size": len(stored.content),
                "url_private": url,
                "url_private_download": url + "?download=1",
            },
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self._files.get(request.match_info["file_id"])
        auth = request.headers.get("Authorization", "")
        expected = f"Bearer {self._bot_token}"
        if stored is None or not hmac.compare_digest(auth.encode(), expected.encode()):
            # Slack answers a download without the bot token with its sign-in page.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=stored.content, content_type="application/octet-stream")


def _find_button(
    blocks: tuple[dict[str, Any], ...], wanted: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The button the page says was clicked, as the message holds it (never the page's copy)."""
    for block in blocks:
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        block_id = str(block.get("block_id") or "")
        for element in elements:
            if (
                isinstance(element, dict)
                and element.get("type") == "button"
                and element.get("action_id") == wanted.get("action_id")
                and str(element.get("value", "")) == str(wanted.get("value", ""))
            ):
                return block_id, element
    return None


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="not a JSON object")
    return body


async def _read_capped(part: aiohttp.BodyPartReader, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _ts_or_none(value: Any) -> str | None:
    text = str(value or "")
    return text if re.fullmatch(r"[0-9]{1,12}\.[0-9]{1,6}", text) else None


def _problem(text: str) -> web.Response:
    return web.json_response({"ok": False, "error": text}, status=400)


def _html(page: str, status: int = 200) -> web.Response:
    return web.Response(
        text=page,
        status=status,
        content_type="text/html",
        headers={
            # Nothing but the page's own script and style; no inline script, no remote loads.
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


_PAGE = Template((STATIC / "page.html").read_text(encoding="utf-8"))
_LOGIN = Template((STATIC / "login.html").read_text(encoding="utf-8"))
