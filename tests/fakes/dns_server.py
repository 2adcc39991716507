"""A real DNS server on loopback (UDP and TCP on one port) speaking the wire protocol through
dnspython's message functions. Zone data is a dict; behaviours are strings.

    zone = {
        "example.test": {"MX": ["10 mx1.example.test", "20 mx2.example.test"]},
        "mx1.example.test": {"A": ["127.0.0.2"], "AAAA": "HANG"},
        "alias.example.test": {"CNAME": ["mx1.example.test"]},
        "null.test": {"MX": ["0 ."]},
        "broken.test": "SERVFAIL",
    }

A name's value, or one type's value, may be "SERVFAIL", "REFUSED", "NXDOMAIN" or "HANG" (no
answer at all). Unknown names are NXDOMAIN; known names without the type are NOERROR/no data.
CNAMEs are followed inside the zone like a recursive resolver would, with the CNAME records in
the answer. UDP answers larger than the client's limit are truncated (TC) so the client
retries over TCP. Records are answered in zone order (like BIND's `rrset-order fixed`), not
shuffled, so that tests can tell whether the probe keeps the order it was given.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping, Sequence
from typing import Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.fakes.lifecycle import LoopbackService, close_server

ZoneValue = Mapping[str, Sequence[str] | str] | str
Zone = Mapping[str, ZoneValue]
BEHAVIOURS = {"SERVFAIL": dns.rcode.SERVFAIL, "REFUSED": dns.rcode.REFUSED}
_MAX_CNAME_HOPS = 8
_TTL = 60


class FakeDnsServer(LoopbackService):
    def __init__(self, zone: Zone, host: str = "127.0.0.1") -> None:
        self.zone: dict[str, ZoneValue] = {_key(k): v for k, v in zone.items()}
        self.host = host
        self.port = 0
        self.queries: list[tuple[str, str, str]] = []  # (transport, name, type)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_clients: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        """The `--nameserver` / MAILFLOW_NAMESERVERS form: IP:PORT."""
        return f"{self.host}:{self.port}"

    def set(self, name: str, value: ZoneValue) -> None:
        self.zone[_key(name)] = value

    async def start(self) -> Self:
        loop = asyncio.get_running_loop()
        for _ in range(50):  # UDP and TCP must share one OS-chosen port
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, 0)
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                transport.close()
                continue
            self._udp, self.port = transport, port
            return self
        raise RuntimeError("no free port for the fake DNS server")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        await close_server(self._tcp, self._tcp_clients)

    # --- answering -----------------------------------------------------------------------

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        """The wire-format response to one query, or None to stay silent (HANG)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        qname, qtype = question.name, dns.rdatatype.RdataType(question.rdtype)
        self.queries.append(
            (transport, qname.to_text(omit_final_dot=True), dns.rdatatype.to_text(qtype))
        )
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if not self._fill(response, qname, qtype):
            return None
        limit = 65535 if transport == "tcp" else (query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit, want_shuffle=False)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | dns.flags.RA
            return truncated.to_wire()

    def _fill(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> bool:
        name = qname
        for _ in range(_MAX_CNAME_HOPS):
            node = self.zone.get(_key(name.to_text()))
            if node is None or node == "NXDOMAIN":
                response.set_rcode(dns.rcode.NXDOMAIN)
                return True
            if isinstance(node, str):
                return self._behave(response, node)
            type_name = dns.rdatatype.to_text(qtype)
            if type_name in node:
                value = node[type_name]
                if isinstance(value, str):
                    return self._behave(response, value)
                response.answer.append(_rrset(name, qtype, value))
                return True
            cname = node.get("CNAME")
            if cname is None or isinstance(cname, str):
                return True  # NOERROR, no data
            response.answer.append(_rrset(name, dns.rdatatype.CNAME, cname))
            name = dns.name.from_text(cname[0])
        response.set_rcode(dns.rcode.SERVFAIL)  # CNAME loop
        return True

    @staticmethod
    def _behave(response: dns.message.Message, behaviour: str) -> bool:
        if behaviour == "HANG":
            return False
        if behaviour == "NXDOMAIN":
            response.set_rcode(dns.rcode.NXDOMAIN)
            return True
        response.set_rcode(BEHAVIOURS[behaviour])
        return True

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tcp_clients.add(task)
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = self.answer(await reader.readexactly(length), "tcp")
                if reply is None:
                    await reader.read()  # HANG: keep the connection open, say nothing
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tcp_clients.discard(task)
            writer.transport.abort()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.server.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def _key(name: str) -> str:
    return name.lower().rstrip(".")


def _rrset(
    name: dns.name.Name, rdtype: dns.rdatatype.RdataType, values: Sequence[str]
) -> dns.rrset.RRset:
    rdatas = [
        dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, value, origin=dns.name.root, relativize=False
        )
        for value in values
    ]
    return dns.rrset.from_rdata_list(name, _TTL, rdatas)
