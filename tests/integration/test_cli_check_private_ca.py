"""Private CA or missing intermediate? `mailflow check` against loopback servers presenting
chains of a private two-tier PKI (the test PKI: no AIA) and of a CA whose certificates name
their issuer's download address (AIA), with and without `--ca-file`. Exact finding ids."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.fakes.certs import Issued
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import AiosmtpdServer
from tests.integration.conftest import Pki
from tests.integration.test_cli_check_scenarios import Doc, check_json, finding, ids, net

ROOT_CN = "CN=Mailflow Test Root CA, O=Mailflow Test, C=US"
ISSUING_CN = "CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US"


def presenting(directory: Path, name: str, leaf: Issued, *others: Issued) -> ssl.SSLContext:
    """A server context that sends exactly `leaf` then `others`, in that order."""
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(b"".join(c.pem for c in (leaf, *others)))
    key_path.write_bytes(leaf.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


async def check(context: ssl.SSLContext, ip: str, *extra: str) -> tuple[int, Doc]:
    async with (
        FakeDnsServer({"mx.example.test": {"A": [ip]}}) as dns,
        AiosmtpdServer(context, ip) as smtp,
    ):
        return await check_json("--host", "mx.example.test", *net(dns, smtp.port), *extra)


def fix_titles(doc: Doc, finding_id: str) -> str:
    return " ".join(fix["title"] for fix in finding(doc, finding_id)["fixes"])


@pytest.mark.parametrize("root_sent", [False, True], ids=["leaf+issuing", "leaf+issuing+root"])
async def test_complete_private_chain_is_untrusted_not_incomplete(
    pki: Pki, tmp_path: Path, ca_file: Path, root_sent: bool
) -> None:
    chain = (pki.intermediate, pki.root) if root_sent else (pki.intermediate,)
    context = presenting(tmp_path, "private", pki.leaf, *chain)
    code, doc = await check(context, "127.0.8.11")
    trusted_code, trusted = await check(context, "127.0.8.11", "--ca-file", str(ca_file))
    assert code == 1
    assert ids(doc) == ["cert.untrusted"]
    untrusted = finding(doc, "cert.untrusted")
    shown = ROOT_CN if root_sent else ISSUING_CN
    assert shown in untrusted["summary"] and "not a trusted root" in untrusted["summary"]
    assert "--ca-file" in fix_titles(doc, "cert.untrusted")  # the internal-relay case
    assert any("New-ExchangeCertificate" in (f["powershell"] or "") for f in untrusted["fixes"])
    assert (trusted_code, ids(trusted)) == (0, [])


async def test_leaf_only_of_a_private_ca(pki: Pki, tmp_path: Path, ca_file: Path) -> None:
    """Without the CA file nothing tells the issuer apart from a private root (no AIA): the
    root is unknown. With it the roots are known, so the issuing CA is a missing link."""
    context = presenting(tmp_path, "bare", pki.leaf)
    code, doc = await check(context, "127.0.8.12")
    with_ca = await check(context, "127.0.8.12", "--ca-file", str(ca_file))
    assert (code, ids(doc)) == (1, ["cert.untrusted"])
    assert ISSUING_CN in finding(doc, "cert.untrusted")["summary"]
    assert (with_ca[0], ids(with_ca[1])) == (1, ["cert.chain_incomplete"])
    assert ISSUING_CN in finding(with_ca[1], "cert.chain_incomplete")["summary"]


async def test_leaf_naming_its_issuer_by_aia_is_a_missing_intermediate(
    pki: Pki, tmp_path: Path
) -> None:
    """The usual public-CA mistake: only the leaf is sent, and it names where its issuer can
    be downloaded. No CA file: the store is the public one."""
    url = "http://ca.example.test/issuing.cer"
    leaf = pki.factory.leaf(pki.intermediate, ["mx.example.test"], ca_issuers=[url], index=60)
    code, doc = await check(presenting(tmp_path, "aia", leaf), "127.0.8.13")
    assert (code, ids(doc)) == (1, ["cert.chain_incomplete"])
    incomplete = finding(doc, "cert.chain_incomplete")
    assert ISSUING_CN in incomplete["summary"]
    assert incomplete["fields"]["issuer_url"] == [url]
    assert url in incomplete["explanation"]
    assert doc["mx"][0]["attempts"][0]["chain"][0]["ca_issuers"] == [url]


@pytest.mark.parametrize(
    ("aia", "root_sent"),
    [(["ldap:///CN=Contoso-Issuing,CN=AIA,DC=contoso,DC=com?cACertificate"], False),
     (["http://ca.example.test/issuing.cer"], True)],
    ids=["active-directory-aia", "root-sent-without-issuing-ca"],
)  # fmt: skip
async def test_missing_link_of_a_private_ca_is_both(
    pki: Pki, tmp_path: Path, aia: list[str], root_sent: bool
) -> None:
    leaf = pki.factory.leaf(pki.intermediate, ["mx.example.test"], ca_issuers=aia, index=61)
    context = presenting(tmp_path, "both", leaf, *((pki.root,) if root_sent else ()))
    code, doc = await check(context, "127.0.8.14")
    assert code == 1
    assert sorted(ids(doc)) == ["cert.chain_incomplete", "cert.untrusted"]
    assert ISSUING_CN in finding(doc, "cert.chain_incomplete")["summary"]
    assert "not a trusted root" in finding(doc, "cert.untrusted")["summary"]
