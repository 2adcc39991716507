from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import powershell
from bot.core.certs import describe, trust_store_from, windows_name
from bot.core.check.findings import analyse
from bot.core.check.texts import (
    FINDING_IDS,
    CheckTextsError,
    default_check_texts,
    load_check_texts,
)
from bot.core.evidence import (
    AttemptEvidence,
    CheckEvidence,
    FailureKind,
    HostEvidence,
    MxSource,
    Step,
)
from bot.core.models import Finding, Severity
from bot.core.tables import fill
from tests.fakes.certs import CertFactory, Issued, legacy_signed

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
F = CertFactory(NOW)
ROOT = F.root_ca()
INTER = F.intermediate(ROOT)
HOST = "mail.contoso.com"
GOOD = F.leaf(INTER, [HOST, "hybrid.contoso.com"])
TRUST = trust_store_from([ROOT.cert], "test root")
IP1, IP2 = "203.0.113.5", "203.0.113.6"
INJECTION = "x'; Remove-Item C:\\ -Recurse; '"


def chain(*issued: Issued) -> tuple[bytes, ...]:
    return tuple(i.der for i in issued)


def attempt(ip: str = IP1, n: int = 1, certs: tuple[bytes, ...] = (), **kw: Any) -> AttemptEvidence:
    values: dict[str, Any] = {
        "host": HOST, "ip": ip, "port": 25, "attempt": n,
        "banner": "220 mail.contoso.com Microsoft ESMTP MAIL Service ready", "banner_code": 220,
        "ehlo_code": 250, "ehlo_lines": ("SIZE 37748736", "PIPELINING", "STARTTLS", "8BITMIME"),
        "starttls_offered": True, "starttls_reply": "220 2.0.0 SMTP server ready",
        "tls_version": "TLSv1.3" if certs else None, "cipher": "TLS_AES_256_GCM_SHA384",
        "chain": certs,
    }  # fmt: skip
    values.update(kw)
    return AttemptEvidence(**values)


def host(attempts: tuple[AttemptEvidence, ...] = (), name: str = HOST, **kw: Any) -> HostEvidence:
    addresses = kw.pop("addresses", tuple(dict.fromkeys(a.ip for a in attempts)))
    return HostEvidence(name=name, preference=10, addresses=addresses, attempts=attempts, **kw)


def check(*hosts: HostEvidence, source: MxSource = MxSource.MX, **kw: Any) -> CheckEvidence:
    return CheckEvidence(
        target="contoso.com", domain="contoso.com", source=source, hosts=hosts, **kw
    )


def run(evidence: CheckEvidence) -> tuple[Finding, ...]:
    return analyse(evidence, trust=TRUST, now=NOW)


def ids(findings: tuple[Finding, ...]) -> list[str]:
    return [f.id for f in findings]


def only(findings: tuple[Finding, ...], finding_id: str) -> Finding:
    matching = [f for f in findings if f.id == finding_id]
    assert len(matching) == 1, ids(findings)
    return matching[0]


def scripts(findings: tuple[Finding, ...]) -> list[str]:
    return [fix.powershell for f in findings for fix in f.fixes if fix.powershell]


def outside_literals(script: str) -> str:
    """The script with comments and single-quoted literals removed: what PowerShell executes."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    return re.sub(r"'(?:[^']|'')*'", "''", code)


def good_attempts(ip: str = IP1) -> tuple[AttemptEvidence, ...]:
    return (attempt(ip, 1, chain(GOOD, INTER)), attempt(ip, 2, chain(GOOD, INTER)))


# --- healthy ----------------------------------------------------------------------------------


def test_healthy_mx_yields_no_findings() -> None:
    assert run(check(host(good_attempts(IP1) + good_attempts(IP2)))) == ()


# --- DNS ----------------------------------------------------------------------------------------


def test_nxdomain() -> None:
    findings = run(check(source=MxSource.NXDOMAIN, dns_error="NXDOMAIN"))
    assert ids(findings) == ["dns.nxdomain"]
    assert findings[0].severity is Severity.ERROR and findings[0].host == "contoso.com"
    assert findings[0].ip is None


def test_null_mx() -> None:
    finding = only(run(check(source=MxSource.NULL_MX)), "dns.null_mx")
    assert "null MX" in finding.summary and finding.fixes


def test_implicit_mx_is_a_warning() -> None:
    evidence = check(host(good_attempts(), name="contoso.com"), source=MxSource.IMPLICIT,
                     expected_names=(HOST,))  # fmt: skip
    findings = run(evidence)
    finding = only(findings, "dns.no_mx")
    assert finding.severity is Severity.WARNING
    assert finding.fields["addresses"] == (IP1,)


def test_implicit_mx_lists_a_blocked_address_once() -> None:
    blocked = host(name="contoso.com", addresses=("127.0.0.9",), blocked=("127.0.0.9",))
    finding = only(run(check(blocked, source=MxSource.IMPLICIT)), "dns.no_mx")
    assert finding.fields["addresses"] == ("127.0.0.9",)
    assert finding.summary.count("127.0.0.9") == 1


def test_mx_host_without_address() -> None:
    finding = only(run(check(host(dns_error="no A/AAAA record"))), "dns.no_address")
    assert finding.host == HOST and "no A/AAAA record" in finding.summary


def test_lookup_failures_at_domain_and_host_level() -> None:
    domain = only(run(check(source=MxSource.FAILED, dns_error="SERVFAIL")), "dns.lookup_failed")
    assert "SERVFAIL" in domain.summary
    one_host = only(run(check(host(dns_error="timeout"))), "dns.lookup_failed")
    assert one_host.host == HOST


def test_partial_lookup_failure_is_a_warning_next_to_the_working_addresses() -> None:
    partial = host(good_attempts(), dns_warnings=("AAAA: SERVFAIL", "40 addresses, only 32 used"))
    finding = only(run(check(partial)), "dns.lookup_failed")
    assert finding.severity is Severity.WARNING
    assert (finding.host, finding.ip) == (HOST, None)
    assert finding.fields["error"] == "AAAA: SERVFAIL"
    assert finding.fields["addresses"] == (IP1,)
    assert (
        ids(run(check(host(good_attempts(), dns_warnings=("40 addresses, only 32 used",))))) == []
    )


def test_host_mode_nxdomain_reports_the_host() -> None:
    evidence = check(host(dns_error="NXDOMAIN", name="hybrid.contoso.com"), source=MxSource.HOST)
    assert only(run(evidence), "dns.nxdomain").host == "hybrid.contoso.com"


def test_exchange_online_mx_is_explained() -> None:
    eop = "contoso-com.mail.protection.outlook.com"
    finding = only(run(check(host(name=eop, addresses=("52.101.0.1",)))), "mx.exchange_online")
    assert finding.severity is Severity.INFO
    assert "smart host" in finding.explanation and "--host" in finding.explanation
    assert any(f.powershell and "Get-OutboundConnector" in f.powershell for f in finding.fixes)


def test_expected_names_do_not_apply_to_exchange_online_mx_hosts() -> None:
    eop = "contoso-com.mail.protection.outlook.com"
    eop_leaf = F.leaf(INTER, ["*.mail.protection.outlook.com"], index=67)
    evidence = check(host((attempt(certs=chain(eop_leaf, INTER), host=eop),), name=eop),
                     expected_names=("hybrid.contoso.com",))  # fmt: skip
    assert ids(run(evidence)) == ["mx.exchange_online"]


def test_blocked_addresses_are_reported_once_per_host() -> None:
    blocked = attempt(
        "10.0.0.5", failure=FailureKind.BLOCKED, failed_step=Step.CONNECT,
        banner=None, banner_code=None, ehlo_code=None, starttls_offered=None,
    )  # fmt: skip
    evidence = check(host(
        (blocked,), addresses=(), blocked=("10.0.0.5", "169.254.169.254"),
        blocked_reasons=("private address (RFC 1918)", "link-local cloud metadata address"),
    ))  # fmt: skip
    finding = only(run(evidence), "target.blocked")
    assert finding.fields["addresses"] == ("10.0.0.5", "169.254.169.254")
    assert finding.ip is None and finding.severity is Severity.ERROR
    assert finding.summary == (
        f"{HOST}: not probed, not a public address: 10.0.0.5 (private address (RFC 1918)), "
        "169.254.169.254 (link-local cloud metadata address)"
    )


# --- SMTP ---------------------------------------------------------------------------------------


def failed(kind: FailureKind, step: Step, error: str, n: int = 1, **kw: Any) -> AttemptEvidence:
    return attempt(IP1, n, failure=kind, failed_step=step, error=error, **kw)


def test_connection_refused_on_every_attempt_is_one_finding() -> None:
    attempts = tuple(
        failed(FailureKind.REFUSED, Step.CONNECT, "Connection refused", n, banner=None)
        for n in (1, 2, 3)
    )
    finding = only(run(check(host(attempts))), "smtp.connect_failed")
    assert finding.fields["attempts"] == 3
    assert finding.ip == IP1 and "Connection refused" in finding.summary
    assert any(f.powershell and "Get-NetTCPConnection" in f.powershell for f in finding.fixes)


def test_timeout() -> None:
    silent = failed(FailureKind.TIMEOUT, Step.BANNER, "no banner in 10 s")
    finding = only(run(check(host((silent,)))), "smtp.timeout")
    assert "banner" in finding.summary


def test_addresses_left_by_the_deadline_are_reported() -> None:
    evidence = check(host(good_attempts(IP1), addresses=(IP1, IP2)), deadline_hit=True)
    finding = only(run(evidence), "smtp.timeout")
    assert finding.ip == IP2 and "deadline" in finding.summary
    assert finding.fields["attempts"] == 0


def test_rejected_reply_is_quoted_on_one_line() -> None:
    reply = "554 5.7.1 Service unavailable;\r\nClient host blocked"
    finding = only(run(check(host((failed(FailureKind.REJECTED, Step.EHLO, reply),)))),
                   "smtp.rejected")  # fmt: skip
    assert "\n" not in finding.summary and "554 5.7.1" in finding.summary


def test_starttls_rejected_points_at_the_smtp_certificate() -> None:
    bad = failed(FailureKind.REJECTED, Step.STARTTLS, "454 4.7.0 TLS not available")
    finding = only(run(check(host((bad,)))), "smtp.rejected")
    assert any(f.powershell and "-Services SMTP" in f.powershell for f in finding.fixes)


def test_starttls_missing_on_some_attempts() -> None:
    attempts = (
        attempt(IP1, 1, chain(GOOD, INTER)),
        attempt(IP1, 2, ehlo_lines=("PIPELINING", "8BITMIME"), starttls_offered=False),
    )
    finding = only(run(check(host(attempts))), "smtp.starttls_missing")
    assert finding.fields["missing"] == 1 and finding.fields["total"] == 2
    assert "1 of 2" in finding.summary


def test_cisco_esmtp_inspection_is_named_instead_of_missing_starttls() -> None:
    masked = attempt(ehlo_lines=("PIPELINING", "XXXXXXXA", "8BITMIME"), starttls_offered=False)
    findings = run(check(host((masked,))))
    finding = only(findings, "smtp.inspection")
    assert "XXXXXXXA" in finding.summary
    assert "smtp.starttls_missing" not in ids(findings)
    assert all(fix.powershell is None for fix in finding.fixes)
    assert "no inspect esmtp" in finding.fixes[0].title


def test_masked_banner_is_inspection() -> None:
    stars = attempt(banner="220 ******************************2*0*0*2", starttls_offered=False,
                    ehlo_lines=("PIPELINING",))  # fmt: skip
    assert "smtp.inspection" in ids(run(check(host((stars,)))))


def test_handshake_failure() -> None:
    bad = failed(FailureKind.TLS, Step.HANDSHAKE, "unexpected EOF during handshake")
    finding = only(run(check(host((bad,)))), "tls.handshake_failed")
    assert "unexpected EOF" in finding.summary


def test_reset_after_starttls_is_a_handshake_failure() -> None:
    bad = failed(FailureKind.RESET, Step.HANDSHAKE, "connection reset")
    assert "tls.handshake_failed" in ids(run(check(host((bad,)))))


def test_outdated_protocol() -> None:
    old = attempt(certs=chain(GOOD, INTER), tls_version="TLSv1")
    finding = only(run(check(host((old,)))), "tls.protocol_outdated")
    assert "TLSv1" in finding.summary
    assert any(f.powershell and "TLS 1.2" in f.powershell for f in finding.fixes)


# --- certificates -------------------------------------------------------------------------------


def cert_finding(leaf_chain: tuple[bytes, ...], finding_id: str, **kw: Any) -> Finding:
    return only(run(check(host((attempt(certs=leaf_chain),)), **kw)), finding_id)


def test_subject_mismatch_with_expected_name_and_exchange_online_fixes() -> None:
    finding = cert_finding(chain(GOOD, INTER), "cert.subject_mismatch",
                           expected_names=("smtp.fabrikam.com",))  # fmt: skip
    assert finding.fields["expected_names"] == (HOST, "smtp.fabrikam.com")
    assert "smtp.fabrikam.com" in finding.summary
    joined = "\n".join(f.powershell or "" for f in finding.fixes)
    assert "Set-OutboundConnector" in joined and "-TlsDomain 'mail.contoso.com'" in joined
    assert "Set-HybridConfiguration -TlsCertificateName" in joined
    assert "New-ExchangeCertificate -GenerateRequest" in joined


def test_renewal_request_covers_every_name_it_promises() -> None:
    finding = cert_finding(chain(GOOD, INTER), "cert.subject_mismatch",
                           expected_names=("smtp.fabrikam.com", "hybrid.contoso.com"))  # fmt: skip
    renew = next(f for f in finding.fixes if "New-ExchangeCertificate" in (f.powershell or ""))
    assert renew.powershell is not None
    promised = f"{HOST}, smtp.fabrikam.com, hybrid.contoso.com"
    assert promised in renew.title
    assert f"$names = @('{HOST}', 'smtp.fabrikam.com', 'hybrid.contoso.com')" in renew.powershell
    assert '-SubjectName "CN=$name" -DomainName $names ' in renew.powershell
    assert f"$name = '{HOST}'" in renew.powershell


def test_expired_certificate() -> None:
    old = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=100), days_valid=90, index=60)
    finding = cert_finding(chain(old, INTER), "cert.expired")
    assert finding.fields["thumbprint"] == describe(old.der).sha1
    assert finding.fields["not_after"].startswith("2026-05-")  # type: ignore[union-attr]
    joined = "\n".join(f.powershell or "" for f in finding.fixes)
    assert "Get-ExchangeCertificate -DomainName $name" in joined
    assert "Enable-ExchangeCertificate -Thumbprint $cert.Thumbprint -Services SMTP -Force" in joined


def test_not_yet_valid_certificate() -> None:
    future = F.leaf(INTER, [HOST], not_before=NOW + dt.timedelta(days=3), index=61)
    assert "2026-06-04" in cert_finding(chain(future, INTER), "cert.not_yet_valid").summary


def test_expiring_soon_is_a_warning() -> None:
    soon = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=75), days_valid=90, index=62)
    finding = cert_finding(chain(soon, INTER), "cert.expiring_soon")
    assert finding.severity is Severity.WARNING and "15 days left" in finding.summary


def test_self_signed_without_a_healthy_server_finds_the_certificate_by_name() -> None:
    own = F.self_signed("EXCH01", ["EXCH01", "exch01.contoso.local"])
    findings = run(check(host((attempt(certs=chain(own)),))))
    finding = only(findings, "cert.self_signed")
    assert finding.fields["subject_windows"] == "CN=EXCH01, C=US"
    script = finding.fixes[-1].powershell or ""
    assert "$name = 'mail.contoso.com'" in script
    assert "Set-ReceiveConnector -TlsCertificateName $tlsName" in script
    assert "'mail.protection.outlook.com:AcceptCloudServicesMail'" in script
    assert "Restart-Service MSExchangeFrontEndTransport" in script
    assert 'Write-Output "Default Frontend TlsCertificateName is now: $tlsName"' in script


def test_untrusted_private_ca() -> None:
    private_root = F.root_ca("Contoso Private Root", index=63)
    leaf = F.leaf(private_root, [HOST], index=64)
    finding = cert_finding(chain(leaf, private_root), "cert.untrusted")
    assert "Contoso Private Root" in finding.summary


def test_chain_incomplete_fixes_for_exchange_and_postfix() -> None:
    finding = cert_finding(chain(GOOD), "cert.chain_incomplete")
    exchange, postfix = finding.fixes
    assert exchange.powershell is not None
    assert "Cert:\\LocalMachine\\CA" in exchange.powershell
    assert "'CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US'" in exchange.powershell
    assert postfix.powershell is None and "smtpd_tls_chain_files" in postfix.title


def test_weak_key_and_weak_signature() -> None:
    weak = F.leaf(INTER, [HOST], key="rsa1024", index=65)
    assert "1024-bit RSA" in cert_finding(chain(weak, INTER), "cert.weak_key").summary
    sha1 = legacy_signed(F.leaf(INTER, [HOST], index=66), INTER)
    assert "SHA-1" in cert_finding(chain(sha1, INTER), "cert.weak_signature").summary


def test_same_problem_on_many_attempts_does_not_flood() -> None:
    own = F.self_signed("EXCH01", ["exch01.contoso.local"])
    attempts = tuple(attempt(IP1, n, chain(own)) for n in (1, 2, 3))
    findings = run(check(host(attempts)))
    assert ids(findings).count("cert.self_signed") == 1
    assert only(findings, "cert.self_signed").fields["attempts"] == 3


def test_two_address_mx_one_self_signed_is_inconsistent_with_the_healthy_thumbprint() -> None:
    own = F.self_signed("EXCH02", ["EXCH02", "exch02.contoso.local"], index=70)
    attempts = (*good_attempts(IP1), attempt(IP2, 1, chain(own)), attempt(IP2, 2, chain(own)))
    findings = run(check(host(attempts)))
    healthy = describe(GOOD.der)
    expected_name = powershell.tls_certificate_name(
        windows_name(GOOD.cert.issuer), windows_name(GOOD.cert.subject)
    )
    assert expected_name == (
        "<I>CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US<S>CN=mail.contoso.com, C=US"
    )

    inconsistent = only(findings, "cert.inconsistent")
    assert inconsistent.ip is None and inconsistent.host == HOST
    presented = inconsistent.fields["presented"]
    assert isinstance(presented, tuple) and len(presented) == 2
    assert any(line.startswith(f"{IP1}: {healthy.sha1}") and "(good)" in line for line in presented)
    assert any(line.startswith(f"{IP2}: ") and "self_signed" in line for line in presented)
    assert inconsistent.fields["healthy_thumbprint"] == healthy.sha1
    assert inconsistent.fields["expected_tls_certificate_name"] == expected_name
    assert expected_name in inconsistent.explanation
    script = inconsistent.fixes[0].powershell or ""
    assert f"Get-ExchangeCertificate -Thumbprint '{healthy.sha1}'" in script
    assert "Enable-ExchangeCertificate -Thumbprint $cert.Thumbprint -Services SMTP -Force" in script
    assert '$tlsName = "<I>$($cert.Issuer)<S>$($cert.Subject)"' in script
    assert "Restart-Service MSExchangeFrontEndTransport" in script
    assert IP2 in inconsistent.fixes[0].title

    self_signed = only(findings, "cert.self_signed")
    assert self_signed.ip == IP2 and self_signed.fields["attempts"] == 2
    assert f"'{healthy.sha1}'" in (self_signed.fixes[0].powershell or "")
    assert not [f for f in findings if f.ip == IP1]


def test_two_bad_different_certificates_are_inconsistent_without_a_thumbprint_fix() -> None:
    own = F.self_signed("EXCH02", ["exch02.contoso.local"], index=71)
    old = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=100), days_valid=90, index=72)
    attempts = (attempt(IP1, 1, chain(old, INTER)), attempt(IP2, 1, chain(own)))
    inconsistent = only(run(check(host(attempts))), "cert.inconsistent")
    assert "healthy_thumbprint" not in inconsistent.fields
    assert "Get-ExchangeCertificate -DomainName" in (inconsistent.fixes[-1].powershell or "")


def test_appliance_with_a_bad_certificate_gets_appliance_fixes_only() -> None:
    forti = F.self_signed("FortiMail", [], org="Fortinet", index=73)
    findings = run(check(host((attempt(certs=chain(forti)),))))
    appliance = only(findings, "cert.appliance")
    assert appliance.severity is Severity.WARNING
    assert "Fortinet" in appliance.summary
    for finding in findings:
        if finding.id.startswith("cert."):
            assert all(fix.powershell is None for fix in finding.fixes), finding.id
    assert "on Fortinet FortiMail / FortiGate" in only(findings, "cert.self_signed").fixes[0].title


def test_appliance_with_a_good_certificate_is_information() -> None:
    barracuda = F.leaf(INTER, [HOST], org="Barracuda Networks", index=74)
    findings = run(check(host((attempt(certs=chain(barracuda, INTER)),))))
    assert ids(findings) == ["cert.appliance"]
    assert findings[0].severity is Severity.INFO


def test_injected_subject_issuer_and_names_stay_inert_in_every_fix() -> None:
    evil_ca = F.intermediate(ROOT, INJECTION, index=80)
    evil_leaf = F.leaf(evil_ca, [HOST], cn=INJECTION, index=81)
    own = F.self_signed(INJECTION, [INJECTION.replace(" ", "")], index=82)
    attempts = (attempt(IP1, 1, chain(evil_leaf)), attempt(IP2, 1, chain(own)))
    evidence = check(
        host(attempts),
        host((attempt(IP1, 1, chain(own), host=INJECTION),), name=INJECTION),
        expected_names=(INJECTION,),
    )
    findings = run(evidence)
    assert {"cert.chain_incomplete", "cert.self_signed", "cert.subject_mismatch"} <= set(
        ids(findings)
    )
    all_scripts = scripts(findings)
    assert any("Remove-Item" in s for s in all_scripts)  # the value did reach a script ...
    for script in all_scripts:
        assert "Remove-Item" not in outside_literals(script)  # ... only inside a literal
        assert "\n'" not in script


def test_five_thousand_san_certificate_is_analysed_quickly() -> None:
    names = [f"host{i}.example.net" for i in range(5000)] + [HOST]
    big = F.leaf(INTER, names, index=90)
    attempts = tuple(attempt(f"203.0.113.{i}", n, chain(big, INTER)) for i in range(10, 34)
                     for n in (1, 2))  # fmt: skip
    started = time.perf_counter()
    findings = run(check(host(attempts), expected_names=("smtp.fabrikam.com",)))
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0, elapsed  # blow-up guard; speed: benchmarks/
    mismatch = [f for f in findings if f.id == "cert.subject_mismatch"]
    assert len(mismatch) == 24
    assert len(mismatch[0].fields["sans"]) == 20  # type: ignore[arg-type]
    assert mismatch[0].fields["sans_total"] == 5001


def test_forty_certificate_chain_is_analysed_and_noted() -> None:
    issuer = ROOT
    levels = []
    for i in range(39):
        issuer = F.intermediate(issuer, f"Level {i}", index=300 + i)
        levels.append(issuer)
    leaf = F.leaf(issuer, [HOST], index=400)
    long_chain = (leaf.der, *(c.der for c in reversed(levels)))
    findings = run(check(host((attempt(certs=long_chain),))))
    assert findings and all(f.severity is Severity.ERROR for f in findings)
    assert any("sent 40 certificates" in f.explanation for f in findings)


def test_garbage_chain_never_raises() -> None:
    findings = run(check(host((attempt(certs=(b"\x30\x82garbage",)),))))
    assert ids(findings) == ["cert.untrusted"]


def test_findings_are_most_severe_first_and_every_id_has_text() -> None:
    soon = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=75), days_valid=90, index=91)
    evidence = check(
        host((attempt(certs=chain(soon, INTER)),)),
        host(name="contoso-com.mail.protection.outlook.com", addresses=("52.101.0.1",)),
        host(dns_error="SERVFAIL", name="mx2.contoso.com"),
    )
    findings = run(evidence)
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks)
    assert ids(findings) == ["dns.lookup_failed", "cert.expiring_soon", "mx.exchange_online"]
    for finding in findings:
        assert finding.summary and "{" not in finding.summary and "{" not in finding.explanation


# --- texts --------------------------------------------------------------------------------------


def test_texts_cover_every_contract_id() -> None:
    texts = default_check_texts()
    assert set(texts.findings) == set(FINDING_IDS)
    assert len(FINDING_IDS) == 45  # issue 3: 28, issue 12: 17 (dane.*, mtasts.*, tlsrpt.*)
    assert texts.severity("dns.no_mx") is Severity.WARNING
    assert texts.severity("cert.expiring_soon") is Severity.WARNING
    assert texts.severity("mx.exchange_online") is Severity.INFO


def test_fill_never_reparses_values() -> None:
    assert fill("subject {subject}", {"subject": "{host} {0} {__class__}"}) == (
        "subject {host} {0} {__class__}"
    )


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path("config") / "check_findings.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "check_findings.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('[finding."cert.appliance"]', '[finding."cert.applianse"]', "cert.appliance"),
        ('summary = "{domain} does not exist', 'summary = "{zone} does not exist', "zone"),
        ('summary = "{domain} does not exist', 'summary = "{domain!r} does not exist', "malformed"),
        ('severity = "warning"', 'severity = "fatal"', "severity"),
        ("-Thumbprint {{thumbprint}}", "-Thumbprint {{thumb}}", "placeholders"),
        ("schema = 1", "schema = 2", "schema"),
        ("[fix.postfix_chain]\n", "[fix.postfix_chain]\npowershell = 'x'\n", "not a command"),
        ('[finding."dns.nxdomain"]\n', '[finding."dns.nxdomain"]\nsevere = 1\n', "unknown keys"),
        ("[note]\n", "[note]\nspare = 'x'\n", "unknown note"),
        ('summary = "{domain} does not exist', 'summary = "{domain does not exist', "brace"),
    ],
)
def test_invalid_texts_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(CheckTextsError, match=message):
        load_check_texts(broken_copy(tmp_path, old, new))


_TEXT = st.text(max_size=80)
_ATTEMPTS = st.builds(
    AttemptEvidence,
    host=st.just(HOST),
    ip=st.sampled_from([IP1, IP2, "2001:db8::25"]),
    port=st.just(25),
    attempt=st.integers(min_value=1, max_value=3),
    banner=st.one_of(st.none(), _TEXT),
    banner_code=st.one_of(st.none(), st.integers(min_value=0, max_value=999)),
    ehlo_code=st.one_of(st.none(), st.integers(min_value=0, max_value=999)),
    ehlo_lines=st.lists(_TEXT, max_size=5).map(tuple),
    starttls_offered=st.one_of(st.none(), st.booleans()),
    tls_version=st.one_of(st.none(), st.sampled_from(["TLSv1", "TLSv1.2", "TLSv1.3", "bogus"])),
    chain=st.one_of(
        st.just(()),
        st.just(chain(GOOD, INTER)),
        st.lists(st.binary(max_size=64), max_size=3).map(tuple),
    ),
    failed_step=st.one_of(st.none(), st.sampled_from(list(Step))),
    failure=st.one_of(st.none(), st.sampled_from(list(FailureKind))),
    error=st.one_of(st.none(), _TEXT),
)


@settings(max_examples=150, deadline=None)
@given(
    attempts=st.lists(_ATTEMPTS, max_size=6).map(tuple),
    source=st.sampled_from(list(MxSource)),
    dns_error=st.one_of(st.none(), _TEXT),
    expected=st.lists(st.text(max_size=30), max_size=3).map(tuple),
)
def test_analyse_never_raises_and_texts_stay_one_line(
    attempts: tuple[AttemptEvidence, ...],
    source: MxSource,
    dns_error: str | None,
    expected: tuple[str, ...],
) -> None:
    evidence = check(host(attempts, dns_error=dns_error), source=source, dns_error=dns_error,
                     expected_names=expected)  # fmt: skip
    findings = run(evidence)
    for finding in findings:
        assert "\n" not in finding.summary
        for script in (fix.powershell for fix in finding.fixes if fix.powershell):
            assert "Remove-Item" not in outside_literals(script)
