"""MX, implicit MX, A and AAAA lookups with dnspython's async resolver.

Every DNS outcome is evidence: NXDOMAIN, SERVFAIL, timeouts and empty answers come back as
values (`Resolution`, `HostEvidence.dns_error`), never as exceptions. Lookups are bounded by a
lifetime, and by the caller's absolute deadline when one is given.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from bot.core.evidence import HostEvidence, MxSource

DEFAULT_DNS_TIMEOUT = 5.0
MAX_MX_HOSTS = 16
# Addresses kept per host name. A 64 KiB DNS answer holds about 4,000 A records; which ones are
# probed (at most 32, the allowed ones, in DNS order) is the engine's decision.
MAX_ADDRESSES_RESOLVED = 4096

NXDOMAIN = "NXDOMAIN"
NO_ADDRESS = "no A/AAAA"


@dataclass(frozen=True, slots=True)
class Nameserver:
    ip: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The mail hosts of a domain (or the --host target), before any policy or probe."""

    domain: str
    source: MxSource
    hosts: tuple[HostEvidence, ...] = ()
    dns_error: str | None = None
    cname_chain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Lookup:
    values: tuple[str, ...] = ()
    error: str | None = None  # None: answered (possibly with no data)
    nxdomain: bool = False
    cname_chain: tuple[str, ...] = ()


def parse_nameserver(text: str) -> Nameserver:
    """'IP', 'IP:PORT', 'IPv6', '[IPv6]:PORT' -> Nameserver; ValueError with a clear message."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("x" if rest else "")
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    error = ValueError(
        f"invalid nameserver {value[:60]!r}: expected IP or IP:PORT, e.g. 127.0.0.1:5353"
    )
    try:
        ip = ipaddress.ip_address(host).compressed
        port = int(port_text) if port_text else 53
    except ValueError:
        raise error from None
    if not 0 < port < 65536:
        raise error
    return Nameserver(ip, port)


def parse_nameservers(values: Iterable[str]) -> tuple[Nameserver, ...]:
    """Repeated `--nameserver` values; each may also hold a comma-separated list."""
    servers: list[Nameserver] = []
    for value in values:
        servers.extend(parse_nameserver(part) for part in value.split(",") if part.strip())
    return tuple(servers)


class MxResolver:
    """Resolves mail hosts. Without nameservers, the system's (/etc/resolv.conf) are used."""

    def __init__(
        self,
        nameservers: Sequence[Nameserver] = (),
        *,
        timeout: float = DEFAULT_DNS_TIMEOUT,
        max_hosts: int = MAX_MX_HOSTS,
        max_addresses: int = MAX_ADDRESSES_RESOLVED,
    ) -> None:
        self.timeout = timeout
        self.max_hosts = max_hosts
        self.max_addresses = max_addresses
        self.config_error: str | None = None
        self._resolver = self._build(nameservers)

    def _build(self, nameservers: Sequence[Nameserver]) -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=False)
        if nameservers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(server.ip, server.port) for server in nameservers
            ]
        else:
            try:
                resolver.nameservers = dns.resolver.Resolver(configure=True).nameservers
            except (dns.resolver.NoResolverConfiguration, OSError) as exc:
                self.config_error = f"no nameserver configured ({exc})"
        resolver.timeout = min(2.0, self.timeout)  # per try; `lifetime` bounds the whole query
        resolver.lifetime = self.timeout
        resolver.cache = None
        return resolver

    async def resolve_mx(self, domain: str, *, deadline: float | None = None) -> Resolution:
        """MX hosts sorted by preference (ties by name) with their addresses; RFC 7505 null MX;
        RFC 5321 implicit MX when the domain has no MX records."""
        if self.config_error:
            return Resolution(domain, MxSource.FAILED, dns_error=self.config_error)
        mx = await self._query(domain, "MX", deadline)
        if mx.nxdomain:
            return Resolution(domain, MxSource.NXDOMAIN, dns_error=NXDOMAIN)
        if mx.error is not None:
            return Resolution(domain, MxSource.FAILED, dns_error=mx.error)
        if not mx.values:
            host = await self.resolve_addresses(domain, preference=0, deadline=deadline)
            return Resolution(domain, MxSource.IMPLICIT, (host,), cname_chain=mx.cname_chain)
        records = _parse_mx(mx.values)
        if records == [(0, "")]:
            return Resolution(domain, MxSource.NULL_MX, cname_chain=mx.cname_chain)
        records = [(pref, name) for pref, name in records if name][: self.max_hosts]
        hosts = await asyncio.gather(
            *(
                self.resolve_addresses(name, preference=pref, deadline=deadline)
                for pref, name in records
            )
        )
        return Resolution(domain, MxSource.MX, tuple(hosts), cname_chain=mx.cname_chain)

    async def resolve_host(self, name: str, *, deadline: float | None = None) -> Resolution:
        """`--host NAME`: the name's own addresses, no MX lookup. IP literals pass through."""
        try:
            ip = ipaddress.ip_address(name).compressed
        except ValueError:
            pass
        else:
            return Resolution(ip, MxSource.HOST, (HostEvidence(ip, None, addresses=(ip,)),))
        if self.config_error:
            return Resolution(name, MxSource.FAILED, dns_error=self.config_error)
        host = await self.resolve_addresses(name, preference=None, deadline=deadline)
        return Resolution(name, MxSource.HOST, (host,), cname_chain=host.cname_chain)

    async def resolve_addresses(
        self, name: str, *, preference: int | None, deadline: float | None = None
    ) -> HostEvidence:
        """A and AAAA of `name`, concurrently: in the order the name server gave them, IPv4 and
        IPv6 interleaved (a cap further on must not drop one family behind the other)."""
        a, aaaa = await asyncio.gather(
            self._query(name, "A", deadline), self._query(name, "AAAA", deadline)
        )
        addresses = _interleaved(_unique_ips(a.values), _unique_ips(aaaa.values))
        warnings = [f"{rtype}: {r.error}" for rtype, r in (("A", a), ("AAAA", aaaa)) if r.error]
        if len(addresses) > self.max_addresses:
            warnings.append(f"{len(addresses)} addresses, only the first {self.max_addresses} kept")
            addresses = addresses[: self.max_addresses]
        error: str | None = None
        if not addresses:
            if a.nxdomain and aaaa.nxdomain:
                error = NXDOMAIN
            else:
                error = a.error or aaaa.error or NO_ADDRESS
            warnings = []
        return HostEvidence(
            name=name,
            preference=preference,
            addresses=tuple(addresses),
            cname_chain=a.cname_chain or aaaa.cname_chain,
            dns_error=error,
            dns_warnings=tuple(warnings),
        )

    async def _query(self, name: str, rtype: str, deadline: float | None) -> _Lookup:
        lifetime = self.timeout
        if deadline is not None:
            lifetime = min(lifetime, deadline - asyncio.get_running_loop().time())
            if lifetime <= 0:
                return _Lookup(error="timeout (check deadline)")
        try:
            qname = dns.name.from_text(name)  # absolute: no search domains
            async with asyncio.timeout(lifetime + 0.5):  # backstop; dnspython honours lifetime
                answer = await self._resolver.resolve(
                    qname, rtype, raise_on_no_answer=False, lifetime=lifetime, search=False
                )
        except dns.resolver.NXDOMAIN:
            return _Lookup(nxdomain=True, error=NXDOMAIN)
        except (dns.exception.Timeout, TimeoutError):
            return _Lookup(error="timeout")
        except dns.resolver.NoNameservers as exc:
            return _Lookup(error=_no_nameservers_text(exc))
        except dns.exception.DNSException as exc:
            return _Lookup(error=f"lookup failed: {type(exc).__name__}")
        chain = _cname_chain(answer)
        if answer.rrset is None:
            return _Lookup(cname_chain=chain)
        return _Lookup(values=tuple(rdata.to_text() for rdata in answer.rrset), cname_chain=chain)


def _parse_mx(values: Sequence[str]) -> list[tuple[int, str]]:
    """'10 mx1.example.com.' -> (10, 'mx1.example.com'); sorted by preference, then name;
    duplicate names keep their lowest preference."""
    best: dict[str, int] = {}
    for value in values:
        pref_text, _, exchange = value.partition(" ")
        name = exchange.strip().rstrip(".").lower()
        pref = int(pref_text)
        if name not in best or pref < best[name]:
            best[name] = pref
    if set(best) == {""}:  # RFC 7505 null MX ("0 ."): the domain accepts no mail
        return [(0, "")]
    return sorted(((pref, name) for name, pref in best.items()), key=lambda item: item)


def _unique_ips(values: Iterable[str]) -> list[str]:
    """Addresses (as dnspython writes them) in answer order, each once."""
    return list(dict.fromkeys(values))


def _interleaved(first: list[str], second: list[str]) -> list[str]:
    """a1, b1, a2, b2, ... then the rest of the longer list."""
    merged = [x for pair in zip(first, second, strict=False) for x in pair]
    shorter = min(len(first), len(second))
    return merged + first[shorter:] + second[shorter:]


def _cname_chain(answer: dns.resolver.Answer) -> tuple[str, ...]:
    cnames = answer.chaining_result.cnames
    if not cnames:
        return ()
    names = [cnames[0].name.to_text(omit_final_dot=True).lower()]
    names.extend(rrset[0].target.to_text(omit_final_dot=True).lower() for rrset in cnames)
    return tuple(names)


def _no_nameservers_text(exc: dns.resolver.NoNameservers) -> str:
    """SERVFAIL, REFUSED, ... from the nameservers' answers."""
    rcodes: list[str] = []
    for error in exc.kwargs.get("errors", []):
        response = error[4] if len(error) > 4 else None
        if isinstance(response, dns.message.Message):
            rcodes.append(dns.rcode.to_text(response.rcode()))
    if rcodes:
        return "SERVFAIL" if "SERVFAIL" in rcodes else rcodes[0]
    return "no nameserver answered"
