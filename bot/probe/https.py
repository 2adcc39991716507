"""The MTA-STS policy fetch (RFC 8461 §3.3): HTTPS GET of
https://mta-sts.<domain>/.well-known/mta-sts.txt under the probe's own address policy.

The host name is resolved with the probe's resolver and every address is checked by NetPolicy
before any connection (a policy host on a private address is never contacted, unless allowed);
the client then connects only to those checked addresses. Redirects are not followed, the body
is read up to 64 KiB (Content-Length, chunked or until close), a status or header line is at
most 8 KiB, and the whole fetch is bounded (10 s, and the check's deadline). The certificate is
validated against the Web PKI (certifi) or the `--ca-file`, with the policy host's name.

One HTTP/1.1 GET with `Connection: close` over asyncio's TLS streams, not aiohttp: importing
aiohttp costs about 100 ms per `mailflow check` process (more than the whole check on loopback
without policies), and the CLI keeps aiohttp out of `check` (bot.cli). The Slack bot runs the
same code.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.policy_evidence import (
    FETCH_BLOCKED,
    FETCH_CONNECT,
    FETCH_DNS,
    FETCH_HTTP,
    FETCH_REDIRECT,
    FETCH_TIMEOUT,
    FETCH_TLS,
    FETCH_TOO_LARGE,
    PolicyFetch,
)
from bot.probe.netpolicy import NetPolicy

if TYPE_CHECKING:
    from bot.probe.resolver import MxResolver

MAX_POLICY_BYTES = 64 * 1024
_LINE_LIMIT = 8192  # bytes of one status or header line
_MAX_HEADERS = 100
FETCH_TIMEOUT_SECONDS = 10.0
WELL_KNOWN = "/.well-known/mta-sts.txt"
_ERROR_CHARS = 200


def policy_url(domain: str) -> str:
    return f"https://mta-sts.{domain}{WELL_KNOWN}"


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    import certifi  # noqa: PLC0415 - only when a policy is fetched

    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _short(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:_ERROR_CHARS]


async def fetch_policy(
    domain: str,
    *,
    resolver: MxResolver,
    policy: NetPolicy,
    port: int = 443,
    ca_file: Path | None = None,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    deadline: float | None = None,
) -> PolicyFetch:
    host = f"mta-sts.{domain}"
    url = policy_url(domain) if port == 443 else f"https://{host}:{port}{WELL_KNOWN}"
    started = time.perf_counter()
    resolved = await resolver.resolve_addresses(host, preference=None, deadline=deadline)
    if not resolved.addresses:
        error = f"{host}: {resolved.dns_error or 'no address'}"
        return PolicyFetch(url, host, error=error, error_kind=FETCH_DNS)
    reasons = {ip: policy.blocked_reason(ip) for ip in resolved.addresses}
    allowed = [ip for ip, why in reasons.items() if why is None]
    blocked = tuple(f"{ip} ({why})" for ip, why in reasons.items() if why is not None)
    if not allowed:
        error = f"{host} resolves only to addresses the probe may not reach: {', '.join(blocked)}"
        return PolicyFetch(url, host, error=error[:400], error_kind=FETCH_BLOCKED, blocked=blocked)
    budget = timeout
    if deadline is not None:
        budget = min(budget, deadline - asyncio.get_running_loop().time())
    if budget <= 0:
        return PolicyFetch(url, host, error="check deadline reached", error_kind=FETCH_TIMEOUT)
    result = await _get(url, host, allowed, port, ca_file, budget=budget)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return PolicyFetch(url, host, blocked=blocked, elapsed_ms=elapsed, **result)


class _BadResponse(Exception):
    """The server's answer is not HTTP/1.x as expected; str() is one line."""


async def _get(
    url: str, host: str, addresses: list[str], port: int, ca_file: Path | None, *, budget: float
) -> dict[str, Any]:
    """GET over the first address that connects; the outcome as PolicyFetch fields."""
    context = _tls_context(ca_file)
    try:
        async with asyncio.timeout(budget):
            return await _get_any(host, addresses, port, context)
    except TimeoutError:
        return {"error": f"no complete answer within {budget:.0f} s", "error_kind": FETCH_TIMEOUT}


async def _get_any(
    host: str, addresses: list[str], port: int, context: ssl.SSLContext
) -> dict[str, Any]:
    failure: dict[str, Any] = {}
    for ip in addresses:
        try:
            reader, writer = await asyncio.open_connection(
                ip, port, ssl=context, server_hostname=host, limit=_LINE_LIMIT
            )
        except ssl.SSLCertVerificationError as exc:
            error = f"certificate of {host} not valid: {_short(exc.verify_message or exc)}"
            return {"error": error, "error_kind": FETCH_TLS, "ip": ip}
        except ssl.SSLError as exc:
            return {"error": f"TLS with {host} failed: {_short(exc)}", "error_kind": FETCH_TLS,
                    "ip": ip}  # fmt: skip
        except OSError as exc:
            failure = {"error": f"cannot connect to {host} ({ip}): {_short(exc)}",
                       "error_kind": FETCH_CONNECT, "ip": ip}  # fmt: skip
            continue
        try:
            return {"ip": ip, **await _exchange(reader, writer, host, port)}
        except (_BadResponse, ValueError, asyncio.IncompleteReadError) as exc:
            error = f"not a valid HTTP answer from {host}: {_short(exc)}"
            return {"ip": ip, "error": error, "error_kind": FETCH_HTTP}
        except (OSError, ssl.SSLError) as exc:
            return {"ip": ip, "error": f"connection to {host} failed: {_short(exc)}",
                    "error_kind": FETCH_CONNECT}  # fmt: skip
        finally:
            writer.transport.abort()
    return failure


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
) -> dict[str, Any]:
    authority = host if port == 443 else f"{host}:{port}"
    writer.write(
        f"GET {WELL_KNOWN} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: mailflow-bot\r\n"
        "Accept: text/plain\r\nConnection: close\r\n\r\n".encode("ascii")
    )
    await writer.drain()
    status = _status(await reader.readline())
    headers = await _headers(reader)
    fields: dict[str, Any] = {"status": status, "content_type": headers.get("content-type")}
    if 300 <= status < 400:
        return fields | {"location": headers.get("location", "")[:300],
                         "error_kind": FETCH_REDIRECT}  # fmt: skip
    if status != 200:
        return fields | {"error_kind": FETCH_HTTP}
    body = await _body(reader, headers)
    if body is None:
        error = "the policy is larger than 64 KiB: not read further"
        return fields | {"error": error, "error_kind": FETCH_TOO_LARGE}
    return fields | {"body": body.decode("utf-8", "backslashreplace")}


def _status(line: bytes) -> int:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _BadResponse(f"status line {line[:60]!r}")
    return int(parts[1])


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise _BadResponse(f"header line {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    raise _BadResponse(f"more than {_MAX_HEADERS} header lines")


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
    """The body, or None when it is larger than MAX_POLICY_BYTES (not read further)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _chunked(reader)
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _BadResponse(f"Content-Length {length[:20]!r}")
        if int(length) > MAX_POLICY_BYTES:
            return None
        return await reader.readexactly(int(length))
    body = await reader.read(MAX_POLICY_BYTES + 1)
    while len(body) <= MAX_POLICY_BYTES:
        more = await reader.read(MAX_POLICY_BYTES + 1 - len(body))
        if not more:
            break
        body += more
    return None if len(body) > MAX_POLICY_BYTES else body


async def _chunked(reader: asyncio.StreamReader) -> bytes | None:
    body = b""
    while True:
        size_text = (await reader.readline()).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadResponse(f"chunk size {size_text[:20]!r}") from None
        if size == 0:
            return body
        if len(body) + size > MAX_POLICY_BYTES:
            return None
        body += await reader.readexactly(size)
        await reader.readline()  # the CRLF after the chunk
