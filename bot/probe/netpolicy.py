"""Which addresses the probe may connect to.

The bot must never become a scanner of private networks: every address a name resolves to is
checked here before any connection, and only public unicast addresses pass, unless an operator
allowed a network explicitly (`--allow-net CIDR`, `MAILFLOW_ALLOW_NETS`), as tests do for
127.0.0.0/8. Addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64)
are judged by the embedded address too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


_V4_BLOCKS: tuple[tuple[str, str], ...] = (
    ("255.255.255.255/32", "broadcast address"),
    ("0.0.0.0/8", "unspecified / 'this network' address"),
    ("10.0.0.0/8", "private address (RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT address (RFC 6598)"),
    ("127.0.0.0/8", "loopback address"),
    ("169.254.169.254/32", "link-local cloud metadata address"),
    ("169.254.0.0/16", "link-local address"),
    ("172.16.0.0/12", "private address (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignment (RFC 6890)"),
    ("192.0.2.0/24", "documentation address (RFC 5737)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private address (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking address (RFC 2544)"),
    ("198.51.100.0/24", "documentation address (RFC 5737)"),
    ("203.0.113.0/24", "documentation address (RFC 5737)"),
    ("224.0.0.0/4", "multicast address"),
    ("240.0.0.0/4", "reserved address"),
)
_V6_BLOCKS: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified address"),
    ("::1/128", "loopback address"),
    ("64:ff9b:1::/48", "local-use NAT64 address (RFC 8215)"),
    ("100::/64", "discard-only address (RFC 6666)"),
    ("2001::/23", "IETF protocol assignment (Teredo, ORCHID, ...)"),
    ("2001:db8::/32", "documentation address (RFC 3849)"),
    ("3fff::/20", "documentation address (RFC 9637)"),
    ("fc00::/7", "unique local address (fc00::/7)"),
    ("fe80::/10", "link-local address"),
    ("fec0::/10", "site-local address (deprecated)"),
    ("ff00::/8", "multicast address"),
)
_V4_TABLE = tuple((IPv4Network(cidr), why) for cidr, why in _V4_BLOCKS)
_V6_TABLE = tuple((IPv6Network(cidr), why) for cidr, why in _V6_BLOCKS)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")


class NetPolicy:
    """Deny-by-default for non-public addresses, with operator-allowed exceptions."""

    def __init__(self, allow: Sequence[Network] = ()) -> None:
        self.allow: tuple[Network, ...] = tuple(allow)

    def __repr__(self) -> str:
        return f"NetPolicy(allow={[str(net) for net in self.allow]})"

    def blocked_reason(self, ip: str | IPAddress) -> str | None:
        """None when `ip` may be probed, else a short reason such as 'loopback address'."""
        try:
            address = ip_address(ip) if isinstance(ip, str) else ip
        except ValueError:
            return "not an IP address"
        if isinstance(address, IPv6Address) and address.scope_id:
            address = IPv6Address(address.compressed.partition("%")[0])
        embedded = embedded_ipv4(address)
        if self._allowed(address) or (embedded is not None and self._allowed(embedded)):
            return None
        reason = _table_reason(address)
        if reason is not None:
            return reason
        if embedded is not None:
            inner = _table_reason(embedded)
            if inner is not None:
                return f"IPv6 address embedding a {inner} ({embedded})"
        return None

    def allows(self, ip: str | IPAddress) -> bool:
        return self.blocked_reason(ip) is None

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address carried inside an IPv4-mapped, IPv4-compatible, 6to4 or NAT64 address."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _table_reason(address: IPAddress) -> str | None:
    if isinstance(address, IPv4Address):
        return next((why for net, why in _V4_TABLE if address in net), None)
    if address.ipv4_mapped is not None or address in _NAT64 or address.sixtofour is not None:
        return None  # judged by the embedded IPv4 address
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return None
    reason = next((why for net, why in _V6_TABLE if address in net), None)
    if reason is None and address not in _GLOBAL_UNICAST_V6:
        return "reserved IPv6 address (outside 2000::/3)"
    return reason


def parse_cidr(text: str) -> Network:
    """Parse one `--allow-net` value ('127.0.0.0/8', '::1', '10.1.2.3/32'); clear ValueError."""
    value = text.strip()
    try:
        return ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"invalid network {value[:60]!r}: expected a CIDR such as 127.0.0.0/8 or ::1/128"
        ) from None


def parse_allow_nets(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse repeated `--allow-net` values; each may also hold a comma-separated list."""
    nets: list[Network] = []
    for value in values:
        nets.extend(parse_cidr(part) for part in value.split(",") if part.strip())
    return tuple(nets)
