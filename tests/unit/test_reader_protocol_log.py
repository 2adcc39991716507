"""Exchange SmtpReceive / SmtpSend protocol logs."""

from __future__ import annotations

import pytest

from bot.core.diagnose.decode import documents
from bot.core.diagnose.readers.linesink import EventKind
from bot.core.diagnose.readers.protocol_log import (
    ProtocolLogReader,
    parse_certificate_data,
    same_name,
    split_subject_issuer,
)
from bot.diagnosis import diagnose_text
from tests.unit.readers_helpers import Observed, example, of_kind, read, split_randomly


def run(text: str) -> tuple[None, list[Observed]]:
    return None, read(ProtocolLogReader(), [text])


def scan(chunks: list[str]) -> list[Observed]:
    return read(ProtocolLogReader(), chunks)


FIELDS = (
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
    "event,data,context\n"
)


def test_self_signed_server1_sample() -> None:
    _, events = run(example("smtpreceive-server1-self-signed.log"))
    server1, server2 = of_kind(events, EventKind.CERT_PRESENTED)
    assert server1.fields["connector"] == "SERVER1\\Default Frontend SERVER1"
    assert server1.fields["server"] == "SERVER1"
    assert server1.fields["subject"] == server1.fields["issuer"] == "CN=SERVER1"
    assert server1.fields["self_signed"] == "yes"
    assert server1.fields["sans"] == ("SERVER1", "SERVER1.corp.contoso.com")
    assert server1.fields["thumbprint"] == "3B7D9E2A4C6F8B1D3E5A7C9F0B2D4E6A8C1F3B5D"
    assert server1.fields["fqdn"] == "SERVER1.corp.contoso.com"
    assert server1.fields["exchange_online"] == "yes"
    assert server1.fields["remote_ehlo"] == "NAM12-BN8-obe.outbound.protection.outlook.com"
    assert server1.fields["count"] == 3
    assert server1.fields["first_seen"] == "2026-11-20T08:14:02.149Z"
    assert server1.fields["last_seen"] == "2026-11-20T08:29:03.149Z"
    assert server1.fields["log_type"] == "receive"
    assert server2.fields["self_signed"] == "no"
    assert server2.fields["fqdn"] == "hybrid.contoso.com"
    sans = server2.fields["sans"]
    assert isinstance(sans, tuple)
    assert "hybrid.contoso.com" in sans
    assert server2.fields["capabilities"] == "AcceptCloudServicesMail"
    assert server2.fields["capability_domain"] == "mail.protection.outlook.com"
    [remote] = of_kind(events, EventKind.REMOTE_CERT)
    assert str(remote.fields["subject"]).startswith("CN=mail.protection.outlook.com")
    assert "chain_status" not in remote.fields  # 'Valid' is the usual case, not reported
    assert remote.fields["exchange_online"] == "yes"


def _record(seq: int, event: str, data: str, context: str = "", session: str = "08DC1111AAAA0001",
            connector: str = "EX2016\\Default Frontend EX2016",
            remote: str = "203.0.113.9:40022") -> str:  # fmt: skip
    return (
        f"2026-11-20T09:00:{seq:02d}.000Z,{connector},{session},{seq},10.0.0.5:25,{remote},"
        f"{event},{data},{context}\n"
    )


def test_exchange_2013_multi_line_certificate_and_injection_subject_kept_verbatim() -> None:
    evil = "CN=x'; Remove-Item C:\\ -Recurse; '"
    text = (
        FIELDS
        + _record(
            1, ">", '"220 mail.contoso.com Microsoft ESMTP MAIL Service ready at Fri, 20 Nov"'
        )
        + _record(2, "<", "EHLO relay.fabrikam.example")
        + _record(3, "*", "", "Sending certificate")
        + _record(4, "*", evil, "Certificate subject")
        + _record(5, "*", evil, "Certificate issuer name")
        + _record(6, "*", "1A2B", "Certificate serial number")
        + _record(7, "*", "AB" * 20, "Certificate thumbprint")
        + _record(8, "*", "mail.contoso.com;x'; Remove-Item", "Certificate alternate names")
        + _record(9, "*", "", "TLS negotiation failed with error UnknownCredentials")
    )
    for chunks in ([text], split_randomly(text, 11, pieces=30)):
        result = scan(chunks)
        events = list(result)
        [cert] = of_kind(events, EventKind.CERT_PRESENTED)
        assert cert.fields["subject"] == evil
        assert cert.fields["issuer"] == evil
        assert cert.fields["self_signed"] == "yes"
        assert cert.fields["sans"] == ("mail.contoso.com", "x'", "Remove-Item")
        assert cert.fields["fqdn"] == "mail.contoso.com"
        assert cert.fields["remote_ehlo"] == "relay.fabrikam.example"
        assert cert.fields["exchange_online"] == "no"
        [failure] = of_kind(events, EventKind.TLS_FAILURE)
        assert failure.fields["tls_error"] == "UnknownCredentials"
        assert failure.fields["thumbprint"] == "AB" * 20
        assert failure.fields["subject"] == evil


def test_one_line_certificate_with_injection_subject() -> None:
    evil = "CN=x'; Remove-Item C:\\ -Recurse; '"
    data = f'" {evil} {evil} 01 {"CD" * 20} 2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z x"'
    text = _record(1, "*", data, "Sending certificate Subject Issuer name Serial number "
                   "Thumbprint Not before Not after Subject alternate names")  # fmt: skip
    _, [cert] = run(text)
    assert cert.fields["subject"] == evil
    assert cert.fields["issuer"] == evil


def test_send_log_to_exchange_online_with_remote_error() -> None:
    connector = "Outbound to Office 365 - 2b8f8e6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    remote = "52.101.40.26:25"
    lines = [
        ("<", '"220 CH1PEPF0000AD79.mail.protection.outlook.com Microsoft ESMTP MAIL Service '
              'ready at Fri, 20 Nov 2026 09:00:01 +0000"'),
        (">", "EHLO SERVER2.corp.contoso.com"),
        ("<", "250-CH1PEPF0000AD79.mail.protection.outlook.com Hello [198.51.100.7]"),
        (">", "STARTTLS"),
        ("<", "220 2.0.0 SMTP server ready"),
        ("*", '" CN=hybrid.contoso.com CN=R11, O=Let\'s Encrypt, C=US 04AB '
              + "EF" * 20 + ' 2026-09-01T00:00:00.000Z 2026-11-30T00:00:00.000Z '
              'hybrid.contoso.com",Sending certificate Subject Issuer name Serial number '
              "Thumbprint Not before Not after Subject alternate names"),
        ("<", "550 5.7.64 TenantAttribution; Relay Access Denied "
              "[CH1PEPF0000AD79.namprd03.prod.outlook.com 2026-11-20T09:00:02.123Z]"),
    ]  # fmt: skip
    text = "".join(
        _record(i, event, data, connector=connector, remote=remote)
        if event != "*"
        else _record(
            i,
            event,
            data.split(",Sending")[0],
            "Sending" + data.split(",Sending")[1],
            connector=connector,
            remote=remote,
        )
        for i, (event, data) in enumerate(lines)
    )
    _, events = run(text)
    [cert] = of_kind(events, EventKind.CERT_PRESENTED)
    assert cert.fields["log_type"] == "send"
    assert cert.fields["fqdn"] == "SERVER2.corp.contoso.com"
    assert cert.fields["remote_ehlo"] == "CH1PEPF0000AD79.mail.protection.outlook.com"
    assert cert.fields["exchange_online"] == "yes"
    assert cert.fields["issuer"] == "CN=R11, O=Let's Encrypt, C=US"
    assert "server" not in cert.fields  # a send connector has no server in its name
    [error] = of_kind(events, EventKind.SMTP_ERROR)
    assert (error.status, error.reply_code) == ("5.7.64", "550")
    assert error.fields["direction"] == "received"
    assert error.fields["remote_host"] == "CH1PEPF0000AD79.mail.protection.outlook.com"


def test_certificates_are_aggregated_per_connector_and_thumbprint() -> None:
    data = (
        '" CN=mail.contoso.com CN=Contoso CA 0A '
        + "12" * 20
        + (' 2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z mail.contoso.com"')
    )
    context = "Sending certificate Subject Issuer name Serial number Thumbprint Not before"
    text = "".join(
        _record(i % 60, "*", data, context, session=f"08DC{i:012X}") for i in range(3000)
    )
    _, [cert] = run(text)
    assert cert.fields["count"] == 3000


def test_pasted_lines_without_header_among_chat() -> None:
    text = (
        "hey, SERVER1 logs show this:\n"
        + _record(1, "*", "", "TLS negotiation failed with error IllegalMessage")
        + "any idea? also saw 451 4.7.0 Temporary server error in the queue (smtp)\n"
    )
    _, events = run(text)
    assert {event.kind for event in events} == {EventKind.TLS_FAILURE}
    # The chat line around the pasted record is read too, by the other readers of the pipeline.
    findings = diagnose_text(text).findings
    assert {f.id for f in findings} >= {"tls.negotiation_failed"}
    assert "4.7.0" in {f.status for f in findings}


@pytest.mark.parametrize(
    ("names", "subject", "issuer"),
    [
        ("CN=a CN=b", "CN=a", "CN=b"),
        ("CN=hybrid.contoso.com, O=Contoso Corporation, C=US CN=DigiCert CA, O=DigiCert Inc",
         "CN=hybrid.contoso.com, O=Contoso Corporation, C=US", "CN=DigiCert CA, O=DigiCert Inc"),
        ('CN="a b=c", O=x CN=y', 'CN="a b=c", O=x', "CN=y"),
        ("CN=x'; Remove-Item C:\\ -Recurse; ' CN=y", "CN=x'; Remove-Item C:\\ -Recurse; '",
         "CN=y"),
    ],
)  # fmt: skip
def test_split_subject_issuer(names: str, subject: str, issuer: str) -> None:
    assert split_subject_issuer(names) == (subject, issuer)


def test_certificate_data_without_san_list() -> None:
    parsed = parse_certificate_data(" CN=a CN=a 01 " + "AB" * 20 + " 2026-01-01T00:00:00.000Z"
                                    " 2027-01-01T00:00:00.000Z ")  # fmt: skip
    assert parsed["subject"] == "CN=a"
    assert parsed["sans"] == ""


def test_same_name_compares_attribute_by_attribute() -> None:
    assert same_name("CN=Server1, O=Contoso", "O=contoso,CN=SERVER1")
    assert same_name("S=WA, CN=a", "ST=WA, CN=a")
    assert not same_name("CN=SERVER1", "CN=Contoso Issuing CA")


def test_thumbprint_only_certificate_is_kept_at_the_end_of_input() -> None:
    text = _record(1, "*", "", "Received certificate", connector="To Partner") + _record(
        2, "*", "CD" * 20, "Certificate thumbprint", connector="To Partner"
    )
    _, [cert] = run(text)
    assert cert.kind is EventKind.REMOTE_CERT
    assert cert.fields["connector"] == "To Partner"
    assert cert.fields["thumbprint"] == "CD" * 20


def test_connector_facts_and_chain_failures_across_many_sessions() -> None:
    cert = (
        '" CN=mail.contoso.com CN=Contoso CA 0A '
        + "12" * 20
        + (' 2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z mail.contoso.com"')
    )
    remote = (
        '" CN=relay.fabrikam.example CN=Fabrikam CA 0B '
        + "34" * 20
        + (' 2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z relay.fabrikam.example"')
    )
    context = "certificate Subject Issuer name Serial number Thumbprint Not before Not after"
    text = ""
    for i in range(400):
        session = f"08DC{i:012X}"
        text += _record(1, ">", '"220 mail.contoso.com Microsoft ESMTP MAIL Service, ready"',
                        session=session)  # fmt: skip
        text += _record(2, "<", "EHLO relay.fabrikam.example", session=session)
        text += _record(3, "*", cert, f"Sending {context}", session=session)
        text += _record(4, "*", remote, f"Remote {context}", session=session)
        status = "UntrustedRoot" if i == 399 else "Valid"
        text += _record(5, "*", "", f"Client certificate chain validation status: '{status}'",
                        session=session)  # fmt: skip
        text += _record(6, "*", "", "TlsDomainCapabilities='None'; Status='NoRemoteCertificate'",
                        session=session)  # fmt: skip
    events = list(scan(split_randomly(text, 2, pieces=60)))
    [own] = of_kind(events, EventKind.CERT_PRESENTED)
    [theirs] = of_kind(events, EventKind.REMOTE_CERT)
    assert own.fields["count"] == theirs.fields["count"] == 400
    assert own.fields["capabilities"] == "None"
    assert own.fields["fqdn"] == "mail.contoso.com"
    assert own.fields["remote_ehlo"] == "relay.fabrikam.example"
    assert own.fields["exchange_online"] == "no"
    assert theirs.fields["chain_status"] == "UntrustedRoot"
    assert list(scan([text])) == events


def test_the_other_readers_read_only_the_lines_that_are_not_records() -> None:
    text = (
        "#Software: Microsoft Exchange Server\n"
        + FIELDS
        + _record(1, "*", "", "TLS negotiation failed with error IllegalMessage")
        + "what the queue said:\n"
        + "LastError : 451 4.4.0 DNS query failed\n"
        + _record(2, "<", "EHLO mail.fabrikam.example", "")
        + "\n"
        + "#Date: 2026-11-20T00:00:00.000Z\n"
    )
    (document,) = documents([text.encode()])
    rest = ProtocolLogReader().foreign(document)
    assert [(s.first_line, s.text) for s in rest.segments] == [
        (4, "what the queue said:\nLastError : 451 4.4.0 DNS query failed")
    ]
    (records,) = documents([("#Software: Microsoft Exchange Server\n" + FIELDS).encode() * 2])
    assert ProtocolLogReader().foreign(records).segments == ()
