"""An HTTPS server on loopback serving MTA-STS policy files per Host header, with behaviours
for the fetch's limits: a redirect, an oversized body (streamed, no Content-Length), a status.

    policies = {"mta-sts.contoso.test": Policy(body="version: STSv1\\n...")}
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web

from tests.fakes.lifecycle import LoopbackService


@dataclass(frozen=True)
class Policy:
    body: str = ""
    status: int = 200
    content_type: str = "text/plain"
    location: str | None = None  # a redirect's target
    stream_bytes: int = 0  # send this many bytes, chunked, instead of `body`


@dataclass
class HttpsServer(LoopbackService):
    tls: ssl.SSLContext
    policies: dict[str, Policy]
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[str] = field(default_factory=list)  # Host headers seen
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        host = request.host.split(":")[0].lower()
        self.requests.append(host)
        policy = self.policies.get(host)
        if policy is None:
            return web.Response(status=404, text="not found")
        if policy.location is not None:
            return web.Response(status=policy.status, headers={"Location": policy.location})
        if policy.stream_bytes:
            response = web.StreamResponse(headers={"Content-Type": policy.content_type})
            response.enable_chunked_encoding()
            await response.prepare(request)
            chunk = b"mx: " + b"x" * 60 + b"\n"
            sent = 0
            try:
                while sent < policy.stream_bytes:
                    await response.write(chunk * 1000)
                    sent += len(chunk) * 1000
            except (ConnectionError, RuntimeError):
                pass  # the client stopped reading: that is the point
            return response
        return web.Response(status=policy.status, body=policy.body.encode(),
                            headers={"Content-Type": policy.content_type})  # fmt: skip

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_get("/.well-known/mta-sts.txt", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.tls)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
