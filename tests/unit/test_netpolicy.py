"""NetPolicy: every non-public range is refused unless explicitly allowed."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

import pytest

from bot.probe.netpolicy import (
    NetPolicy,
    embedded_ipv4,
    parse_allow_nets,
    parse_cidr,
)
from bot.settings import ProbeSettings

BLOCKED = {
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "10.0.0.1": "RFC 1918",
    "172.16.5.4": "RFC 1918",
    "172.31.255.255": "RFC 1918",
    "192.168.1.1": "RFC 1918",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "127.0.0.1": "loopback",
    "127.0.0.5": "loopback",
    "169.254.169.254": "metadata",
    "169.254.1.1": "link-local",
    "192.0.0.8": "IETF",
    "192.0.2.10": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.5": "documentation",
    "198.18.0.1": "benchmarking",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fc00::1": "unique local",
    "fd12:3456::1": "unique local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::25": "documentation",
    "2001::1": "IETF",  # Teredo
    "100::1": "discard",
    "64:ff9b:1::a": "NAT64",
    "::ffff:10.0.0.1": "RFC 1918",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "metadata",
    "::10.0.0.1": "RFC 1918",  # IPv4-compatible (deprecated)
    "2002:a00:1::1": "RFC 1918",  # 6to4 embedding 10.0.0.1
    "2002:7f00:1::1": "loopback",
    "64:ff9b::a9fe:a9fe": "metadata",  # NAT64 of 169.254.169.254
    "5f00::1": "reserved",
    "4000::1": "reserved",
}

PUBLIC = [
    "8.8.8.8",
    "40.92.0.1",
    "52.101.1.1",
    "1.1.1.1",
    "2a01:111:f400::1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "100.128.0.1",
    "172.32.0.1",
    "11.0.0.1",
]


@pytest.mark.parametrize(("ip", "words"), sorted(BLOCKED.items()))
def test_blocked_by_default(ip: str, words: str) -> None:
    reason = NetPolicy().blocked_reason(ip)
    assert reason is not None
    assert words in reason


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_pass(ip: str) -> None:
    assert NetPolicy().blocked_reason(ip) is None


def test_allow_list_opens_only_its_range() -> None:
    policy = NetPolicy(parse_allow_nets(["127.0.0.0/24", "fd00::/8"]))
    assert policy.allows("127.0.0.2")
    assert policy.allows("::ffff:127.0.0.9")  # the embedded address is allowed
    assert policy.allows("fd00::25")
    assert not policy.allows("127.0.1.1")
    assert not policy.allows("10.0.0.1")
    assert not policy.allows("::1")


def test_embedded_ipv4() -> None:
    assert str(embedded_ipv4(ip_address("::ffff:10.1.2.3"))) == "10.1.2.3"
    assert str(embedded_ipv4(ip_address("2002:a01:203::"))) == "10.1.2.3"
    assert str(embedded_ipv4(ip_address("64:ff9b::a01:203"))) == "10.1.2.3"
    assert embedded_ipv4(ip_address("::1")) is None
    assert embedded_ipv4(ip_address("10.1.2.3")) is None


def test_not_an_ip() -> None:
    assert NetPolicy().blocked_reason("mail.contoso.com") == "not an IP address"


def test_parse_cidr() -> None:
    assert parse_cidr(" 127.0.0.0/8 ") == IPv4Network("127.0.0.0/8")
    assert parse_cidr("127.0.0.1/8") == IPv4Network("127.0.0.0/8")
    assert parse_cidr("::1") == IPv6Network("::1/128")
    with pytest.raises(ValueError, match="expected a CIDR"):
        parse_cidr("127.0.0.0/33")
    with pytest.raises(ValueError, match="expected a CIDR"):
        parse_cidr("localhost")


def test_env_list() -> None:
    env = {"MAILFLOW_ALLOW_NETS": "127.0.0.0/8, ::1/128,"}
    allowed = ProbeSettings.from_env(env).allow_nets
    assert allowed == (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))
    assert ProbeSettings.from_env({}).allow_nets == ()
    with pytest.raises(ValueError, match="MAILFLOW_ALLOW_NETS"):
        ProbeSettings.from_env({"MAILFLOW_ALLOW_NETS": "nonsense"})
