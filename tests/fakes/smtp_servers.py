"""Real SMTP servers on loopback addresses for the probe's tests and benchmark.

- `AiosmtpdServer`: aiosmtpd's SMTP protocol with STARTTLS (`tls_context`), served in the
  running event loop on 127.0.0.x with an OS-chosen port.
- `ScriptedSmtp` + `RawServer`: a small hand-written SMTP/STARTTLS server whose replies, delays
  and TLS context are data, used for healthy servers and for every hostile behaviour
  (`hostile_*` factories) the probe must survive.

Every server counts the connections it accepted, so SSRF tests can assert "no connection".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.smtp import SMTP

from tests.fakes.certs import Issued
from tests.fakes.lifecycle import LoopbackService, close_server

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def free_common_port(hosts: Sequence[str]) -> int:
    """A TCP port that is free on every one of `hosts` right now (the engine probes one port
    on every address of an MX host, so multi-address test servers must share it)."""
    for _ in range(100):
        sockets: list[socket.socket] = []
        try:
            first = socket.socket()
            sockets.append(first)
            first.bind((hosts[0], 0))
            port: int = first.getsockname()[1]
            for host in hosts[1:]:
                sock = socket.socket()
                sockets.append(sock)
                sock.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no common free port")


def server_context(
    issued: Issued, directory: Path, name: str, *, include_chain: bool = True
) -> ssl.SSLContext:
    """A TLS server context presenting `issued` (plus its intermediates unless told not to)."""
    cert_path, key_path = issued.write(directory, name, include_chain=include_chain)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class RawServer(LoopbackService):
    """An asyncio TCP server on `host` (port chosen by the OS) running `handler` per client."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.connections = 0
        self.active = 0
        self.peak = 0  # most connections open at the same time
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await close_server(self._server, self._clients)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            await self.handler(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.active -= 1
            self._clients.discard(task)
            writer.transport.abort()


@dataclass
class ScriptedSmtp:
    """A scripted SMTP server: the replies are data, TLS is real (asyncio start_tls)."""

    name: str = "mx.example.test"
    banner: bytes = b""  # default: "220 <name> ESMTP ready"
    banner_pause: float = 0.0  # pause between banner lines (multi-line banners)
    ehlo: bytes = b""  # default: a normal EHLO reply that offers STARTTLS
    starttls_reply: bytes = b"220 2.0.0 Ready to start TLS\r\n"
    tls: ssl.SSLContext | None = None
    latency: float = 0.0  # delay before every reply, emulating a network round trip
    early_talker_reply: bytes = b"554 5.5.0 SMTP synchronization error\r\n"
    log: list[str] = field(default_factory=list)

    def banner_lines(self) -> list[bytes]:
        data = self.banner or f"220 {self.name} ESMTP ready\r\n".encode()
        return data.splitlines(keepends=True)

    def ehlo_reply(self) -> bytes:
        """STARTTLS is offered when there is TLS to start, or a refusal to script."""
        offer = self.tls is not None or not self.starttls_reply.startswith(b"220")
        starttls = "250-STARTTLS\r\n" if offer else ""
        default = (
            f"250-{self.name} Hello\r\n250-PIPELINING\r\n250-SIZE 36700160\r\n"
            f"250-8BITMIME\r\n{starttls}250 SMTPUTF8\r\n"
        )
        return self.ehlo or default.encode()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.latency)
        if not self.banner_pause:  # one write: a second greeting must not arrive after EHLO
            writer.write(b"".join(self.banner_lines()))
            await writer.drain()
        for index, line in enumerate(self.banner_lines() if self.banner_pause else ()):
            if index and self.banner_pause:
                await asyncio.sleep(self.banner_pause)
                if reader._buffer:  # type: ignore[attr-defined]  # the client talked early
                    writer.write(self.early_talker_reply)
                    await writer.drain()
                    return
            writer.write(line)
            await writer.drain()
        while True:
            command = (await reader.readuntil(b"\n")).strip().decode("ascii", "replace")
            self.log.append(command)
            verb = command.split(" ", 1)[0].upper()
            await asyncio.sleep(self.latency)
            if verb in ("EHLO", "HELO"):
                writer.write(self.ehlo_reply())
            elif verb == "STARTTLS":
                writer.write(self.starttls_reply)
                await writer.drain()
                if self.starttls_reply.startswith(b"220") and self.tls is not None:
                    await writer.start_tls(self.tls)
                continue
            elif verb == "QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.2 Command not recognised\r\n")
            await writer.drain()


# --- hostile servers -----------------------------------------------------------------------


async def hostile_no_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection and never says anything (a tarpit)."""
    await reader.read()  # until the client gives up


async def hostile_drip_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Sends its banner one byte a second."""
    for byte in b"220 slow.example.test ESMTP one byte at a time\r\n":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)


HUGE_BANNER_BYTES = 10 * 1024 * 1024


async def hostile_huge_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 10 MB banner line, written in chunks (the server does not hold 10 MB either)."""
    chunk = b"A" * 65536
    writer.write(b"220 ")
    sent = 0
    while sent < HUGE_BANNER_BYTES:
        writer.write(chunk)
        await writer.drain()
        sent += len(chunk)
    writer.write(b"\r\n")
    await writer.drain()
    await reader.read()


def hostile_421_greeting() -> ScriptedSmtp:
    return ScriptedSmtp(
        banner=b"421 4.7.0 mx.example.test Too many concurrent connections, try later\r\n"
    )


def hostile_ehlo_rejected() -> ScriptedSmtp:
    return ScriptedSmtp(ehlo=b"550 5.7.1 Client host rejected: access denied\r\n")


def hostile_starttls_454() -> ScriptedSmtp:
    return ScriptedSmtp(starttls_reply=b"454 4.7.0 TLS not available due to local problem\r\n")


def hostile_inspection() -> ScriptedSmtp:
    """A firewall doing ESMTP inspection (Cisco ASA style): banner masked, STARTTLS hidden."""
    return ScriptedSmtp(
        banner=b"220 ****************************************************\r\n",
        ehlo=(
            b"250-mx.example.test Hello\r\n250-XXXXXXXA\r\n250-XXXXXXXB\r\n"
            b"250-8BITMIME\r\n250 SIZE 36700160\r\n"
        ),
    )


def hostile_non_utf8_banner() -> ScriptedSmtp:
    return ScriptedSmtp(
        banner=(
            b"220-mx.example.test \xff\xfe\xc3 Willkommen\r\n220 \x1b[31mESMTP\x1b[0m \xe9t\xe9\r\n"
        )
    )


async def hostile_reset_after_ready(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Greets with `220 Ready`, then resets the connection (RST, not FIN)."""
    writer.write(b"220 Ready\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    sock: socket.socket | None = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def hostile_garbage_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts STARTTLS, then answers the ClientHello with plain text instead of TLS."""
    writer.write(b"220 mx.example.test ESMTP\r\n")
    await writer.drain()
    while True:
        verb = (await reader.readuntil(b"\n")).strip().upper()
        if verb.startswith((b"EHLO", b"HELO")):
            writer.write(b"250-mx.example.test\r\n250 STARTTLS\r\n")
        elif verb == b"STARTTLS":
            writer.write(b"220 2.0.0 Ready to start TLS\r\n")
            await writer.drain()
            await reader.read(1)  # the ClientHello arrives
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
            await writer.drain()
            await reader.read()
            return
        await writer.drain()


class AiosmtpdServer:
    """aiosmtpd with STARTTLS offered (not required), in the running loop on host:port."""

    def __init__(
        self,
        tls: ssl.SSLContext | None,
        host: str,
        hostname: str = "mx.example.test",
        port: int = 0,
    ) -> None:
        self.tls = tls
        self.host = host
        self.hostname = hostname
        self.port = port
        self._server: asyncio.Server | None = None

    def _factory(self) -> Any:
        return SMTP(
            _SinkHandler(), hostname=self.hostname, tls_context=self.tls, require_starttls=False
        )

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()


class _SinkHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 Accepted and discarded"
