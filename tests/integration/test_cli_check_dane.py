"""DANE end to end on loopback: zones signed at test time (bind9-utils), served by knotd,
validated by unbound (the AD-bit path, `--dnssec-resolver`) and by mailflow itself from the test
zone's trust anchor (`--trust-anchor`), against SMTP servers whose certificates do and do not
match their TLSA records."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.dnssec
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives import serialization

from tests.fakes.certs import Issued
from tests.fakes.signed_dns import (
    KnotServer,
    SignedZone,
    UnboundResolver,
    dns_tools_unavailable,
    sign_zone,
    write_unsigned,
)
from tests.fakes.smtp_servers import AiosmtpdServer, free_common_port, server_context
from tests.integration.conftest import Pki
from tests.integration.test_cli_check_scenarios import Doc, check_json

pytestmark = pytest.mark.skipif(
    dns_tools_unavailable() is not None, reason=dns_tools_unavailable() or ""
)


def spki_sha256(issued: Issued) -> str:
    spki = issued.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


@dataclass
class Host:
    name: str  # relative to dane.test or plain.test
    ip: str
    leaf: Issued
    with_chain: bool = True


@dataclass
class Lab:
    port: int
    hosts: list[Host]
    zones: list[SignedZone]
    stubs: dict[str, str]


def _ds(child: SignedZone) -> str:
    tokens = child.anchor.split()
    key = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, " ".join(tokens[3:]))
    return dns.dnssec.make_ds(f"{child.origin}.", key, "SHA256").to_text()


def build(pki: Pki, directory: Path) -> Lab:
    f, inter = pki.factory, pki.intermediate

    def leaf(name: str, index: int) -> Issued:
        return f.leaf(inter, [name], index=index)

    ee, other = leaf("mx.ee.dane.test", 60), leaf("mx.ee.dane.test", 61)
    hosts = [
        Host("mx.ee.dane.test", "127.0.12.1", ee),
        Host("mx.ee.dane.test", "127.0.12.2", other),  # renewed with a new key, record missing
        Host("mx.ta.dane.test", "127.0.12.3", leaf("mx.ta.dane.test", 62)),
        Host("mx.full.dane.test", "127.0.12.4", leaf("mx.full.dane.test", 63)),
        Host("mx.roll.dane.test", "127.0.12.5", leaf("mx.roll.dane.test", 64)),
        Host("mx.bogus.dane.test", "127.0.12.6", leaf("mx.bogus.dane.test", 65)),
        Host("real.cname.dane.test", "127.0.12.7", leaf("mx.cname.dane.test", 66)),
        Host("mx.child.dane.test", "127.0.12.8", leaf("mx.child.dane.test", 67)),
        Host("mx.plain.test", "127.0.12.9", leaf("mx.plain.test", 68)),
        Host("mx.pkix.dane.test", "127.0.12.10", leaf("mx.pkix.dane.test", 69)),
        Host("mx.insec.dane.test", "127.0.12.11", leaf("mx.insec.dane.test", 70)),
        Host("mx.stripped.dane.test", "127.0.12.12", leaf("mx.stripped.dane.test", 71)),
        Host("mx.insec.n3.test", "127.0.12.13", leaf("mx.insec.n3.test", 72)),
    ]
    port = free_common_port([h.ip for h in hosts])
    by_ip = {h.ip: h for h in hosts}
    t = f"_{port}._tcp"
    ta, full, roll = by_ip["127.0.12.3"], by_ip["127.0.12.4"], by_ip["127.0.12.5"]
    child = sign_zone(directory / "child", "child.dane.test", [
        "@ IN MX 10 mx", "mx IN A 127.0.12.8",
        f"{t}.mx IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.8'].leaf)}",
    ])  # fmt: skip
    insec = write_unsigned(directory / "insec", "insec.dane.test", [
        "@ IN MX 10 mx", "mx IN A 127.0.12.11",
        f"{t}.mx IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.11'].leaf)}",
    ])  # fmt: skip
    records = [
        "ee IN MX 10 mx.ee", "mx.ee IN A 127.0.12.1", "mx.ee IN A 127.0.12.2",
        f"{t}.mx.ee IN TLSA 3 1 1 {spki_sha256(ee)}",
        "ta IN MX 10 mx.ta", "mx.ta IN A 127.0.12.3",
        f"{t}.mx.ta IN TLSA 2 1 1 {spki_sha256(inter)}",
        "full IN MX 10 mx.full", "mx.full IN A 127.0.12.4",
        f"{t}.mx.full IN TLSA 3 0 1 {hashlib.sha256(full.leaf.der).hexdigest()}",
        "roll IN MX 10 mx.roll", "mx.roll IN A 127.0.12.5",
        f"{t}.mx.roll IN TLSA 3 1 1 {spki_sha256(roll.leaf)}",
        f"{t}.mx.roll IN TLSA 3 1 1 {spki_sha256(other)}",
        "bogus IN MX 10 mx.bogus", "mx.bogus IN A 127.0.12.6",
        f"{t}.mx.bogus IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.6'].leaf)}",
        "cname IN MX 10 mx.cname", "mx.cname IN CNAME real.cname", "real.cname IN A 127.0.12.7",
        f"{t}.real.cname IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.7'].leaf)}",
        "pkix IN MX 10 mx.pkix", "mx.pkix IN A 127.0.12.10",
        f"{t}.mx.pkix IN TLSA 1 1 1 {spki_sha256(by_ip['127.0.12.10'].leaf)}",
        "stripped IN MX 10 mx.stripped", "mx.stripped IN A 127.0.12.12",
        f"{t}.mx.stripped IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.12'].leaf)}",
        "child IN NS ns", f"child IN DS {_ds(child)}",
        "insec IN NS ns",
    ]  # fmt: skip
    parent = sign_zone(directory / "parent", "dane.test", records,
                       corrupt=[(f"{t}.mx.bogus", "TLSA")],
                       strip=[(f"{t}.mx.stripped", "TLSA")])  # fmt: skip
    n3_child = write_unsigned(directory / "n3child", "insec.n3.test", [
        "@ IN MX 10 mx", "mx IN A 127.0.12.13",
        f"{t}.mx IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.13'].leaf)}",
    ])  # fmt: skip
    n3 = sign_zone(directory / "n3", "n3.test", ["insec IN NS ns", "www IN A 127.0.12.99"],
                   nsec3_opt_out=True)  # fmt: skip
    plain = write_unsigned(directory / "plain", "plain.test", [
        "@ IN MX 10 mx", "mx IN A 127.0.12.9",
        f"{t}.mx IN TLSA 3 1 1 {spki_sha256(by_ip['127.0.12.9'].leaf)}",
    ])  # fmt: skip
    _ = ta
    return Lab(port, hosts, [parent, child, insec, plain, n3, n3_child], {})


EXPECTED = {
    "ee.dane.test": {"dane.mismatch"},
    "ta.dane.test": {"dane.ok"},
    "full.dane.test": {"dane.ok", "dane.rollover_incomplete"},
    "roll.dane.test": {"dane.ok"},
    "bogus.dane.test": {"dane.bogus"},
    "stripped.dane.test": {"dane.bogus"},  # signatures removed in a signed zone
    "cname.dane.test": {"dane.ok", "dane.rollover_incomplete"},
    "child.dane.test": {"dane.ok", "dane.rollover_incomplete"},
    "insec.dane.test": {"dane.unsigned"},
    "plain.test": {"dane.unsigned"},
    "pkix.dane.test": {"dane.usage_unsuitable"},
    "insec.n3.test": {"dane.unsigned"},  # insecure delegation proven by NSEC3 opt-out
}


def dane_ids(doc: Doc) -> set[str]:
    return {f["id"] for f in doc["findings"] if f["id"].startswith("dane.")}


def finding(doc: Doc, finding_id: str) -> dict[str, Any]:
    (found,) = [f for f in doc["findings"] if f["id"] == finding_id]
    return dict(found)


def _servers(lab: Lab, tmp_path: Path) -> Iterator[AiosmtpdServer]:
    for n, host in enumerate(lab.hosts):
        context = server_context(host.leaf, tmp_path / "tls", f"h{n}")
        yield AiosmtpdServer(context, host.ip, hostname=host.name, port=lab.port)


@pytest.mark.parametrize("mode", ["resolver", "own"])
async def test_dane_per_mx_and_per_address(
    pki: Pki, tmp_path: Path, ca_file: Path, mode: str
) -> None:
    lab = build(pki, tmp_path / "zones")
    anchor = tmp_path / "anchor.key"
    anchors = [z.anchor for z in lab.zones if z.anchor and z.origin in ("dane.test", "n3.test")]
    anchor.write_text("\n".join(anchors) + "\n")
    servers = list(_servers(lab, tmp_path))
    async with KnotServer(tmp_path / "knot", lab.zones) as knot:
        stubs = {z.origin: f"127.0.0.1@{knot.port}" for z in lab.zones}
        unbound = UnboundResolver(tmp_path / "unbound", stubs, anchors,
                                  insecure=["plain.test"])  # fmt: skip
        async with unbound:
            for server in servers:
                await server.__aenter__()
            try:
                if mode == "resolver":
                    dns_args = ["--nameserver", unbound.address, "--dnssec-resolver",
                                unbound.address]  # fmt: skip
                else:
                    dns_args = ["--nameserver", knot.address, "--trust-anchor", str(anchor)]
                common = [*dns_args, "--allow-net", "127.0.0.0/8", "--port", str(lab.port),
                          "--ca-file", str(ca_file), "--attempts", "1"]  # fmt: skip
                results = await asyncio.gather(
                    *(check_json(domain, *common, policies=True) for domain in EXPECTED)
                )
            finally:
                for server in servers:
                    await server.__aexit__(None, None, None)
    docs = {domain: doc for domain, (_, doc) in zip(EXPECTED, results, strict=True)}
    assert {d: dane_ids(doc) for d, doc in docs.items()} == EXPECTED

    validation = docs["ee.dane.test"]["policies"]["dnssec_validation"]
    assert ("AD bit" in validation) == (mode == "resolver")
    mismatch = finding(docs["ee.dane.test"], "dane.mismatch")
    assert mismatch["ip"] == "127.0.12.2"
    other = next(h for h in lab.hosts if h.ip == "127.0.12.2")
    assert mismatch["fields"]["expected_record"] == f"3 1 1 {spki_sha256(other.leaf)}"
    attempts = {a["ip"]: a["dane"] for a in docs["ee.dane.test"]["mx"][0]["attempts"]}
    assert attempts == {"127.0.12.1": "match", "127.0.12.2": "mismatch"}
    assert docs["ee.dane.test"]["policies"]["mx"]["dnssec"] == "secure"
    cname = docs["cname.dane.test"]["policies"]["tlsa"][0]
    assert cname["tried"][0] == f"_{lab.port}._tcp.real.cname.dane.test"
    assert docs["plain.test"]["policies"]["tlsa"][0]["dnssec"] == "insecure"
    assert finding(docs["bogus.dane.test"], "dane.bogus")["severity"] == "error"
    n3 = docs["insec.n3.test"]["policies"]["tlsa"][0]
    assert n3["dnssec"] == "insecure"
    if mode == "own":  # proven from the signed parent's NSEC3 opt-out record, not assumed
        assert n3["detail"] == "insec.n3.test has no DS: unsigned"
        stripped = docs["stripped.dane.test"]["policies"]["tlsa"][0]["detail"]
        assert stripped == "unsigned answer from the signed zone dane.test"
