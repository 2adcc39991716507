"""Socket Mode (the Procfile's worker): one WebSocket to Slack, opened with
apps.connections.open, reopened when Slack drops it or asks for a refresh, and given up within
a second of the stop signal whatever state it is in.

We drive the connection ourselves rather than through slack_sdk's SocketModeClient: its
connect() retries forever inside the awaited call, logs a traceback on every failure, waits a
fixed ping interval between tries and cannot be interrupted by a stop signal. Envelopes still
go through bolt exactly as its Socket Mode adapter sends them (run_async_bolt_app).

Unreachable Slack: each failed attempt is one log line and the next one waits twice as long
(1 s up to 60 s, with jitter). A token Slack refuses (invalid_auth, ...) is not retried: serve
stops with one line naming SLACK_APP_TOKEN.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("mailflow.socket_mode")

FIRST_RETRY = 1.0  # seconds before the second attempt
MAX_RETRY = 60.0
STABLE_AFTER = 30.0  # a connection that lived this long resets the backoff
CONNECT_TIMEOUT = 30.0  # apps.connections.open plus the WebSocket handshake
HEARTBEAT = 10.0  # WebSocket pings; no pong within half of it closes the connection
CLOSE_TIMEOUT = 1.0  # waiting for Slack to acknowledge our close frame
HANDLER_GRACE = 1.0  # envelopes being handled get this long after the stop signal
# apps.connections.open errors that no retry can cure: the token is wrong.
REFUSED_TOKEN = frozenset(
    {
        "invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive",
        "token_revoked", "token_expired", "missing_scope",
    }
)  # fmt: skip

_T = TypeVar("_T")


class TokenRefusedError(Exception):
    """Slack refused SLACK_APP_TOKEN; str() is one line for the operator."""


class _ConnectFailedError(Exception):
    """One attempt to connect failed; str() says why in a few words."""


class Backoff:
    """FIRST_RETRY, doubling up to MAX_RETRY, each delay jittered by up to a fifth."""

    def __init__(self, first: float = FIRST_RETRY, cap: float = MAX_RETRY) -> None:
        self._first = first
        self._cap = cap
        self._next = first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self._next = self._first


class SocketModeRunner:
    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        client: AsyncWebClient,
        http: aiohttp.ClientSession,
    ) -> None:
        self._app = app
        self._app_token = app_token
        self._client = client
        self._http = http
        self._handlers: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Serve envelopes until `stop` is set; raises TokenRefusedError."""
        backoff = Backoff()
        try:
            while not stop.is_set():
                try:
                    ws = await _unless_stopped(stop, self._connect())
                except _ConnectFailedError as exc:
                    delay = backoff.next_delay()
                    log.warning(
                        "Socket Mode: cannot connect to Slack (%s); retrying in %.0f s",
                        exc, delay,
                    )  # fmt: skip
                    await _sleep_unless_stopped(stop, delay)
                    continue
                if ws is None:
                    return
                log.info("Socket Mode: connected")
                connected = time.monotonic()
                try:
                    reason = await _unless_stopped(stop, self._receive(ws))
                finally:
                    await self._close(ws)
                if reason is None:
                    return
                if time.monotonic() - connected >= STABLE_AFTER:
                    backoff.reset()
                log.warning("Socket Mode: %s; reconnecting", reason)
        finally:
            await self._drain_handlers()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                response = await self._client.apps_connections_open(app_token=self._app_token)
                url = str(response["url"])
                return await self._http.ws_connect(
                    url,
                    heartbeat=HEARTBEAT,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT),
                    ssl=self._client.ssl if self._client.ssl is not None else True,
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            if error in REFUSED_TOKEN:
                raise TokenRefusedError(
                    f"SLACK_APP_TOKEN was refused by Slack ({error}): it must be an app-level "
                    "token (xapp-...) with the connections:write scope"
                ) from None
            raise _ConnectFailedError(f"apps.connections.open: {error}") from None
        except TimeoutError:
            raise _ConnectFailedError(f"no answer within {CONNECT_TIMEOUT:.0f} s") from None
        except (aiohttp.ClientError, OSError, SlackClientError, KeyError, ValueError) as exc:
            raise _ConnectFailedError(_reason(exc)) from None

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Dispatch envelopes until the connection ends; why it ended."""
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                envelope = _envelope(message.data)
                kind = envelope.get("type")
                if kind == "disconnect":  # Slack rotates connections from time to time
                    return f"Slack asked for a new connection ({envelope.get('reason', '?')})"
                request = SocketModeRequest.from_dict(envelope) if kind != "hello" else None
                if request is not None:
                    task = asyncio.create_task(self._handle(ws, request))
                    self._handlers.add(task)
                    task.add_done_callback(self._handlers.discard)
            elif message.type is aiohttp.WSMsgType.ERROR:
                return f"the connection failed ({_reason(ws.exception())})"
        return f"Slack closed the connection (code {ws.close_code})"

    async def _handle(
        self, ws: aiohttp.ClientWebSocketResponse, request: SocketModeRequest
    ) -> None:
        try:
            response = await run_async_bolt_app(self._app, request)
            if response.status != 200:
                log.info("envelope %s not handled (%d)", request.envelope_id, response.status)
                return
            ack: dict[str, Any] = {"envelope_id": request.envelope_id}
            payload = _ack_payload(response)
            if payload is not None:
                ack["payload"] = payload
            await ws.send_str(json.dumps(ack))
        except (ConnectionError, aiohttp.ClientError) as exc:
            # The connection went away mid-answer: Slack sends the envelope again.
            log.warning("could not acknowledge envelope %s: %s", request.envelope_id, exc)
        except Exception:
            log.exception("envelope %s failed", request.envelope_id)

    async def _close(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT * 2):
                await ws.close()

    async def _drain_handlers(self) -> None:
        if not self._handlers:
            return
        _, pending = await asyncio.wait(self._handlers, timeout=HANDLER_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=HANDLER_GRACE)


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, _T]) -> _T | None:
    """`work`'s result, or None as soon as `stop` is set (then `work` is cancelled)."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    # Whatever the work was doing (connecting, reading) ends with the stop.
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _envelope(data: str) -> dict[str, Any]:
    try:
        envelope = json.loads(data)
    except ValueError:
        log.warning("ignored a Socket Mode message that is not JSON")
        return {}
    return envelope if isinstance(envelope, dict) else {}


def _ack_payload(response: BoltResponse) -> dict[str, Any] | None:
    """What bolt answered, as the payload of the envelope's acknowledgement (as bolt's own
    Socket Mode adapter builds it)."""
    if not response.body:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if content_type.startswith("application/json"):
        body = json.loads(response.body)
        return body if isinstance(body, dict) else {"text": response.body}
    return {"text": response.body}


def _reason(exc: BaseException | None) -> str:
    """A few words for a log line: the exception's message, else its type."""
    if exc is None:
        return "unknown error"
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
