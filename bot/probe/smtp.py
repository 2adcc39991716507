"""One STARTTLS probe of one address: banner, EHLO, STARTTLS, TLS handshake, QUIT.

The handshake runs with certificate verification off so that the exact chain the server
presented is captured; bot.core judges it later. Everything the server sends is untrusted:
replies are read line by line with caps on line length, reply size and line count, every step
has a timeout, and every failure becomes evidence (failed_step / failure / error) rather than
an exception. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from bot.core.evidence import AttemptEvidence, FailureKind, Step, Unsolicited

_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}
)
_CONTROL_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(32), 127) if i != 9}
_ERROR_CHARS = 300
_UNSOLICITED_SHOWN = 200  # bytes of out-of-turn data kept as evidence
_UNSOLICITED_KEPT = 4  # out-of-turn records per attempt
_ENCODING_DER = 2  # _ssl.ENCODING_DER, not re-exported by the ssl module
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    max_reply_bytes: int = 64 * 1024  # per reply, the banner included
    max_line_bytes: int = 4096  # RFC 5321 allows 512; be lenient, but bounded
    max_reply_lines: int = 256
    max_chain: int = 10  # certificates kept of the presented chain
    quit_timeout: float = 2.0
    close_timeout: float = 1.0


DEFAULT_LIMITS = ProbeLimits()


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    lines: tuple[str, ...]  # decoded, escaped, without CRLF

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class _StepFailed(Exception):
    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class _Record:
    """Mutable notes of one attempt, frozen into AttemptEvidence at the end."""

    host: str
    ip: str
    port: int
    attempt: int
    fields: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    unsolicited: list[Unsolicited] = field(default_factory=list)

    def evidence(self) -> AttemptEvidence:
        return AttemptEvidence(
            host=self.host,
            ip=self.ip,
            port=self.port,
            attempt=self.attempt,
            timings_ms=dict(self.timings),
            unsolicited=tuple(self.unsolicited),
            **self.fields,
        )


def display_text(raw: bytes) -> str:
    """Untrusted bytes as text: invalid UTF-8 and control characters shown as escapes."""
    return raw.decode("utf-8", "backslashreplace").translate(_CONTROL_ESCAPES)


@cache
def client_tls_context() -> ssl.SSLContext:
    """Verification off (the chain is judged separately), old protocols allowed so that an
    outdated server is recorded and flagged instead of failing the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with contextlib.suppress(ValueError, ssl.SSLError):
            context.minimum_version = ssl.TLSVersion.TLSv1
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:!aNULL:!eNULL:@SECLEVEL=0")
    return context


class _Probe:
    def __init__(
        self,
        record: _Record,
        *,
        step_timeout: float,
        deadline: float | None,
        sni: str | None,
        ehlo_name: str | None,
        limits: ProbeLimits,
    ) -> None:
        self.record = record
        self.step_timeout = step_timeout
        self.deadline = deadline
        self.sni = sni
        self.ehlo_name = ehlo_name
        self.limits = limits
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            await self._dialogue()
        except _StepFailed as failure:
            self.record.fields.update(failure=failure.kind, error=failure.message[:_ERROR_CHARS])
        finally:
            await self._close()

    async def _dialogue(self) -> None:
        fields = self.record.fields
        await self._step(Step.CONNECT, self._connect())
        banner = await self._step(Step.BANNER, self._read_reply())
        fields.update(banner=banner.text, banner_code=banner.code)
        if banner.code != 220:
            self._fail_reply(Step.BANNER, banner)
        ehlo = await self._step(
            Step.EHLO, self._command(f"EHLO {self._ehlo_name()}", before=Step.EHLO)
        )
        fields["ehlo_code"] = ehlo.code
        if ehlo.code != 250:
            await self._polite_quit()
            self._fail_reply(Step.EHLO, ehlo)
        extensions = tuple(_extension(line) for line in ehlo.lines[1:])
        offered = any(ext.split(" ", 1)[0].upper() == "STARTTLS" for ext in extensions)
        fields.update(ehlo_lines=extensions, starttls_offered=offered)
        if not offered:
            await self._polite_quit()
            return
        starttls = await self._step(Step.STARTTLS, self._command("STARTTLS", before=Step.STARTTLS))
        fields["starttls_reply"] = starttls.text
        if starttls.code != 220:
            await self._polite_quit()
            self._fail_reply(Step.STARTTLS, starttls)
        await self._step(Step.STARTTLS, self._refuse_injected_bytes())
        await self._step(Step.HANDSHAKE, self._handshake())
        self._capture_tls()
        await self._polite_quit()

    # --- steps ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.record.ip,
            self.record.port,
            limit=self.limits.max_line_bytes,
            flags=socket.AI_NUMERICHOST,  # the checked address itself: never a DNS lookup
        )

    async def _command(self, line: str, *, before: Step) -> Reply:
        await self._discard_unsolicited(before)
        writer = self._writer()
        writer.write(line.encode("ascii") + b"\r\n")
        await writer.drain()
        return await self._read_reply()

    async def _unsolicited(self) -> bytes:
        """Whatever the server has sent that we have not read: nothing, in a correct dialogue
        (each reply answers one command). Two turns of the loop first, so that bytes already
        in the socket buffer are read into the stream (one turn runs this task before the
        transport's read callback)."""
        for _ in range(2):
            await asyncio.sleep(0)
        reader = self.reader
        assert reader is not None
        # StreamReader has no public "bytes buffered" query; read() returns them at once.
        buffered = len(getattr(reader, "_buffer", b""))
        return await reader.read(buffered) if buffered else b""

    def _note_unsolicited(self, before: Step, data: bytes) -> None:
        if len(self.record.unsolicited) < _UNSOLICITED_KEPT:
            text = display_text(data[:_UNSOLICITED_SHOWN])
            self.record.unsolicited.append(Unsolicited(before, text, len(data)))

    async def _discard_unsolicited(self, before: Step) -> None:
        """An early talker (replies sent before our command) is noted, and its bytes are
        dropped so that the next reply read is the answer to the next command."""
        data = await self._unsolicited()
        if data:
            self._note_unsolicited(before, data)

    async def _refuse_injected_bytes(self) -> None:
        """Plaintext after `220 Ready to start TLS` is never fed into TLS: a client that keeps
        it would take it as the first reply under TLS (STARTTLS injection, the CVE-2011-0411
        class), so the attempt ends here."""
        data = await self._unsolicited()
        if data:
            self._note_unsolicited(Step.HANDSHAKE, data)
            self.record.fields["failed_step"] = Step.STARTTLS
            shown = display_text(data[:_UNSOLICITED_SHOWN])
            raise _StepFailed(
                FailureKind.INJECTION,
                f"{len(data)} plaintext bytes after the STARTTLS reply, before TLS: {shown!r}",
            )

    async def _handshake(self) -> None:
        await self._writer().start_tls(
            client_tls_context(),
            server_hostname=self.sni,
            ssl_handshake_timeout=self.step_timeout + 5,  # our own step timeout fires first
        )

    async def _read_reply(self) -> Reply:
        reader = self.reader
        assert reader is not None
        lines: list[str] = []
        code: bytes | None = None
        total = 0
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                raise _StepFailed(
                    FailureKind.PROTOCOL,
                    f"reply line longer than {self.limits.max_line_bytes} bytes",
                ) from None
            except asyncio.IncompleteReadError as exc:
                tail = f": {display_text(exc.partial[:120])!r}" if exc.partial else ""
                raise _StepFailed(
                    FailureKind.RESET, f"connection closed by the server{tail}"
                ) from None
            total += len(raw)
            if total > self.limits.max_reply_bytes:
                raise _StepFailed(
                    FailureKind.PROTOCOL, f"reply larger than {self.limits.max_reply_bytes} bytes"
                )
            line = raw.rstrip(b"\r\n")
            if not _is_reply_line(line):
                raise _StepFailed(
                    FailureKind.PROTOCOL, f"not an SMTP reply: {display_text(line[:120])!r}"
                )
            if code is None:
                code = line[:3]
            elif line[:3] != code:
                raise _StepFailed(FailureKind.PROTOCOL, "reply code changed within one reply")
            lines.append(display_text(line))
            if len(lines) > self.limits.max_reply_lines:
                raise _StepFailed(
                    FailureKind.PROTOCOL, f"reply longer than {self.limits.max_reply_lines} lines"
                )
            if len(line) == 3 or line[3:4] == b" ":
                return Reply(int(code), tuple(lines))

    async def _polite_quit(self) -> None:
        """QUIT and wait briefly for the answer; failures here do not matter."""
        started = time.perf_counter()
        try:
            timeout = self._timeout_at(min(self.limits.quit_timeout, self.step_timeout))
            async with asyncio.timeout_at(timeout):
                await self._command("QUIT", before=Step.QUIT)
        except (OSError, TimeoutError, _StepFailed, asyncio.IncompleteReadError):
            pass
        finally:
            self.record.timings[Step.QUIT.value] = _ms_since(started)

    async def _close(self) -> None:
        writer = self.writer
        if writer is None:
            return
        task = asyncio.current_task()
        out_of_time = self.deadline is not None and (
            asyncio.get_running_loop().time() >= self.deadline
        )
        if out_of_time or (task is not None and task.cancelling()):
            writer.transport.abort()  # no time left for a TLS close_notify exchange
            return
        writer.close()
        try:
            async with asyncio.timeout_at(self._timeout_at(self.limits.close_timeout)):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            writer.transport.abort()
        except asyncio.CancelledError:
            writer.transport.abort()
            raise

    # --- helpers -------------------------------------------------------------------------

    async def _step(self, step: Step, work: Awaitable[_T]) -> _T:
        started = time.perf_counter()
        timeout = asyncio.timeout_at(self._timeout_at(self.step_timeout))
        try:
            async with timeout:
                return await work
        except _StepFailed as failure:
            self.record.fields["failed_step"] = step
            raise failure from None
        except TimeoutError:
            self.record.fields["failed_step"] = step
            if timeout.expired():
                raise self._expired(step) from None
            raise _StepFailed(FailureKind.TIMEOUT, "connection timed out") from None
        except OSError as exc:
            self.record.fields["failed_step"] = step
            raise _classify_os_error(exc, step) from None
        finally:
            self.record.timings[step.value] = _ms_since(started)

    def _expired(self, step: Step) -> _StepFailed:
        loop_now = asyncio.get_running_loop().time()
        if self.deadline is not None and loop_now >= self.deadline - 0.001:
            return _StepFailed(FailureKind.DEADLINE, f"check deadline reached during {step.value}")
        return _StepFailed(
            FailureKind.TIMEOUT, f"no answer within {self.step_timeout:g} s ({step.value})"
        )

    def _timeout_at(self, seconds: float) -> float:
        when = asyncio.get_running_loop().time() + seconds
        return when if self.deadline is None else min(when, self.deadline)

    def _fail_reply(self, step: Step, reply: Reply) -> None:
        self.record.fields["failed_step"] = step
        raise _StepFailed(FailureKind.REJECTED, reply.text)

    def _writer(self) -> asyncio.StreamWriter:
        assert self.writer is not None
        return self.writer

    def _ehlo_name(self) -> str:
        if self.ehlo_name:
            return self.ehlo_name
        sockname = self._writer().get_extra_info("sockname")
        local = str(sockname[0]) if sockname else "127.0.0.1"
        return f"[IPv6:{local}]" if ":" in local else f"[{local}]"

    def _capture_tls(self) -> None:
        ssl_object = self._writer().get_extra_info("ssl_object")
        if ssl_object is None:
            return
        chain = presented_chain(ssl_object)
        cipher = ssl_object.cipher()
        self.record.fields.update(
            tls_version=ssl_object.version(),
            cipher=cipher[0] if cipher else None,
            chain=chain[: self.limits.max_chain],
            chain_presented=len(chain),
        )


def presented_chain(ssl_object: Any) -> tuple[bytes, ...]:
    """The certificates the server sent, DER, leaf first, as presented (not as verified)."""
    getter = getattr(ssl_object, "get_unverified_chain", None)  # public from Python 3.13
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    certificates = getter() if getter is not None else None
    if certificates:
        return tuple(_der(cert) for cert in certificates)
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _der(cert: Any) -> bytes:
    """DER of one presented certificate: bytes already (Python 3.13+), or a 3.11/3.12
    _ssl.Certificate asked for DER directly (no PEM text and base64 round trip)."""
    if isinstance(cert, bytes):
        return cert
    encoded = cert.public_bytes(_ENCODING_DER)
    return encoded if isinstance(encoded, bytes) else ssl.PEM_cert_to_DER_cert(encoded)


def _is_reply_line(line: bytes) -> bool:
    return len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3:4] in (b" ", b"-"))


def _extension(line: str) -> str:
    return line[4:] if len(line) > 4 else ""


def _classify_os_error(exc: OSError, step: Step) -> _StepFailed:
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return _StepFailed(FailureKind.TLS, f"TLS handshake failed: {reason}")
    if isinstance(exc, ConnectionRefusedError):
        return _StepFailed(FailureKind.REFUSED, "connection refused")
    if isinstance(exc, ConnectionError):
        if step is Step.HANDSHAKE:
            return _StepFailed(FailureKind.TLS, f"connection lost during the TLS handshake: {exc}")
        return _StepFailed(FailureKind.RESET, f"connection reset by the server ({step.value})")
    if exc.errno in _UNREACHABLE_ERRNOS:
        return _StepFailed(FailureKind.UNREACHABLE, exc.strerror or str(exc))
    return _StepFailed(FailureKind.UNREACHABLE, str(exc) or type(exc).__name__)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def probe_starttls(
    host: str,
    ip: str,
    port: int = 25,
    *,
    attempt: int = 1,
    step_timeout: float = 10.0,
    deadline: float | None = None,
    sni: str | None = None,
    ehlo_name: str | None = None,
    limits: ProbeLimits = DEFAULT_LIMITS,
) -> AttemptEvidence:
    """Probe `ip` (already resolved and allowed by the policy: never re-resolved) as MX `host`.

    `deadline` is an absolute event-loop time; reaching it ends the attempt with
    FailureKind.DEADLINE and whatever was learned so far. SNI defaults to `host` unless it
    is an IP literal. The EHLO name defaults to our local address as an address literal.
    """
    record = _Record(host=host, ip=ip, port=port, attempt=attempt)
    server_name = sni if sni is not None else (None if _looks_like_ip(host) else host)
    probe = _Probe(
        record,
        step_timeout=step_timeout,
        deadline=deadline,
        sni=server_name,
        ehlo_name=ehlo_name,
        limits=limits,
    )
    await probe.run()
    return record.evidence()


def _looks_like_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()
