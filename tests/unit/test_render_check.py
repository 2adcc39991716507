"""`mailflow check` output built from evidence through the real analysis: the terminal table
and findings, and the JSON contract (issue 3)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.check import CheckReport
from bot.core.certs import describe, trust_store_from
from bot.core.check.findings import judge
from bot.core.evidence import (
    AttemptEvidence,
    CheckEvidence,
    FailureKind,
    HostEvidence,
    MxSource,
    Step,
)
from bot.render import blocks
from bot.render.jsonout import check_to_json, dumps
from bot.render.text import render_check
from tests.fakes.certs import CertFactory

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
F = CertFactory(NOW)
ROOT = F.root_ca()
INTER = F.intermediate(ROOT)
HOST = "mail.contoso.com"
GOOD = F.leaf(INTER, [HOST], index=40)
OWN = F.self_signed("EXCH02", ["EXCH02"], index=41)
TRUST = trust_store_from([ROOT.cert], "test root")
ESC = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e"


def attempt(ip: str, n: int, chain: tuple[bytes, ...] = (), **kw: Any) -> AttemptEvidence:
    values: dict[str, Any] = {
        "host": HOST, "ip": ip, "port": 25, "attempt": n,
        "banner": "220 mail.contoso.com ESMTP", "banner_code": 220, "ehlo_code": 250,
        "ehlo_lines": ("PIPELINING", "STARTTLS"), "starttls_offered": True,
        "starttls_reply": "220 2.0.0 Ready", "tls_version": "TLSv1.3" if chain else None,
        "cipher": "TLS_AES_256_GCM_SHA384" if chain else None, "chain": chain,
        "chain_presented": len(chain),
        "timings_ms": {"connect": 1.0, "banner": 2.0, "ehlo": 1.0, "starttls": 1.0,
                       "handshake": 5.0, "quit": 1.0},
    }  # fmt: skip
    values.update(kw)
    return AttemptEvidence(**values)


def report(*hosts: HostEvidence, source: MxSource = MxSource.MX, **kw: Any) -> CheckReport:
    evidence = CheckEvidence(
        target="contoso.com", domain="contoso.com", source=source, hosts=hosts, **kw
    )
    judged = judge(evidence, trust=TRUST, now=NOW)
    return CheckReport(judged.evidence, judged.findings, judged.verdict, 12.0)


def mx(*attempts: AttemptEvidence, name: str = HOST, **kw: Any) -> HostEvidence:
    addresses = kw.pop("addresses", tuple(dict.fromkeys(a.ip for a in attempts)))
    return HostEvidence(name, 10, addresses=addresses, attempts=attempts, **kw)


def table_rows(text: str) -> dict[tuple[str, str], str]:
    """(address, try) -> verdict, from the table lines of the report."""
    rows: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[0].count(".") == 3 and cells[1].isdigit():
            rows[(cells[0], cells[1])] = cells[-1]
    return rows


def test_table_verdict_belongs_to_each_attempt_not_to_its_address() -> None:
    good, bad = (GOOD.der, INTER.der), (OWN.der,)
    text = render_check(report(mx(
        attempt("203.0.113.5", 1, good), attempt("203.0.113.5", 2, bad),
        attempt("203.0.113.6", 1, good),
        attempt("203.0.113.6", 2, failure=FailureKind.TIMEOUT, failed_step=Step.BANNER,
                error="no answer within 10 s (banner)", starttls_offered=None, ehlo_code=None),
    )))  # fmt: skip
    rows = table_rows(text)
    assert rows[("203.0.113.5", "1")] == "ok"
    assert rows[("203.0.113.5", "2")] in {"cert.self_signed", "cert.subject_mismatch"}
    assert rows[("203.0.113.6", "1")] == "ok"
    assert rows[("203.0.113.6", "2")] == "smtp.timeout"
    assert describe(OWN.der).sha1 in text and "CN=EXCH02, C=US" in text
    assert "ERROR cert.inconsistent  mail.contoso.com\n" in text


def test_remote_text_cannot_reach_the_terminal_raw() -> None:
    evil_leaf = F.leaf(INTER, [HOST], cn=f"mail{ESC}.contoso.com", index=42)
    text = render_check(report(mx(
        attempt("203.0.113.5", 1, (evil_leaf.der, INTER.der)),
        attempt("203.0.113.6", 1, banner=f"421 busy {ESC}", banner_code=421,
                failure=FailureKind.REJECTED, failed_step=Step.BANNER,
                error=f"421 busy {ESC}", starttls_offered=None, ehlo_code=None),
        name=f"mx{ESC}.contoso.com",
    )))  # fmt: skip
    assert not any(ch in text for ch in "\x1b\x07\u009b\u202e")
    assert "smtp.rejected" in text and "cert.subject_mismatch" in text


def test_host_labels_and_quiet_facts() -> None:
    implicit = render_check(report(mx(attempt("203.0.113.5", 1, (OWN.der,))),
                                   source=MxSource.IMPLICIT))  # fmt: skip
    assert f"implicit MX (no MX record) {HOST}: 1 address(es)" in implicit
    assert "Attempts: 1" not in implicit  # one occurrence is not a fact worth a line
    direct = render_check(report(
        HostEvidence("192.0.2.25", None, addresses=("192.0.2.25",), blocked=("192.0.2.25",),
                     blocked_reasons=("documentation address (RFC 5737)",)),
        source=MxSource.HOST,
    ))  # fmt: skip
    assert "host 192.0.2.25: 1 address(es)" in direct
    assert "ERROR target.blocked  192.0.2.25\n" in direct  # host and ip not repeated


def test_probe_notes_are_shown() -> None:
    text = render_check(report(
        mx(attempt("203.0.113.5", 1, failure=FailureKind.TIMEOUT, failed_step=Step.BANNER,
                   error="no answer within 10 s (banner)", starttls_offered=None, ehlo_code=None)),
        notes=("203.0.113.5: not tried again after a timeout",),
    ))  # fmt: skip
    assert "Notes:\n  203.0.113.5: not tried again after a timeout\n" in text


def test_cname_chain_of_an_mx_host_is_shown() -> None:
    text = render_check(report(mx(attempt("203.0.113.5", 1, (GOOD.der, INTER.der)),
                                  cname_chain=(HOST, "edge.contoso.net"))))  # fmt: skip
    assert f"MX 10 {HOST}: 1 address(es), via CNAME {HOST} -> edge.contoso.net" in text
    assert "No problems found" in text


def finding_of(doc: dict[str, Any], finding_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in doc["findings"] if f["id"] == finding_id)
    return found


def test_json_contract_and_evidence_per_attempt() -> None:
    doc = check_to_json(report(mx(
        attempt("203.0.113.5", 1, (GOOD.der, INTER.der)),
        attempt("203.0.113.7", 1, (OWN.der,)),
        addresses=("203.0.113.5", "203.0.113.7", "10.0.0.5"), blocked=("10.0.0.5",),
        blocked_reasons=("private address (RFC 1918)",), dns_warnings=("AAAA: timeout",),
    )))  # fmt: skip
    assert list(doc) == ["target", "mx", "findings", "policies", "elapsed_ms"]
    assert json.loads(dumps(doc)) == doc
    (host,) = doc["mx"]
    assert host["blocked_reasons"] == ["private address (RFC 1918)"]
    assert host["dns_warnings"] == ["AAAA: timeout"]
    assert finding_of(doc, "dns.lookup_failed")["severity"] == "warning"
    first = host["attempts"][0]
    for key in ("host", "ip", "attempt", "banner", "banner_code", "ehlo", "starttls_offered",
                "tls_version", "cipher", "chain", "chain_presented", "timings_ms"):  # fmt: skip
        assert first[key] not in (None, [], {}), key
    assert set(first["timings_ms"]) == {
        "connect",
        "banner",
        "ehlo",
        "starttls",
        "handshake",
        "quit",
    }
    leaf = first["chain"][0]
    expected = describe(GOOD.der)
    assert (
        leaf["subject"] == expected.subject
        and leaf["subject_windows"] == "CN=mail.contoso.com, C=US"
    )
    assert leaf["issuer"] == expected.issuer and leaf["issuer_windows"] == expected.issuer_windows
    assert leaf["sans"] == [HOST]
    assert leaf["not_before"] and leaf["not_after"] == expected.not_after.isoformat()
    assert leaf["thumbprint"] == expected.sha1 and len(leaf["thumbprint"]) == 40
    assert leaf["sha256"] == expected.sha256 and len(leaf["sha256"]) == 64
    assert (leaf["key_type"], leaf["key_bits"]) == ("EC", 256)
    assert leaf["signature_algorithm"] == "ecdsa-with-SHA256"
    assert leaf["self_signed"] is False
    assert host["attempts"][1]["chain"][0]["self_signed"] is True
    for finding in doc["findings"]:
        assert set(finding) == {
            "id",
            "severity",
            "host",
            "ip",
            "summary",
            "explanation",
            "fields",
            "fixes",
        }
    by_id = {f["id"]: f for f in doc["findings"]}
    assert by_id["cert.self_signed"]["host"] == HOST
    assert by_id["cert.self_signed"]["ip"] == "203.0.113.7"
    assert by_id["cert.inconsistent"]["ip"] is None
    assert by_id["target.blocked"]["ip"] == "10.0.0.5"


def test_terminal_slack_and_json_show_the_same_verdict_per_attempt() -> None:
    """The verdict of each attempt is decided once, in bot.core.check.verdicts."""
    judged = report(mx(
        attempt("203.0.113.5", 1, (GOOD.der, INTER.der)), attempt("203.0.113.5", 2, (OWN.der,)),
        attempt("203.0.113.6", 1, starttls_offered=False, tls_version=None),
        attempt("203.0.113.6", 2, failure=FailureKind.TIMEOUT, failed_step=Step.BANNER,
                error="no answer within 10 s (banner)", starttls_offered=None, ehlo_code=None),
    ))  # fmt: skip
    words = {
        (a["ip"], str(a["attempt"])): a["verdict"]
        for a in check_to_json(judged)["mx"][0]["attempts"]
    }
    assert words == {
        ("203.0.113.5", "1"): "ok",
        ("203.0.113.5", "2"): "cert.subject_mismatch",
        ("203.0.113.6", "1"): "smtp.starttls_missing",
        ("203.0.113.6", "2"): "smtp.timeout",
    }
    assert table_rows(render_check(judged)) == words
    slack = blocks.host_table(judged.evidence.hosts[0], judged.verdict).splitlines()[1:]
    cells = {(line.split()[0], line.split()[1]): line.split("  ")[-1].strip() for line in slack}
    assert cells == {
        ("203.0.113.5", "1"): "✓ ok",
        ("203.0.113.5", "2"): "✗ cert.subject_mismatch, cert.self_signed",
        ("203.0.113.6", "1"): "✗ smtp.starttls_missing",
        ("203.0.113.6", "2"): "✗ smtp.timeout",
    }
