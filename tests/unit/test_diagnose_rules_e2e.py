"""End to end through the real parsers: text -> bot.core.traces.scan -> findings_from_events."""

# ruff: noqa: E501  (realistic log lines are long)

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.diagnose.engine import findings_from_events
from bot.core.models import Finding, Severity
from bot.core.traces import scan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INJECTION = "CN=x'; Remove-Item C:\\ -Recurse; '"


def diagnose_text(*chunks: str) -> tuple[Finding, ...]:
    return findings_from_events(scan(chunks))


def ids(findings: tuple[Finding, ...]) -> list[str]:
    return [f.id for f in findings]


def test_example_message_trace() -> None:
    (finding,) = diagnose_text(
        (EXAMPLES / "message-trace-4.7.320-subject-mismatch.txt").read_text()
    )
    assert finding.id == "exo.tls.subject_mismatch"
    assert finding.status == "4.7.320" and finding.reply_code == "450"
    assert finding.fields["fqdn"] == "hybrid.contoso.com"
    assert finding.probe == "hybrid.contoso.com"
    assert "'hybrid.contoso.com' -like $_" in (finding.fixes[0].powershell or "")


def test_example_queue() -> None:
    findings = diagnose_text((EXAMPLES / "queue-tlscertificatename-not-found.txt").read_text())
    assert ids(findings) == ["queue.tls_certificate_not_found", "queue.connection_timed_out"]
    not_found, timed_out = findings
    assert not_found.status == "4.7.5" and not_found.fields["server"] == "SERVER2"
    assert not_found.probe is None  # a local certificate problem: nothing to probe
    # the 4.4.0 wrapper is read through to the 421 4.4.1 time-out it quotes
    assert timed_out.status == "4.4.1" and timed_out.reply_code == "421"
    assert timed_out.probe == "fabrikam-partner.example"


def test_example_protocol_log_blames_only_the_misconfigured_server() -> None:
    findings = diagnose_text((EXAMPLES / "smtpreceive-server1-self-signed.log").read_text())
    by_id = {f.id: f for f in findings}
    self_signed = by_id["protocol.cert.self_signed"]
    assert self_signed.severity is Severity.ERROR
    assert self_signed.summary == (
        "SERVER1\\Default Frontend SERVER1 presented the self-signed CN=SERVER1 "
        "without hybrid.contoso.com in its SAN"
    )
    assert self_signed.fields["occurrences"] == 3
    script = self_signed.fixes[0].powershell or ""
    assert "Set-ReceiveConnector -Identity 'SERVER1\\Default Frontend SERVER1'" in script
    assert "Enable-ExchangeCertificate -Server 'SERVER1'" in script
    # SERVER2 presents the current public certificate: no finding may name it.
    assert not [f.id for f in findings if "SERVER2" in str(f.fields.get("connector", ""))]


def test_example_protocol_log_with_an_expired_renewal_on_server2() -> None:
    text = (EXAMPLES / "smtpreceive-server1-self-signed.log").read_text()
    expired_text = text.replace(
        "2026-10-02T00:00:00.000Z 2027-10-02T23:59:59.000Z",
        "2025-11-02T00:00:00.000Z 2026-11-02T23:59:59.000Z",
    )
    assert expired_text != text
    by_id = {f.id: f for f in diagnose_text(expired_text)}
    expired = by_id["protocol.cert.expired"]
    assert expired.fields["connector"] == "SERVER2\\Default Frontend SERVER2"
    assert "Set-HybridConfiguration -TlsCertificateName $name" in (
        expired.fixes[0].powershell or ""
    )


TRACE = (
    "Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
    "[LastAttemptedServerName=hybrid.contoso.com] [LastAttemptedIP=203.0.113.5:25]};"
    "{MSG=SubjectMismatch};{FQDN=hybrid.contoso.com};{IP=203.0.113.5};{LRT=11/22/2026 10:15:02 AM}]. "
    "OutboundProxyTargetIP: 203.0.113.5. OutboundProxyTargetHostName: hybrid.contoso.com"
)
PROTOCOL_LOG = """#Software: Microsoft Exchange Server
#Version: 15.2.1544.4
#Log-type: SMTP Receive Protocol Log
#Date: 2026-11-22T10:15:00.000Z
#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
2026-11-22T10:15:00.100Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,0,10.0.0.5:25,40.107.22.51:53412,+,,
2026-11-22T10:15:00.102Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,1,10.0.0.5:25,40.107.22.51:53412,>,"220 SERVER3.corp.contoso.local Microsoft ESMTP MAIL Service ready at Sun, 22 Nov 2026 10:15:00 +0000",
2026-11-22T10:15:00.150Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,2,10.0.0.5:25,40.107.22.51:53412,<,EHLO EUR05-AM6-obe.outbound.protection.outlook.com,
2026-11-22T10:15:00.200Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,3,10.0.0.5:25,40.107.22.51:53412,<,STARTTLS,
2026-11-22T10:15:00.201Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,4,10.0.0.5:25,40.107.22.51:53412,*," CN=SERVER3 CN=SERVER3 5A3F6E1D2C9B8A7F4E3D2C1B0A998877 3F2A9C0D4E5B6A7980A1B2C3D4E5F60718293A4B 2023-01-01T00:00:00.000Z 2028-01-01T00:00:00.000Z SERVER3;SERVER3.corp.contoso.local",Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names
2026-11-22T10:15:00.300Z,SERVER3\\Default Frontend SERVER3,08DC2B5A1F3E4C71,5,10.0.0.5:25,40.107.22.51:53412,-,,Remote(ConnectionReset)
"""


def test_protocol_log_and_trace_in_one_paste() -> None:
    findings = diagnose_text(PROTOCOL_LOG, "\n", TRACE)
    assert ids(findings)[:2] == ["exo.tls.subject_mismatch", "protocol.cert.self_signed"]
    self_signed = findings[1]
    assert self_signed.summary.endswith(
        "presented the self-signed CN=SERVER3 without hybrid.contoso.com in its SAN"
    )
    assert self_signed.probe == "hybrid.contoso.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "LastError : 454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
            "queue.tls_certificate_not_found",
        ),
        (
            'LastError : 451 4.4.0 Primary target IP address responded with: "451 5.7.3 STARTTLS is required to send mail." Attempted failover to alternate host, but that did not succeed. TLS negotiation failed with error NoCredentials',
            "queue.tls_no_credentials",
        ),
        (
            "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
            "ndr.recipient_not_found",
        ),
        (
            "550 5.7.64 TenantAttribution; Relay Access Denied ATTR36. For more details please refer to KB 3169958",
            "exo.connector.certificate_domain_not_accepted",
        ),
        (
            "Remote Server returned '550 5.7.606 Access denied, banned sending IP [192.0.2.44]. To request removal from this list please visit https://sender.office.com/'",
            "ndr.sending_ip_banned",
        ),
        ("Status: 5.3.0\nDiagnostic-Code: smtp; 550 5.3.0 odd", "status.generic"),
    ],
)
def test_pasted_errors(text: str, expected: str) -> None:
    assert diagnose_text(text)[0].id == expected


@pytest.mark.parametrize(
    "text",
    [
        "hey team, lunch at 12? <!channel>",
        "Release 5.1 ships on Friday; the 2.0 API stays.",
        "Grüße aus Köln – wir sehen uns um 14:00 😀",
    ],
)
def test_ordinary_chat_yields_nothing(text: str) -> None:
    assert diagnose_text(text) == ()


def test_injection_in_a_protocol_log_stays_inert() -> None:
    evil_connector = "SERVER3\\Default Frontend SERVER3'; Remove-Item C:\\ -Recurse; '"
    poisoned = PROTOCOL_LOG.replace('" CN=SERVER3 CN=SERVER3 ', f'" {INJECTION} {INJECTION} ')
    poisoned = poisoned.replace("SERVER3\\Default Frontend SERVER3", evil_connector)
    findings = diagnose_text(poisoned, "\n", TRACE)
    scripts = [fix.powershell for f in findings for fix in f.fixes if fix.powershell]
    assert any("Remove-Item" in script for script in scripts)  # the value did reach a script
    for script in scripts:
        outside: list[str] = []
        quoted = False
        for ch in script:
            if ch == "'":
                quoted = not quoted  # a doubled '' closes and reopens: nothing escapes
            elif not quoted:
                outside.append(ch)
        assert not quoted
        assert "Remove-Item" not in "".join(outside), script


def test_a_megabyte_of_noise_is_quick_and_silent() -> None:
    noise = ("lorem ipsum dolor sit amet 1234 XXXX <@U123> " * 25_000)[:1_000_000]
    start = time.perf_counter()
    assert diagnose_text(noise) == ()
    assert time.perf_counter() - start < 20.0  # blow-up guard; speed: benchmarks/


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_diagnoses_without_raising(text: str) -> None:
    for finding in diagnose_text(text):
        assert finding.summary and "\n" not in finding.summary


POSTFIX_WARNING_THEN_DEFERRAL = (
    "Nov 22 10:15:01 mx1 postfix/smtp[12345]: certificate verification failed for "
    "hybrid.contoso.com[203.0.113.5]:25: untrusted issuer /C=US/O=Contoso/CN=Contoso Issuing CA\n"
    "Nov 22 10:15:01 mx1 postfix/smtp[12345]: 4F2A1C0D: to=<bob@contoso.com>, "
    "relay=hybrid.contoso.com[203.0.113.5]:25, delay=5, status=deferred (Server certificate not "
    "verified: 4.7.5 untrusted issuer)\n"
)


@pytest.mark.parametrize("order", ["warning first", "deferral first"])
def test_one_problem_logged_with_and_without_a_code_is_one_finding(order: str) -> None:
    lines = POSTFIX_WARNING_THEN_DEFERRAL.splitlines(keepends=True)
    text = "".join(lines if order == "warning first" else lines[::-1])
    findings = [f for f in diagnose_text(text) if f.id == "mta.tls.certificate_verification_failed"]
    assert len(findings) == 1
    assert findings[0].status == "4.7.5"
    assert findings[0].fields["occurrences"] == 2
