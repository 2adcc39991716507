"""The MTA-STS policy fetch (RFC 8461 §3.3): HTTPS GET of
https://mta-sts.<domain>/.well-known/mta-sts.txt under the probe's own address policy.

The host name is resolved with the probe's resolver and every address is checked by NetPolicy
before any connection (a policy host on a private address is never contacted, unless allowed);
aiohttp then connects only to those checked addresses (its resolver is ours). Redirects are not
followed, the body is read up to 64 KiB and the whole fetch is bounded (10 s, and the check's
deadline). The certificate is validated against the Web PKI (certifi) or the `--ca-file`.
aiohttp is imported only when a domain publishes an MTA-STS record.
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


def _short(exc: BaseException) -> str:
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


async def _get(
    url: str, host: str, addresses: list[str], port: int, ca_file: Path | None, *, budget: float
) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415 - see the module doc

    from bot.probe.fixed_resolver import FixedResolver  # noqa: PLC0415 - imports aiohttp

    context = _tls_context(ca_file)
    connector = aiohttp.TCPConnector(
        resolver=FixedResolver(host, addresses), ssl=context, use_dns_cache=False, limit=1
    )
    timeout = aiohttp.ClientTimeout(total=budget)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session,
            session.get(url, allow_redirects=False, headers={"Accept": "text/plain"}) as response,
        ):
            peer = response.connection.transport.get_extra_info("peername") if (
                response.connection and response.connection.transport) else None  # fmt: skip
            fields: dict[str, Any] = {
                "status": response.status,
                "content_type": response.headers.get("Content-Type"),
                "ip": peer[0] if peer else addresses[0],
            }
            if 300 <= response.status < 400:
                location = response.headers.get("Location", "")[:300]
                return fields | {"location": location, "error_kind": FETCH_REDIRECT}
            if response.status != 200:
                return fields | {"error_kind": FETCH_HTTP}
            declared = response.content_length
            if declared is not None and declared > MAX_POLICY_BYTES:
                error = f"the policy is {declared} bytes, more than 64 KiB: not read"
                return fields | {"error": error, "error_kind": FETCH_TOO_LARGE}
            body = await response.content.read(MAX_POLICY_BYTES + 1)
            if len(body) > MAX_POLICY_BYTES:
                error = "the policy is larger than 64 KiB: not read further"
                return fields | {"error": error, "error_kind": FETCH_TOO_LARGE}
            return fields | {"body": body.decode("utf-8", "backslashreplace")}
    except aiohttp.ClientConnectorCertificateError as exc:
        error = f"certificate of {host} not valid: {_short(exc.certificate_error)}"
        return {"error": error, "error_kind": FETCH_TLS, "ip": addresses[0]}
    except aiohttp.ClientSSLError as exc:
        return {"error": f"TLS with {host} failed: {_short(exc)}", "error_kind": FETCH_TLS}
    except TimeoutError:
        return {"error": f"no complete answer within {budget:.0f} s", "error_kind": FETCH_TIMEOUT}
    except (aiohttp.ClientError, OSError) as exc:
        return {"error": f"cannot connect to {host}: {_short(exc)}", "error_kind": FETCH_CONNECT}
