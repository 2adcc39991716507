"""Host-name matching as TLS clients do it (RFC 6125 6.4), shared by certificate analysis and
the diagnosis rules. Names are compared as A-labels, case-insensitively, without trailing dots."""

from __future__ import annotations

from collections.abc import Iterable


def canonical(name: str) -> str:
    return name.strip().rstrip(".").lower()


def matches(pattern: str, host: str) -> bool:
    """True when certificate name `pattern` covers `host`.

    A wildcard is honoured only as the whole left-most label (`*.contoso.com`), matches exactly
    one label, and never matches a bare public suffix pattern such as `*.com`.
    """
    pattern, host = canonical(pattern), canonical(host)
    if not pattern or not host:
        return False
    if "*" not in pattern:
        return pattern == host
    first, _, rest = pattern.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False
    host_first, _, host_rest = host.partition(".")
    return bool(host_first) and host_rest == rest


def covered(names: Iterable[str], host: str) -> bool:
    return any(matches(name, host) for name in names)
