"""The whole check (DNS + policy + fan-out) against a loopback DNS server and SMTP servers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.core.domain import normalise_target
from bot.core.evidence import FailureKind, MxSource, Step
from bot.probe.engine import (
    AttemptFinished,
    AttemptStarted,
    CheckFinished,
    CheckRequest,
    DnsResolved,
    ProbeUpdate,
    iter_check,
    run_check,
)
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import (
    AiosmtpdServer,
    RawServer,
    ScriptedSmtp,
    free_common_port,
    hostile_drip_banner,
    hostile_no_banner,
    server_context,
)
from tests.integration.conftest import Pki

LOOPBACK = parse_allow_nets(["127.0.0.0/8"])


def request(
    target: str, dns: FakeDnsServer, port: int, *, host_mode: bool = False, **kw: object
) -> CheckRequest:
    return CheckRequest(
        target=normalise_target(target, host_mode=host_mode),
        host_mode=host_mode,
        port=port,
        nameservers=(parse_nameserver(dns.address),),
        allow_nets=kw.pop("allow_nets", LOOPBACK),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


async def test_two_addresses_present_different_chains(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {
        "contoso.test": {"MX": ["10 mail.contoso.test"]},
        "mail.contoso.test": {"A": ["127.0.0.2", "127.0.0.3"]},
    }
    port = free_common_port(["127.0.0.2", "127.0.0.3"])
    healthy = server_context(pki.leaf, tmp_path, "healthy")
    self_signed = server_context(pki.self_signed, tmp_path, "selfsigned")
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(healthy, "127.0.0.2", "mail.contoso.test", port=port),
        AiosmtpdServer(self_signed, "127.0.0.3", "EXCH02", port=port),
    ):
        evidence = await run_check(
            request("admin@Contoso.test", dns, port, expected_names=("hybrid.contoso.test",))
        )
    assert evidence.target == "contoso.test"
    assert evidence.source is MxSource.MX
    assert evidence.expected_names == ("hybrid.contoso.test",)
    assert not evidence.deadline_hit
    (host,) = evidence.hosts
    assert (host.name, host.preference, host.addresses) == (
        "mail.contoso.test",
        10,
        ("127.0.0.2", "127.0.0.3"),
    )
    assert [(a.ip, a.attempt) for a in host.attempts] == [
        ("127.0.0.2", 1),
        ("127.0.0.2", 2),
        ("127.0.0.3", 1),
        ("127.0.0.3", 2),
    ]
    assert all(a.failure is None and a.tls_ok for a in host.attempts)
    chains = {a.ip: a.chain for a in host.attempts}
    assert chains["127.0.0.2"] == (pki.leaf.der, pki.intermediate.der)
    assert chains["127.0.0.3"] == (pki.self_signed.der,)
    assert evidence.elapsed_ms > 0
    assert evidence.started_at is not None


async def test_updates_stream_in_completion_order(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {
        "stream.test": {"MX": ["10 fast.stream.test", "20 slow.stream.test"]},
        "fast.stream.test": {"A": ["127.0.0.30"]},
        "slow.stream.test": {"A": ["127.0.0.31"]},
    }
    port = free_common_port(["127.0.0.30", "127.0.0.31"])
    context = server_context(pki.leaf, tmp_path, "leaf")
    updates: list[ProbeUpdate] = []
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(ScriptedSmtp(tls=context), "127.0.0.30", port),
        RawServer(ScriptedSmtp(tls=context, latency=0.4), "127.0.0.31", port),
    ):
        async for update in iter_check(request("stream.test", dns, port, attempts=1)):
            updates.append(update)
    assert isinstance(updates[0], DnsResolved)
    assert updates[0].planned_attempts == 2
    assert [h.name for h in updates[0].evidence.hosts] == ["fast.stream.test", "slow.stream.test"]
    finished = [u for u in updates if isinstance(u, AttemptFinished)]
    assert [u.attempt.ip for u in finished] == ["127.0.0.30", "127.0.0.31"]
    assert [(u.done, u.planned) for u in finished] == [(1, 2), (2, 2)]
    assert isinstance(updates[-1], CheckFinished)
    assert [h.name for h in updates[-1].evidence.hosts] == ["fast.stream.test", "slow.stream.test"]


async def test_an_attempt_is_reported_when_it_starts_not_only_when_it_ends(
    pki: Pki, tmp_path: Path
) -> None:
    """A server that takes its time (here 1.5 s per reply) must not leave the caller blind:
    AttemptStarted arrives at once, long before that attempt's AttemptFinished."""
    zone: Zone = {"mx.slow.test": {"A": ["127.0.0.32", "127.0.0.33"]}}
    port = free_common_port(["127.0.0.32", "127.0.0.33"])
    context = server_context(pki.leaf, tmp_path, "leaf")
    seen: list[tuple[float, ProbeUpdate]] = []
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(ScriptedSmtp(tls=context, latency=1.5), "127.0.0.32", port),
        RawServer(ScriptedSmtp(tls=context, latency=1.5), "127.0.0.33", port),
    ):
        check = request("mx.slow.test", dns, port, attempts=2, host_mode=True)
        async for update in iter_check(check):
            seen.append((time.monotonic(), update))
    resolved = next(t for t, u in seen if isinstance(u, DnsResolved))
    starts = [(t, u) for t, u in seen if isinstance(u, AttemptStarted)]
    ends = {(u.attempt.ip, u.attempt.attempt): t for t, u in seen if isinstance(u, AttemptFinished)}
    assert sorted((u.ip, u.attempt) for _, u in starts) == sorted(ends)  # every attempt, once
    first_wave = [(t, u) for t, u in starts if u.attempt == 1]
    assert len(first_wave) == 2
    for started_at, update in first_wave:
        assert started_at - resolved < 0.5
        assert ends[(update.ip, update.attempt)] - started_at > 1.0


SSRF_ZONE: Zone = {
    "evil.test": {"MX": ["10 a.evil.test", "20 b.evil.test", "30 ok.evil.test"]},
    "a.evil.test": {
        "A": ["10.0.0.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "0.0.0.0", "127.0.0.5"],
        "AAAA": ["::ffff:10.0.0.1", "fe80::1", "::1", "fc00::25"],
    },
    "b.evil.test": {"A": ["192.168.1.25", "172.16.0.25", "255.255.255.255", "127.0.0.5"]},
    "ok.evil.test": {"A": ["127.0.0.6"]},
}


async def test_blocked_addresses_are_never_connected_to(pki: Pki, tmp_path: Path) -> None:
    port = free_common_port(["127.0.0.5", "127.0.0.6"])
    listener = RawServer(ScriptedSmtp(), "127.0.0.5", port)  # loopback, but not allowed
    allowed = RawServer(
        ScriptedSmtp(tls=server_context(pki.leaf, tmp_path, "l")), "127.0.0.6", port
    )
    async with FakeDnsServer(SSRF_ZONE) as dns, listener, allowed:
        evidence = await run_check(
            request("evil.test", dns, port, allow_nets=parse_allow_nets(["127.0.0.6/32"]))
        )
    a, b, ok = evidence.hosts
    assert set(a.blocked) == set(a.addresses)
    assert len(a.blocked) == 10
    assert set(b.blocked) == set(b.addresses)
    reasons = dict(zip(a.blocked, a.blocked_reasons, strict=True))
    assert "metadata" in reasons["169.254.169.254"]
    assert "RFC 1918" in reasons["::ffff:10.0.0.1"]
    assert "carrier-grade NAT" in reasons["100.64.0.1"]
    assert a.attempts == () and b.attempts == ()
    assert listener.connections == 0
    assert ok.blocked == ()
    assert [att.ip for att in ok.attempts] == ["127.0.0.6", "127.0.0.6"]
    assert allowed.connections == 2


async def test_host_mode_ip_literal_obeys_the_policy() -> None:
    listener = RawServer(ScriptedSmtp(), "127.0.0.5")
    async with FakeDnsServer({}) as dns, listener:
        evidence = await run_check(
            request("127.0.0.5", dns, listener.port, host_mode=True, allow_nets=())
        )
    assert evidence.source is MxSource.HOST
    assert evidence.hosts[0].blocked == ("127.0.0.5",)
    assert evidence.hosts[0].blocked_reasons == ("loopback address",)
    assert listener.connections == 0
    assert dns.queries == []  # an IP literal is not looked up


async def test_host_mode_by_name(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {"smarthost.test": {"A": ["127.0.0.40"]}}
    server = RawServer(ScriptedSmtp(tls=server_context(pki.leaf, tmp_path, "l")), "127.0.0.40")
    async with FakeDnsServer(zone) as dns, server:
        evidence = await run_check(request("smarthost.test", dns, server.port, host_mode=True))
    assert evidence.source is MxSource.HOST
    assert [a.chain[0] for a in evidence.hosts[0].attempts] == [pki.leaf.der] * 2
    assert not any(q[2] == "MX" for q in dns.queries)


async def test_deadline_returns_partial_evidence(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {
        "partial.test": {"MX": ["10 good.partial.test", "20 tarpit.partial.test"]},
        "good.partial.test": {"A": ["127.0.0.50"]},
        "tarpit.partial.test": {"A": ["127.0.0.51"]},
    }
    port = free_common_port(["127.0.0.50", "127.0.0.51"])
    context = server_context(pki.leaf, tmp_path, "leaf")
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(ScriptedSmtp(tls=context), "127.0.0.50", port),
        RawServer(hostile_drip_banner, "127.0.0.51", port),
    ):
        started = time.monotonic()
        evidence = await run_check(
            request("partial.test", dns, port, step_timeout=10.0, deadline=1.5)
        )
        elapsed = time.monotonic() - started
    assert evidence.deadline_hit
    assert elapsed < 3.0
    good, tarpit = evidence.hosts
    assert all(a.tls_ok for a in good.attempts)
    assert len(tarpit.attempts) == 2
    assert all(a.failure is FailureKind.DEADLINE for a in tarpit.attempts)
    assert all(a.failed_step is Step.BANNER for a in tarpit.attempts)


async def test_timed_out_address_is_not_retried() -> None:
    zone: Zone = {"slow.test": {"A": ["127.0.0.60"]}}
    server = RawServer(hostile_no_banner, "127.0.0.60")
    async with FakeDnsServer(zone) as dns, server:
        evidence = await run_check(
            request("slow.test", dns, server.port, attempts=3, per_address_limit=1,
                    step_timeout=0.5)
        )  # fmt: skip
    (host,) = evidence.hosts
    assert host.name == "slow.test"  # implicit MX
    assert evidence.source is MxSource.IMPLICIT
    assert [(a.attempt, a.failure) for a in host.attempts] == [(1, FailureKind.TIMEOUT)]
    assert server.connections == 1
    assert evidence.notes == ("127.0.0.60: not tried again after a timeout",)


async def test_at_most_two_connections_per_address(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {"busy.test": {"A": ["127.0.0.70"]}}
    context = server_context(pki.leaf, tmp_path, "leaf")
    server = RawServer(ScriptedSmtp(tls=context, latency=0.1), "127.0.0.70")
    async with FakeDnsServer(zone) as dns, server:
        evidence = await run_check(request("busy.test", dns, server.port, attempts=5))
    assert len(evidence.hosts[0].attempts) == 5
    assert all(a.tls_ok for a in evidence.hosts[0].attempts)
    assert server.connections == 5
    assert server.peak == 2


async def test_dns_outcomes_pass_through() -> None:
    zone: Zone = {"nullmx.test": {"MX": ["0 ."]}, "broken.test": "SERVFAIL"}
    async with FakeDnsServer(zone) as dns:
        nx = await run_check(request("missing.test", dns, 25))
        null = await run_check(request("nullmx.test", dns, 25))
        broken = await run_check(request("broken.test", dns, 25))
    assert (nx.source, nx.dns_error, nx.hosts) == (MxSource.NXDOMAIN, "NXDOMAIN", ())
    assert (null.source, null.hosts) == (MxSource.NULL_MX, ())
    assert (broken.source, broken.dns_error) == (MxSource.FAILED, "SERVFAIL")


async def test_stopping_early_cancels_outstanding_probes() -> None:
    zone: Zone = {"tarpit.test": {"A": ["127.0.0.80"]}}
    server = RawServer(hostile_no_banner, "127.0.0.80")
    async with FakeDnsServer(zone) as dns, server:
        updates = iter_check(request("tarpit.test", dns, server.port, step_timeout=30))
        first = await anext(updates)
        assert isinstance(first, DnsResolved)
        consumer = asyncio.ensure_future(anext(updates))
        await asyncio.sleep(0.3)
        assert server.active == 2
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await updates.aclose()
        await asyncio.sleep(0.2)
        assert server.active == 0
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_probe_count_is_capped(pki: Pki, tmp_path: Path) -> None:
    addresses = [f"127.0.3.{n}" for n in range(1, 7)]
    zone: Zone = {"wide.test": {"A": addresses}}
    port = free_common_port(addresses)
    context = server_context(pki.leaf, tmp_path, "leaf")
    servers = [RawServer(ScriptedSmtp(tls=context), ip, port) for ip in addresses]
    async with FakeDnsServer(zone) as dns:
        for server in servers:
            await server.start()
        try:
            evidence = await run_check(request("wide.test", dns, port, attempts=2, max_probes=8))
        finally:
            for server in servers:
                await server.stop()
    attempts = evidence.hosts[0].attempts
    assert len(attempts) == 8
    assert {a.ip for a in attempts if a.attempt == 1} == set(addresses)  # first attempts first
    assert evidence.notes == ("probe limit: 8 of 12 planned attempts were made",)
    assert sum(s.connections for s in servers) == 8


async def test_hanging_dns_ends_at_the_deadline() -> None:
    async with FakeDnsServer({"hang.test": "HANG"}) as dns:
        started = time.monotonic()
        evidence = await run_check(request("hang.test", dns, 25, step_timeout=10, deadline=1.0))
        elapsed = time.monotonic() - started
    assert evidence.deadline_hit
    assert evidence.source is MxSource.FAILED
    assert evidence.dns_error == "timeout"
    assert elapsed < 2.0


async def test_ipv6_address_is_probed(pki: Pki, tmp_path: Path) -> None:
    zone: Zone = {"v6.test": {"MX": ["10 mx.v6.test"]}, "mx.v6.test": {"AAAA": ["::1"]}}
    try:
        server = await RawServer(
            ScriptedSmtp(tls=server_context(pki.leaf, tmp_path, "leaf")), "::1"
        ).start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        async with FakeDnsServer(zone) as dns:
            blocked = await run_check(request("v6.test", dns, server.port))  # 127/8 only
            allowed = await run_check(
                request("v6.test", dns, server.port, allow_nets=parse_allow_nets(["::1/128"]))
            )
    finally:
        await server.stop()
    assert blocked.hosts[0].blocked == ("::1",)
    assert [a.chain[0] for a in allowed.hosts[0].attempts] == [pki.leaf.der] * 2
    assert server.connections == 2


async def test_one_wave_covers_every_planned_probe() -> None:
    """40 addresses x 2 attempts: all 80 connections are open at the same time (concurrency
    follows the plan, 2 per address), so the check takes one server delay, not two or three."""
    addresses = [f"127.0.4.{n}" for n in range(1, 41)]
    active, peak = 0, 0

    async def slow_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.5)
            writer.write(b"421 4.3.2 busy\r\n")
            await writer.drain()
        finally:
            active -= 1

    port = free_common_port(addresses)
    servers = [RawServer(slow_greeting, ip, port) for ip in addresses]
    zone: Zone = {
        "wide.test": {"MX": ["10 a.wide.test", "20 b.wide.test"]},
        "a.wide.test": {"A": addresses[:20]},
        "b.wide.test": {"A": addresses[20:]},
    }
    async with FakeDnsServer(zone) as dns:
        for server in servers:
            await server.start()
        try:
            started = time.monotonic()
            evidence = await run_check(request("wide.test", dns, port, attempts=2))
            elapsed = time.monotonic() - started
        finally:
            for server in servers:
                await server.stop()
    assert sum(len(host.attempts) for host in evidence.hosts) == 80
    assert peak == 80
    assert max(s.peak for s in servers) == 2  # never more than two per address
    assert elapsed < 1.4  # one wave of 0.5 s (two waves would take over a second)
