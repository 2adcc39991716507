"""DANE, MTA-STS and TLS-RPT judgement (bot.core.check.policies) on evidence built in the test."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from bot.check import CheckReport
from bot.core.certs import trust_store_from
from bot.core.check.findings import judge
from bot.core.check.policy_records import (
    dane_ee_record,
    match_chain,
    mx_matches,
    parse_sts_policy,
    parse_sts_record,
    parse_tlsa,
    parse_tlsrpt_record,
)
from bot.core.evidence import AttemptEvidence, CheckEvidence, HostEvidence, MxSource
from bot.core.models import Finding, Severity
from bot.core.policy_evidence import (
    FETCH_REDIRECT,
    FETCH_TOO_LARGE,
    DnsAnswer,
    DnssecStatus,
    PolicyEvidence,
    PolicyFetch,
    TlsaLookup,
)
from bot.render.blocks import check_report_messages
from bot.render.jsonout import check_to_json
from bot.render.text import render_check
from tests.fakes.certs import CertFactory, Issued

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
F = CertFactory(NOW)
ROOT = F.root_ca()
INTER = F.intermediate(ROOT)
HOST = "mail.contoso.com"
DOMAIN = "contoso.com"
GOOD = F.leaf(INTER, [HOST])
OTHER = F.leaf(INTER, [HOST], index=7)  # another key: a renewal whose record is missing
TRUST = trust_store_from([ROOT.cert], "test root")
IP1, IP2 = "203.0.113.5", "203.0.113.6"
TLSA_NAME = f"_25._tcp.{HOST}"
URL = f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt"


def spki(issued: Issued) -> bytes:
    return issued.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def spki_sha256(issued: Issued) -> str:
    return hashlib.sha256(spki(issued)).hexdigest()


def chain(*issued: Issued) -> tuple[bytes, ...]:
    return tuple(i.der for i in issued)


def attempt(ip: str, certs: tuple[bytes, ...], n: int = 1) -> AttemptEvidence:
    return AttemptEvidence(
        host=HOST, ip=ip, port=25, attempt=n, banner_code=220, ehlo_code=250,
        ehlo_lines=("STARTTLS",), starttls_offered=True, tls_version="TLSv1.3", chain=certs,
    )  # fmt: skip


def tlsa(*values: str, status: DnssecStatus = DnssecStatus.SECURE, **kw: Any) -> TlsaLookup:
    answer = DnsAnswer(TLSA_NAME, "TLSA", values, status, **kw)
    return TlsaLookup(HOST, answer, (TLSA_NAME,))


def evidence(
    *attempts: AttemptEvidence,
    tlsa_lookup: TlsaLookup | None = None,
    sts: tuple[str, ...] | None = None,
    policy: PolicyFetch | None = None,
    rpt: tuple[str, ...] = (),
    hosts: tuple[HostEvidence, ...] | None = None,
) -> CheckEvidence:
    policies = PolicyEvidence(
        validation="test anchor",
        mx=DnsAnswer(DOMAIN, "MX", (f"10 {HOST}",), DnssecStatus.SECURE),
        tlsa=(tlsa_lookup,) if tlsa_lookup else (),
        mta_sts=DnsAnswer(f"_mta-sts.{DOMAIN}", "TXT", sts or ()),
        policy=policy,
        tlsrpt=DnsAnswer(f"_smtp._tls.{DOMAIN}", "TXT", rpt),
    )
    host = HostEvidence(HOST, 10, addresses=tuple(dict.fromkeys(a.ip for a in attempts)),
                        attempts=attempts)  # fmt: skip
    return CheckEvidence(target=DOMAIN, domain=DOMAIN, source=MxSource.MX,
                         hosts=hosts or (host,), policies=policies)  # fmt: skip


def run(ev: CheckEvidence) -> tuple[Finding, ...]:
    return judge(ev, trust=TRUST, now=NOW).findings


def ids(findings: tuple[Finding, ...], prefix: str = "") -> list[str]:
    return sorted(f.id for f in findings if f.id.startswith(prefix))


def only(findings: tuple[Finding, ...], finding_id: str) -> Finding:
    found = [f for f in findings if f.id == finding_id]
    assert len(found) == 1, [f.id for f in findings]
    return found[0]


def fetched(body: str, **kw: Any) -> PolicyFetch:
    values: dict[str, Any] = {"status": 200, "content_type": "text/plain; charset=utf-8",
                              "body": body, "ip": "198.51.100.7"}  # fmt: skip
    values.update(kw)
    return PolicyFetch(URL, f"mta-sts.{DOMAIN}", **values)


ENFORCE = f"version: STSv1\r\nmode: enforce\r\nmx: {HOST}\r\nmax_age: 604800\r\n"


# --- TLSA records -----------------------------------------------------------------------------


def test_tlsa_parsing_accepts_split_data_and_rejects_garbage() -> None:
    record = parse_tlsa("3 1 1 ABCD EF01")
    assert record is not None and record.data == bytes.fromhex("abcdef01") and record.usable
    assert parse_tlsa("3 1 1 XYZ") is None
    assert parse_tlsa("3 1") is None
    unusable = parse_tlsa("1 1 1 ab")
    assert unusable is not None and not unusable.usable


@pytest.mark.parametrize(
    ("record", "presented"),
    [
        (lambda: f"3 1 1 {spki_sha256(GOOD)}", lambda: chain(GOOD, INTER)),
        (lambda: f"3 0 1 {hashlib.sha256(GOOD.der).hexdigest()}", lambda: chain(GOOD)),
        (lambda: f"3 0 0 {GOOD.der.hex()}", lambda: chain(GOOD)),
        (lambda: f"3 1 2 {hashlib.sha512(spki(GOOD)).hexdigest()}", lambda: chain(GOOD)),
        (lambda: f"2 1 1 {spki_sha256(INTER)}", lambda: chain(GOOD, INTER)),
        (lambda: f"2 0 1 {hashlib.sha256(ROOT.der).hexdigest()}", lambda: chain(GOOD, INTER, ROOT)),
    ],
    ids=["3 1 1", "3 0 1", "3 0 0", "3 1 2", "2 1 1", "2 0 1 root in chain"],
)
def test_usages_selectors_and_matching_types(record: Any, presented: Any) -> None:
    parsed = parse_tlsa(record())
    assert parsed is not None
    match, why = match_chain([parsed], presented(), [HOST], NOW)
    assert match is not None, why


def test_dane_ta_needs_the_anchor_in_the_presented_chain_and_the_name() -> None:
    ta = parse_tlsa(f"2 1 1 {spki_sha256(INTER)}")
    assert ta is not None
    assert match_chain([ta], chain(GOOD), [HOST], NOW)[0] is None  # intermediate not sent
    match, why = match_chain([ta], chain(GOOD, INTER), ["other.contoso.com"], NOW)
    assert match is None and "does not name" in why
    # DANE-EE ignores names and dates (RFC 7672 §3.1.1)
    ee = parse_tlsa(f"3 1 1 {spki_sha256(GOOD)}")
    assert ee is not None
    assert match_chain([ee], chain(GOOD), ["other.contoso.com"], NOW + dt.timedelta(days=9999))[0]


def test_dane_ee_record_is_the_sha256_of_the_public_key() -> None:
    assert dane_ee_record(GOOD.der) == f"3 1 1 {spki_sha256(GOOD)}"


# --- DANE findings ----------------------------------------------------------------------------


def test_every_address_matches_reports_dane_ok_and_a_missing_next_key() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), attempt(IP2, chain(GOOD, INTER)),
                  tlsa_lookup=tlsa(f"3 1 1 {spki_sha256(GOOD)}"))  # fmt: skip
    report = judge(ev, trust=TRUST, now=NOW)
    assert ids(report.findings, "dane.") == ["dane.ok", "dane.rollover_incomplete"]
    assert {report.verdict.of(a).dane for h in ev.hosts for a in h.attempts} == {"match"}


def test_a_published_next_key_completes_the_rollover() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), tlsa_lookup=tlsa(
        f"3 1 1 {spki_sha256(GOOD)}", f"3 1 1 {spki_sha256(OTHER)}"))  # fmt: skip
    assert ids(run(ev), "dane.") == ["dane.ok"]


def test_one_address_with_a_new_key_is_a_mismatch_of_that_address_only() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), attempt(IP2, chain(OTHER, INTER)),
                  tlsa_lookup=tlsa(f"3 1 1 {spki_sha256(GOOD)}"))  # fmt: skip
    report = judge(ev, trust=TRUST, now=NOW)
    finding = only(report.findings, "dane.mismatch")
    assert finding.ip == IP2 and finding.severity is Severity.ERROR
    assert finding.fields["expected_record"] == f"3 1 1 {spki_sha256(OTHER)}"
    assert f"3 1 1 {spki_sha256(OTHER)}" in finding.fixes[0].title
    assert "dane.ok" not in ids(report.findings)
    words = {a.ip: report.verdict.of(a).dane for h in ev.hosts for a in h.attempts}
    assert words == {IP1: "match", IP2: "mismatch"}
    assert "dane.mismatch" in report.verdict.of(ev.hosts[0].attempts[1]).finding_ids
    assert "dane.mismatch" not in report.verdict.of(ev.hosts[0].attempts[0]).finding_ids


def test_unsigned_bogus_none_and_unsuitable() -> None:
    record = f"3 1 1 {spki_sha256(GOOD)}"
    presented = attempt(IP1, chain(GOOD, INTER))
    unsigned = run(evidence(presented, tlsa_lookup=tlsa(record, status=DnssecStatus.INSECURE)))
    assert only(unsigned, "dane.unsigned").severity is Severity.WARNING
    bogus = run(evidence(presented, tlsa_lookup=tlsa(
        status=DnssecStatus.BOGUS, error="SERVFAIL", detail="RRSIG expired")))  # fmt: skip
    assert "RRSIG expired" in only(bogus, "dane.bogus").explanation
    none = run(evidence(presented, tlsa_lookup=tlsa(status=DnssecStatus.SECURE, error="NXDOMAIN")))
    finding = only(none, "dane.none")
    assert finding.severity is Severity.INFO and record in finding.fixes[0].title
    pkix = run(evidence(presented, tlsa_lookup=tlsa(f"1 1 1 {spki_sha256(GOOD)}")))
    assert ids(pkix, "dane.") == ["dane.usage_unsuitable"]


def test_bogus_mx_answer_is_reported_for_the_domain() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)))
    assert ev.policies is not None
    broken = dataclasses.replace(ev.policies, mx=DnsAnswer(
        DOMAIN, "MX", (), DnssecStatus.BOGUS, "SERVFAIL", "signature expired"))  # fmt: skip
    finding = only(run(dataclasses.replace(ev, policies=broken)), "dane.bogus")
    assert finding.host == DOMAIN and finding.ip is None


def test_exchange_online_mx_without_dane_gets_the_documented_cmdlets() -> None:
    exo = "contoso-com.mail.protection.outlook.com"
    host = HostEvidence(exo, 0, addresses=(IP1,), attempts=(attempt(IP1, chain(GOOD, INTER)),))
    lookup = TlsaLookup(exo, DnsAnswer(f"_25._tcp.{exo}", "TLSA", (), DnssecStatus.INSECURE,
                                       "NXDOMAIN"))  # fmt: skip
    ev = evidence(hosts=(host,), tlsa_lookup=lookup)
    finding = only(run(ev), "dane.none")
    script = finding.fixes[0].powershell or ""
    assert "Enable-DnssecForVerifiedDomain -DomainName 'contoso.com'" in script
    assert "Enable-SmtpDaneInbound -DomainName 'contoso.com'" in script
    assert "mx.microsoft" in finding.explanation


# --- MTA-STS ----------------------------------------------------------------------------------


def test_sts_record_and_policy_parsing() -> None:
    assert parse_sts_record(["v=STSv1; id=20240101T0000"]) != "ok"
    record = parse_sts_record(["v=spf1 -all", "v=STSv1; id=abc123"])
    assert not isinstance(record, str) and record.id == "abc123"
    assert "2 v=STSv1" in str(parse_sts_record(["v=STSv1; id=a", "v=STSv1; id=b"]))
    assert "id field" in str(parse_sts_record(["v=STSv1;"]))
    policy = parse_sts_policy("version: STSv1\nmode: testing\nmx: *.contoso.com\nmax_age: 86400\n")
    assert not isinstance(policy, str) and policy.mx == ("*.contoso.com",)
    assert "mode" in str(parse_sts_policy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1"))
    assert "mx" in str(parse_sts_policy("version: STSv1\nmode: enforce\nmax_age: 1"))
    assert "max_age" in str(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a\n"))


def test_mx_pattern_wildcard_covers_one_label() -> None:
    assert mx_matches("*.contoso.com", "mail.contoso.com")
    assert not mx_matches("*.contoso.com", "a.b.contoso.com")
    assert not mx_matches("*.contoso.com", "contoso.com")
    assert mx_matches("MAIL.contoso.com.", "mail.contoso.com")


def test_enforce_policy_that_fits_is_ok() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), sts=("v=STSv1; id=1",),
                  policy=fetched(ENFORCE))  # fmt: skip
    finding = only(run(ev), "mtasts.ok")
    assert finding.fields["mode"] == "enforce"


@pytest.mark.parametrize(("mode", "severity"), [("enforce", Severity.ERROR),
                                                 ("testing", Severity.WARNING)])  # fmt: skip
def test_mx_missing_from_policy_and_bad_certificate(mode: str, severity: Severity) -> None:
    bad = F.leaf(INTER, ["other.contoso.com"], index=8)
    body = f"version: STSv1\nmode: {mode}\nmx: mx9.contoso.com\nmax_age: 86400\n"
    ev = evidence(attempt(IP1, chain(bad, INTER)), sts=("v=STSv1; id=1",), policy=fetched(body))
    findings = run(ev)
    missing = only(findings, "mtasts.mx_not_in_policy")
    assert missing.severity is severity and f"mx: {HOST}" in missing.fixes[0].title
    cert = only(findings, "mtasts.certificate_invalid")
    assert cert.severity is severity and cert.ip == IP1
    assert "mtasts.ok" not in ids(findings)


@pytest.mark.parametrize(
    ("fetch", "finding_id", "text"),
    [
        (PolicyFetch(URL, "h", status=301, location="https://evil.example/p",
                     error_kind=FETCH_REDIRECT), "mtasts.policy_unreachable", "redirect"),
        (PolicyFetch(URL, "h", error="larger than 64 KiB", error_kind=FETCH_TOO_LARGE),
         "mtasts.policy_invalid", "64 KiB"),
        (PolicyFetch(URL, "h", error="no address is public", error_kind="blocked",
                     blocked=("10.0.0.1 (private address)",)), "mtasts.policy_unreachable",
         "public"),
        (PolicyFetch(URL, "h", status=404, content_type="text/html"),
         "mtasts.policy_unreachable", "404"),
    ],
    ids=["redirect", "too large", "blocked", "404"],
)  # fmt: skip
def test_policy_fetch_problems(fetch: PolicyFetch, finding_id: str, text: str) -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), sts=("v=STSv1; id=1",), policy=fetch)
    finding = only(run(ev), finding_id)
    assert text in finding.summary


def test_html_content_type_is_an_invalid_policy() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), sts=("v=STSv1; id=1",),
                  policy=fetched(ENFORCE, content_type="text/html"))  # fmt: skip
    assert "text/html" in only(run(ev), "mtasts.policy_invalid").summary


def test_no_sts_record_is_info() -> None:
    finding = only(run(evidence(attempt(IP1, chain(GOOD, INTER)))), "mtasts.none")
    assert finding.severity is Severity.INFO


# --- TLS-RPT ----------------------------------------------------------------------------------


def test_tlsrpt_record() -> None:
    assert parse_tlsrpt_record(["v=TLSRPTv1; rua=mailto:r@contoso.com,https://r.contoso.com/x"])\
        == ("mailto:r@contoso.com", "https://r.contoso.com/x")  # fmt: skip
    assert "rua" in str(parse_tlsrpt_record(["v=TLSRPTv1;"]))
    assert "neither" in str(parse_tlsrpt_record(["v=TLSRPTv1; rua=ftp://x"]))
    base = attempt(IP1, chain(GOOD, INTER))
    assert only(run(evidence(base)), "tlsrpt.none").severity is Severity.INFO
    assert only(run(evidence(base, rpt=("v=TLSRPTv1; rua=ftp://x",))), "tlsrpt.invalid")
    ok = only(run(evidence(base, rpt=("v=TLSRPTv1; rua=mailto:r@contoso.com",))), "tlsrpt.ok")
    assert ok.fields["rua"] == ("mailto:r@contoso.com",)


def test_no_policy_evidence_means_no_policy_findings() -> None:
    ev = dataclasses.replace(evidence(attempt(IP1, chain(GOOD, INTER))), policies=None)
    assert not [f for f in run(ev) if f.id.split(".")[0] in {"dane", "mtasts", "tlsrpt"}]


# --- reports ------------------------------------------------------------------------------------


def test_reports_show_the_dane_column_and_one_policy_section() -> None:
    ev = evidence(attempt(IP1, chain(GOOD, INTER)), attempt(IP2, chain(OTHER, INTER)),
                  tlsa_lookup=tlsa(f"3 1 1 {spki_sha256(GOOD)}"), sts=("v=STSv1; id=1",),
                  policy=fetched(ENFORCE))  # fmt: skip
    judged = judge(ev, trust=TRUST, now=NOW)
    report = CheckReport(judged.evidence, judged.findings, judged.verdict, 12.0)
    text = render_check(report)
    assert "DANE" in text.splitlines()[3] and "mismatch" in text
    assert f"DANE {HOST}: dane.mismatch" in text
    assert "MTA-STS: mtasts.ok; policy " + URL in text
    doc = check_to_json(report)
    assert doc["policies"]["tlsa"][0]["dnssec"] == "secure"
    assert [a["dane"] for a in doc["mx"][0]["attempts"]] == ["match", "mismatch"]
    messages = check_report_messages(
        "contoso.com", judged.evidence, judged.findings, 12.0, verdict=judged.verdict,
        spec_value="x", evidence_value="y",
    )  # fmt: skip
    sections = [str(b) for m in messages for b in m.blocks]
    assert sum("DANE, MTA-STS, TLS-RPT of contoso.com" in s for s in sections) == 1


def test_an_mx_microsoft_host_is_exchange_online_with_inbound_dane() -> None:
    dane_mx = "contoso-com.a-v1.mx.microsoft"
    leaf = F.leaf(INTER, [dane_mx], index=12)
    host = HostEvidence(dane_mx, 0, addresses=(IP1,), attempts=(
        dataclasses.replace(attempt(IP1, chain(leaf, INTER)), host=dane_mx),))  # fmt: skip
    lookup = TlsaLookup(dane_mx, DnsAnswer(f"_25._tcp.{dane_mx}", "TLSA",
                                           (f"3 1 1 {spki_sha256(leaf)}",),
                                           DnssecStatus.SECURE))  # fmt: skip
    findings = run(evidence(hosts=(host,), tlsa_lookup=lookup))
    assert "mx.exchange_online" in ids(findings)
    ok = only(findings, "dane.ok")
    assert "inbound DANE is enabled" in ok.explanation and "smart host" in ok.explanation
    assert "dane.rollover_incomplete" not in ids(findings)  # Microsoft manages its records
