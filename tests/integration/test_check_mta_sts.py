"""MTA-STS and TLS-RPT end to end on loopback: policies served over HTTPS with test-time
certificates, fetched through the probe's address policy, judged against the MX hosts and the
certificates they present."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.check import CheckReport, run_check
from bot.core.domain import normalise_target
from bot.probe.engine import CheckRequest
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from tests.fakes.certs import Issued
from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.https_server import HttpsServer, Policy
from tests.fakes.smtp_servers import AiosmtpdServer, free_common_port, server_context
from tests.integration.conftest import Pki

WEB, WEB_WRONG = "127.0.13.100", "127.0.13.101"


def policy(mode: str, *mx: str) -> Policy:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {m}" for m in mx), "max_age: 86400"]
    return Policy("\r\n".join(lines) + "\r\n")


@dataclass
class Domain:
    name: str
    mx: list[tuple[str, str]]  # (host, ip)
    policy: Policy | None
    web: str = WEB
    cert_names: tuple[str, ...] | None = None  # the MX certificate's names (default: its own)
    record: str = "v=STSv1; id=20260101"
    tlsrpt: str | None = None


DOMAINS = [
    Domain("ok.sts.test", [("mx.ok.sts.test", "127.0.13.1")],
           policy("enforce", "mx.ok.sts.test"), tlsrpt="v=TLSRPTv1; rua=mailto:r@ok.sts.test"),
    Domain("testing.sts.test", [("mx.testing.sts.test", "127.0.13.2")],
           policy("testing", "*.other.test")),
    Domain("missing.sts.test", [("mx1.missing.sts.test", "127.0.13.3"),
                                ("mx2.missing.sts.test", "127.0.13.4")],
           policy("enforce", "mx1.missing.sts.test")),
    Domain("wild.sts.test", [("mx.wild.sts.test", "127.0.13.5")], policy("enforce", "*.sts.test")),
    Domain("redirect.sts.test", [("mx.redirect.sts.test", "127.0.13.6")],
           Policy(status=301, location="https://mta-sts.ok.sts.test/.well-known/mta-sts.txt")),
    Domain("big.sts.test", [("mx.big.sts.test", "127.0.13.7")],
           Policy(stream_bytes=10 * 1024 * 1024)),
    Domain("blocked.sts.test", [("mx.blocked.sts.test", "127.0.13.8")],
           policy("enforce", "mx.blocked.sts.test"), web="10.0.0.1"),
    Domain("badcert.sts.test", [("mx.badcert.sts.test", "127.0.13.9")],
           policy("enforce", "mx.badcert.sts.test"), cert_names=("exch01.corp.test",)),
    Domain("webpki.sts.test", [("mx.webpki.sts.test", "127.0.13.10")],
           policy("enforce", "mx.webpki.sts.test"), web=WEB_WRONG),
    Domain("none.sts.test", [("mx.none.sts.test", "127.0.13.11")], policy("none")),
    Domain("badrecord.sts.test", [("mx.badrecord.sts.test", "127.0.13.12")],
           policy("enforce", "mx.badrecord.sts.test"), record="v=STSv1; id=not valid!",
           tlsrpt="v=TLSRPTv1; rua=ftp://x"),
]  # fmt: skip

EXPECTED = {
    "ok.sts.test": {"mtasts.ok", "tlsrpt.ok"},
    "testing.sts.test": {"mtasts.mx_not_in_policy:warning", "tlsrpt.none"},
    "missing.sts.test": {"mtasts.mx_not_in_policy:error", "tlsrpt.none"},
    "wild.sts.test": {"mtasts.mx_not_in_policy:error", "tlsrpt.none"},  # * is one label only
    "redirect.sts.test": {"mtasts.policy_unreachable", "tlsrpt.none"},
    "big.sts.test": {"mtasts.policy_invalid", "tlsrpt.none"},
    "blocked.sts.test": {"mtasts.policy_unreachable", "tlsrpt.none"},
    "badcert.sts.test": {"mtasts.certificate_invalid:error", "tlsrpt.none"},
    "webpki.sts.test": {"mtasts.policy_unreachable", "tlsrpt.none"},
    "none.sts.test": {"mtasts.ok", "tlsrpt.none"},
    "badrecord.sts.test": {"mtasts.record_invalid", "tlsrpt.invalid"},
}
_SEVERITY_SHOWN = {"mtasts.mx_not_in_policy", "mtasts.certificate_invalid"}


def zone() -> Zone:
    records: dict[str, dict[str, list[str]]] = {}
    for d in DOMAINS:
        records[d.name] = {"MX": [f"10 {h}" for h, _ in d.mx]}
        records[f"_mta-sts.{d.name}"] = {"TXT": [f'"{d.record}"']}
        records[f"mta-sts.{d.name}"] = {"A": [d.web]}
        if d.tlsrpt:
            records[f"_smtp._tls.{d.name}"] = {"TXT": [f'"{d.tlsrpt}"']}
        for host, ip in d.mx:
            records[host] = {"A": [ip]}
    return dict(records)


def _smtp(pki: Pki, tmp_path: Path, port: int) -> Iterator[AiosmtpdServer]:
    for n, d in enumerate(DOMAINS):
        for m, (host, ip) in enumerate(d.mx):
            names = list(d.cert_names or (host,))
            leaf: Issued = pki.factory.leaf(pki.intermediate, names, index=100 + n * 4 + m)
            yield AiosmtpdServer(server_context(leaf, tmp_path, f"s{n}-{m}"), ip, host, port)


def ids(report: CheckReport) -> set[str]:
    return {
        f"{f.id}:{f.severity.value}" if f.id in _SEVERITY_SHOWN else f.id
        for f in report.findings
        if f.id.startswith(("mtasts.", "tlsrpt."))
    }


async def test_mta_sts_and_tls_rpt(pki: Pki, tmp_path: Path, ca_file: Path) -> None:
    smtp_ips = [ip for d in DOMAINS for _, ip in d.mx]
    smtp_port = free_common_port(smtp_ips)
    web_port = free_common_port([WEB, WEB_WRONG])
    names = [f"mta-sts.{d.name}" for d in DOMAINS if d.web == WEB]
    good_web = pki.factory.leaf(pki.intermediate, names, index=90)
    wrong_web = pki.factory.leaf(pki.intermediate, ["www.elsewhere.test"], index=91)
    policies = {f"mta-sts.{d.name}": d.policy for d in DOMAINS if d.policy is not None}
    servers = list(_smtp(pki, tmp_path, smtp_port))
    reports: dict[str, CheckReport] = {}
    async with (
        FakeDnsServer(zone()) as dns,
        HttpsServer(server_context(good_web, tmp_path, "web"), policies, WEB, web_port) as web,
        HttpsServer(server_context(wrong_web, tmp_path, "wrong"), policies, WEB_WRONG, web_port),
    ):
        for server in servers:
            await server.__aenter__()
        try:
            for d in DOMAINS:
                request = CheckRequest(
                    target=normalise_target(d.name), port=smtp_port, attempts=1,
                    nameservers=(parse_nameserver(dns.address),),
                    allow_nets=parse_allow_nets(["127.0.0.0/8"]),
                    ca_file=ca_file, https_port=web_port, step_timeout=5, deadline=30,
                )  # fmt: skip
                reports[d.name] = await run_check(request, ca_file=ca_file)
        finally:
            for server in servers:
                await server.__aexit__(None, None, None)
    assert {name: ids(r) for name, r in reports.items()} == EXPECTED
    assert "mta-sts.blocked.sts.test" not in web.requests  # a blocked address is never touched
    by_id = {f.id: f for f in reports["redirect.sts.test"].findings}
    assert "redirect" in by_id["mtasts.policy_unreachable"].summary
    assert reports["redirect.sts.test"].evidence.policies is not None
    big = {f.id: f for f in reports["big.sts.test"].findings}["mtasts.policy_invalid"]
    assert "64 KiB" in big.summary
    webpki = {f.id: f for f in reports["webpki.sts.test"].findings}["mtasts.policy_unreachable"]
    assert "certificate" in webpki.summary
    missing = [f for f in reports["missing.sts.test"].findings if f.id == "mtasts.mx_not_in_policy"]
    assert [f.host for f in missing] == ["mx2.missing.sts.test"]
    assert "mx: mx2.missing.sts.test" in missing[0].fixes[0].title
