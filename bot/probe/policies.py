"""Collects the policy evidence of one check (DANE, MTA-STS, TLS-RPT), concurrently with the
SMTP probes: the MX RRset's and every MX host's TLSA DNSSEC status, the MTA-STS TXT record and
policy file, the TLS-RPT record. No judgement here (bot.core.check.policies does that)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.evidence import HostEvidence
from bot.core.policy_evidence import DnsAnswer, PolicyEvidence, PolicyFetch, TlsaLookup
from bot.probe.dnssec import (
    ROOT_ANCHORS,
    AdBitLookup,
    DnssecLookup,
    ValidatingLookup,
    load_trust_anchors,
)
from bot.probe.https import fetch_policy
from bot.probe.netpolicy import NetPolicy, Network
from bot.probe.resolver import MxResolver, Nameserver


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    domain: str
    hosts: tuple[HostEvidence, ...]
    host_mode: bool = False
    smtp_port: int = 25
    nameservers: tuple[Nameserver, ...] = ()
    allow_nets: tuple[Network, ...] = ()
    dnssec_resolver: Nameserver | None = None
    trust_anchor: Path | None = None
    ca_file: Path | None = None
    https_port: int = 443  # tests serve the policy on a loopback port
    timeout: float = 10.0


def _lookup(request: PolicyRequest, deadline: float | None) -> DnssecLookup:
    if request.dnssec_resolver is not None:
        return AdBitLookup(request.dnssec_resolver, request.timeout, deadline)
    anchors = load_trust_anchors(request.trust_anchor)
    source = "the root trust anchor" if request.trust_anchor in (None, ROOT_ANCHORS) else (
        f"the trust anchor file {request.trust_anchor}")  # fmt: skip
    servers = request.nameservers or system_nameservers()
    return ValidatingLookup(servers, anchors, source=source, timeout=request.timeout,
                            deadline=deadline)  # fmt: skip


async def _tlsa(lookup: DnssecLookup, host: HostEvidence, port: int) -> TlsaLookup:
    """RFC 7672 §2.2.3: the CNAME-expanded name first, then the MX name itself."""
    names = [host.cname_chain[-1]] if host.cname_chain and host.cname_chain[-1] != host.name else []
    names.append(host.name)
    tried: list[str] = []
    answer: DnsAnswer | None = None
    for name in names:
        owner = f"_{port}._tcp.{name}"
        tried.append(owner)
        answer = await lookup.lookup(owner, "TLSA")
        if answer.values or not answer.no_data:
            break
    assert answer is not None
    return TlsaLookup(host.name, answer, tuple(tried))


async def _mta_sts(
    lookup: DnssecLookup, request: PolicyRequest, deadline: float | None
) -> tuple[DnsAnswer, PolicyFetch | None]:
    answer = await lookup.lookup(f"_mta-sts.{request.domain}", "TXT")
    if not any(v.startswith("v=STSv1") for v in answer.values):
        return answer, None
    resolver = MxResolver(request.nameservers, timeout=request.timeout)
    fetch = await fetch_policy(
        request.domain, resolver=resolver, policy=NetPolicy(request.allow_nets),
        port=request.https_port, ca_file=request.ca_file, deadline=deadline,
    )  # fmt: skip
    return answer, fetch


async def collect_policies(
    request: PolicyRequest, *, deadline: float | None = None
) -> PolicyEvidence:
    started = time.perf_counter()
    lookup = _lookup(request, deadline)
    hosts = [h for h in request.hosts if h.name]
    tlsa = asyncio.gather(*(_tlsa(lookup, h, request.smtp_port) for h in hosts))
    if request.host_mode:
        found = await tlsa
        return PolicyEvidence(lookup.validation, tlsa=tuple(found),
                              elapsed_ms=_ms(started))  # fmt: skip
    mx, found, (sts, policy), rpt = await asyncio.gather(
        lookup.lookup(request.domain, "MX"), tlsa, _mta_sts(lookup, request, deadline),
        lookup.lookup(f"_smtp._tls.{request.domain}", "TXT"),
    )  # fmt: skip
    return PolicyEvidence(
        lookup.validation, mx=mx, tlsa=tuple(found), mta_sts=sts, policy=policy, tlsrpt=rpt,
        elapsed_ms=_ms(started),
    )  # fmt: skip


def system_nameservers() -> tuple[Nameserver, ...]:
    """/etc/resolv.conf's servers, as the MX lookups use them."""
    import dns.nameserver  # noqa: PLC0415 - loaded with dnspython anyway
    import dns.resolver  # noqa: PLC0415

    try:
        configured = dns.resolver.Resolver(configure=True).nameservers
    except (dns.resolver.NoResolverConfiguration, OSError):
        return ()
    servers: list[Nameserver] = []
    for server in configured:
        if isinstance(server, dns.nameserver.Do53Nameserver):
            servers.append(Nameserver(server.address, server.port))
        elif isinstance(server, str):
            servers.append(Nameserver(server))
    return tuple(servers)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def hosts_for(hosts: Sequence[HostEvidence]) -> tuple[HostEvidence, ...]:
    """The hosts whose TLSA is looked up: those that resolved (a host without an address
    receives no mail either)."""
    return tuple(h for h in hosts if h.addresses)
