"""MxResolver against a real DNS server on loopback speaking the wire protocol."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.core.evidence import MxSource
from bot.probe.resolver import (
    MxResolver,
    Nameserver,
    parse_nameserver,
    parse_nameservers,
)
from bot.settings import ProbeSettings
from tests.fakes.dns_server import FakeDnsServer, Zone

ZONE: Zone = {
    "example.test": {"MX": ["20 mx2.example.test", "10 mx1.example.test", "10 a.example.test"]},
    "mx1.example.test": {"A": ["127.0.0.2", "127.0.0.3"], "AAAA": ["::1"]},
    "mx2.example.test": {"CNAME": ["cdn.provider.test"]},
    "cdn.provider.test": {"CNAME": ["edge.provider.test"]},
    "edge.provider.test": {"A": ["127.0.0.4"]},
    "a.example.test": {"A": ["127.0.0.5"]},
    "nullmx.test": {"MX": ["0 ."]},
    "implicit.test": {"A": ["127.0.0.6"], "TXT": ['"v=spf1 -all"']},
    "nothing.test": {"TXT": ['"hello"']},
    "servfail.test": "SERVFAIL",
    "refused.test": "REFUSED",
    "hang.test": "HANG",
    "dangling.test": {"MX": ["10 gone.example.test", "20 mx1.example.test"]},
    "slowv6.test": {"MX": ["10 halfway.test"]},
    "halfway.test": {"A": ["127.0.0.7"], "AAAA": "HANG"},
    "many.test": {"A": [f"127.0.1.{n}" for n in range(40, 0, -1)]},  # > 512 bytes: TC, then TCP
    "wide.test": {
        "A": [f"127.{n // 250}.{n % 250}.9" for n in range(1000)],
        "AAAA": [f"fd00::{n:x}" for n in range(9, 0, -1)] + ["::1"],
    },
    "alias.test": {"CNAME": ["example.test"]},
}


@pytest.fixture
async def dns_server() -> AsyncIterator[FakeDnsServer]:
    async with FakeDnsServer(ZONE) as server:
        yield server


def _resolver(server: FakeDnsServer, timeout: float = 3.0) -> MxResolver:
    return MxResolver([parse_nameserver(server.address)], timeout=timeout)


async def test_mx_sorted_by_preference_then_name(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("example.test")
    assert result.source is MxSource.MX
    assert result.dns_error is None
    assert [(h.name, h.preference) for h in result.hosts] == [
        ("a.example.test", 10),
        ("mx1.example.test", 10),
        ("mx2.example.test", 20),
    ]
    mx1 = result.hosts[1]
    assert mx1.addresses == ("127.0.0.2", "::1", "127.0.0.3")  # IPv4 and IPv6 in turn
    mx2 = result.hosts[2]
    assert mx2.addresses == ("127.0.0.4",)
    assert mx2.cname_chain == ("mx2.example.test", "cdn.provider.test", "edge.provider.test")


async def test_null_mx(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("nullmx.test")
    assert (result.source, result.hosts) == (MxSource.NULL_MX, ())


async def test_implicit_mx(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("implicit.test")
    assert result.source is MxSource.IMPLICIT
    assert [(h.name, h.preference, h.addresses) for h in result.hosts] == [
        ("implicit.test", 0, ("127.0.0.6",))
    ]


async def test_no_mx_and_no_address(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("nothing.test")
    assert result.source is MxSource.IMPLICIT
    assert result.hosts[0].dns_error == "no A/AAAA"
    assert result.hosts[0].addresses == ()


async def test_nxdomain(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("missing.test")
    assert (result.source, result.dns_error) == (MxSource.NXDOMAIN, "NXDOMAIN")


@pytest.mark.parametrize(
    ("name", "error"), [("servfail.test", "SERVFAIL"), ("refused.test", "REFUSED")]
)
async def test_server_failures(dns_server: FakeDnsServer, name: str, error: str) -> None:
    result = await _resolver(dns_server).resolve_mx(name)
    assert (result.source, result.dns_error) == (MxSource.FAILED, error)


async def test_timeout_is_bounded(dns_server: FakeDnsServer) -> None:
    started = time.monotonic()
    result = await _resolver(dns_server, timeout=1.0).resolve_mx("hang.test")
    assert (result.source, result.dns_error) == (MxSource.FAILED, "timeout")
    assert time.monotonic() - started < 2.0


async def test_dangling_mx_host_is_recorded_not_raised(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("dangling.test")
    gone, mx1 = result.hosts
    assert (gone.name, gone.dns_error, gone.addresses) == ("gone.example.test", "NXDOMAIN", ())
    assert mx1.addresses


async def test_partial_failure_keeps_addresses_with_a_warning(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server, timeout=1.0).resolve_mx("slowv6.test")
    host = result.hosts[0]
    assert host.addresses == ("127.0.0.7",)
    assert host.dns_error is None
    assert host.dns_warnings == ("AAAA: timeout",)


async def test_large_answer_falls_back_to_tcp(dns_server: FakeDnsServer) -> None:
    host = await _resolver(dns_server).resolve_addresses("many.test", preference=None)
    assert host.addresses == tuple(f"127.0.1.{n}" for n in range(40, 0, -1))  # as answered
    assert host.dns_warnings == ()  # which ones are probed is the engine's business
    assert ("tcp", "many.test", "A") in dns_server.queries


async def test_a_thousand_addresses_keep_dns_order_with_both_families_in_turn(
    dns_server: FakeDnsServer,
) -> None:
    host = await _resolver(dns_server).resolve_addresses("wide.test", preference=None)
    v4 = [f"127.{n // 250}.{n % 250}.9" for n in range(1000)]
    v6 = [f"fd00::{n:x}" for n in range(9, 0, -1)] + ["::1"]
    assert host.addresses[:20] == tuple(x for pair in zip(v4, v6, strict=False) for x in pair)
    assert host.addresses[20:] == tuple(v4[10:])
    assert len(host.addresses) == 1010 and host.dns_warnings == ()


async def test_mx_lookup_through_cname(dns_server: FakeDnsServer) -> None:
    result = await _resolver(dns_server).resolve_mx("alias.test")
    assert result.cname_chain == ("alias.test", "example.test")
    assert len(result.hosts) == 3


async def test_host_mode(dns_server: FakeDnsServer) -> None:
    resolver = _resolver(dns_server)
    by_name = await resolver.resolve_host("mx1.example.test")
    assert by_name.source is MxSource.HOST
    assert by_name.hosts[0].addresses == ("127.0.0.2", "::1", "127.0.0.3")
    assert not any(q[1] == "mx1.example.test" and q[2] == "MX" for q in dns_server.queries)
    literal = await resolver.resolve_host("127.0.0.9")
    assert literal.hosts[0].addresses == ("127.0.0.9",)


def test_parse_nameserver() -> None:
    assert parse_nameserver("127.0.0.1") == Nameserver("127.0.0.1", 53)
    assert parse_nameserver("127.0.0.1:5353") == Nameserver("127.0.0.1", 5353)
    assert parse_nameserver("::1") == Nameserver("::1", 53)
    assert parse_nameserver("[::1]:5353") == Nameserver("::1", 5353)
    assert str(Nameserver("::1", 5353)) == "[::1]:5353"
    for bad in ("localhost", "1.2.3.4:99999", "1.2.3.4:x", "[::1]x", ""):
        with pytest.raises(ValueError, match="expected IP or IP:PORT"):
            parse_nameserver(bad)
    assert parse_nameservers(["127.0.0.1:53,127.0.0.2"]) == (
        Nameserver("127.0.0.1", 53),
        Nameserver("127.0.0.2", 53),
    )
    assert ProbeSettings.from_env({"MAILFLOW_NAMESERVERS": "127.0.0.1:5300"}).nameservers == (
        Nameserver("127.0.0.1", 5300),
    )
    with pytest.raises(ValueError, match="MAILFLOW_NAMESERVERS"):
        ProbeSettings.from_env({"MAILFLOW_NAMESERVERS": "bogus"})
