"""Issue 2 audit: inputs that the first version missed or diagnosed too vaguely, end to end
(text -> bot.core.traces.scan -> findings_from_events)."""

# ruff: noqa: E501  (realistic samples keep their long lines)

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.diagnose.engine import FIELD_TWINS, findings_from_events
from bot.core.models import Finding, Severity
from bot.core.traces import InputKind, scan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def diagnose(text: str) -> tuple[Finding, ...]:
    return findings_from_events(scan([text]))


def only(text: str) -> Finding:
    (finding,) = diagnose(text)
    return finding


# -- SMTP inspection (Cisco ASA) and EHLO replies without STARTTLS ----------------------------

ASA_TELNET = """\
C:\\> telnet mail.contoso.com 25
220 ****************************************************************************
EHLO test.fabrikam.com
250-mail.contoso.com Hello [203.0.113.9]
250-SIZE 37748736
250-PIPELINING
250-DSN
250-ENHANCEDSTATUSCODES
250-XXXXXXXA
250-8BITMIME
250-BINARYMIME
250-XXXXXXXB
250 XXXXXXXXXXXXXXXXXXXX
"""

POSTFIX_WITHOUT_TLS = """\
$ telnet mx.fabrikam.example 25
220 mx.fabrikam.example ESMTP Postfix
EHLO me.contoso.com
250-mx.fabrikam.example
250-PIPELINING
250-SIZE 10240000
250-ETRN
250-ENHANCEDSTATUSCODES
250-8BITMIME
250 DSN
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_pasted_ehlo_reply_masked_by_smtp_inspection(newline: str) -> None:
    finding = only(ASA_TELNET.replace("\n", newline))
    assert finding.id == "exo.tls.starttls_stripped"
    assert finding.severity is Severity.ERROR and finding.reason == "failedstarttls"
    assert finding.fields["fqdn"] == "mail.contoso.com"
    assert finding.fields["masked_keywords"] == (
        "250-XXXXXXXA",
        "250-XXXXXXXB",
        "250 XXXXXXXXXXXXXXXXXXXX",
    )
    assert finding.fields["banner"] == "masked with asterisks"
    assert finding.probe == "mail.contoso.com"


def test_pasted_ehlo_reply_in_slack_with_swaks_markers() -> None:
    text = (
        "<!here> swaks output:\n"
        "<-  220 mail.contoso.com Microsoft ESMTP MAIL Service ready\n"
        " -> EHLO test.fabrikam.com\n"
        "<-  250-mail.contoso.com Hello [203.0.113.9]\n"
        "<-  250-SIZE 37748736\n"
        "<-  250-XXXXXXXA\n"
        "<-  250 8BITMIME\n"
    )
    finding = only(text)
    assert finding.id == "exo.tls.starttls_stripped"
    assert finding.fields["fqdn"] == "mail.contoso.com"
    assert "banner" not in finding.fields  # this banner was not masked


def test_pasted_ehlo_reply_without_starttls() -> None:
    finding = only(POSTFIX_WITHOUT_TLS)
    assert (finding.id, finding.severity) == ("mta.tls.not_offered", Severity.WARNING)
    assert finding.fields["fqdn"] == "mx.fabrikam.example"
    assert "does not advertise STARTTLS" in finding.summary
    assert finding.probe == "mx.fabrikam.example"


@pytest.mark.parametrize(
    "text",
    [
        POSTFIX_WITHOUT_TLS.replace("250-ETRN", "250-STARTTLS"),
        "250 OK\n",
        "250-mail.contoso.com Hello\n250 SIZE 1000\n",  # one extension: not enough to judge
        "250 2.0.0 OK queued as 4QbC2x1yZ\n",
        "We have XXXX of budget left and 250 XXXX tickets\n",
    ],
)
def test_ordinary_ehlo_replies_and_chat_give_nothing(text: str) -> None:
    assert diagnose(text) == ()


SEND_LOG_HEADER = """\
#Software: Microsoft Exchange Server
#Version: 15.0.0.0
#Log-type: SMTP Send Protocol Log
#Date: 2026-11-20T08:00:00.000Z
#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
"""


def test_send_protocol_log_with_masked_ehlo_reply() -> None:
    log = SEND_LOG_HEADER + (
        "2026-11-20T08:10:00.100Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,0,,203.0.113.7:25,*,,attempting to connect\n"
        "2026-11-20T08:10:00.200Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,1,10.20.0.12:41022,203.0.113.7:25,+,,\n"
        "2026-11-20T08:10:00.300Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,2,10.20.0.12:41022,203.0.113.7:25,<,220 ****************************************,\n"
        "2026-11-20T08:10:00.310Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,3,10.20.0.12:41022,203.0.113.7:25,>,EHLO SERVER2.corp.contoso.com,\n"
        "2026-11-20T08:10:00.400Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,4,10.20.0.12:41022,203.0.113.7:25,<,250  mx.fabrikam.example Hello [198.51.100.25] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES XXXXXXXA 8BITMIME BINARYMIME XXXXXXXB,\n"
        "2026-11-20T08:10:00.410Z,Outbound to Fabrikam,08DE0A1B2C3D4E60,5,10.20.0.12:41022,203.0.113.7:25,>,MAIL FROM:<adele.vance@contoso.com> SIZE=2048,\n"
    )
    finding = only(log.replace("\n", "\r\n"))
    assert finding.id == "exo.tls.starttls_stripped"
    assert finding.fields["connector"] == "Outbound to Fabrikam"
    assert finding.fields["fqdn"] == "mx.fabrikam.example"  # not the masked banner
    assert finding.fields["remote_ip"] == "203.0.113.7"
    assert "remote_host" not in finding.fields  # the same fact as fqdn


SEND_WITHOUT_STARTTLS = (
    SEND_LOG_HEADER
    + """\
2026-11-20T08:10:00.200Z,Outbound to Office 365,08DE0A1B2C3D4E61,1,10.20.0.12:41022,52.101.40.26:25,+,,
2026-11-20T08:10:00.300Z,Outbound to Office 365,08DE0A1B2C3D4E61,2,10.20.0.12:41022,52.101.40.26:25,<,220 partner.fabrikam.example ESMTP ready,
2026-11-20T08:10:00.310Z,Outbound to Office 365,08DE0A1B2C3D4E61,3,10.20.0.12:41022,52.101.40.26:25,>,EHLO hybrid.contoso.com,
2026-11-20T08:10:00.400Z,Outbound to Office 365,08DE0A1B2C3D4E61,4,10.20.0.12:41022,52.101.40.26:25,<,250  partner.fabrikam.example Hello [198.51.100.25] SIZE 157286400 PIPELINING DSN ENHANCEDSTATUSCODES 8BITMIME BINARYMIME CHUNKING SMTPUTF8,
2026-11-20T08:10:00.410Z,Outbound to Office 365,08DE0A1B2C3D4E61,5,10.20.0.12:41022,52.101.40.26:25,>,MAIL FROM:<adele.vance@contoso.com> SIZE=2048,
"""
)

SEND_WITH_STARTTLS = (
    SEND_LOG_HEADER
    + """\
2026-11-20T08:10:00.200Z,Outbound to Office 365,08DE0A1B2C3D4E62,1,10.20.0.12:41022,52.101.40.26:25,+,,
2026-11-20T08:10:00.300Z,Outbound to Office 365,08DE0A1B2C3D4E62,2,10.20.0.12:41022,52.101.40.26:25,<,220 BN8NAM12FT012.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready,
2026-11-20T08:10:00.310Z,Outbound to Office 365,08DE0A1B2C3D4E62,3,10.20.0.12:41022,52.101.40.26:25,>,EHLO hybrid.contoso.com,
2026-11-20T08:10:00.400Z,Outbound to Office 365,08DE0A1B2C3D4E62,4,10.20.0.12:41022,52.101.40.26:25,<,250  BN8NAM12FT012.mail.protection.outlook.com Hello [198.51.100.25] SIZE 157286400 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS 8BITMIME BINARYMIME CHUNKING SMTPUTF8,
2026-11-20T08:10:00.410Z,Outbound to Office 365,08DE0A1B2C3D4E62,5,10.20.0.12:41022,52.101.40.26:25,>,STARTTLS,
2026-11-20T08:10:00.450Z,Outbound to Office 365,08DE0A1B2C3D4E62,6,10.20.0.12:41022,52.101.40.26:25,<,220 2.0.0 SMTP server ready,
2026-11-20T08:10:00.520Z,Outbound to Office 365,08DE0A1B2C3D4E62,7,10.20.0.12:41022,52.101.40.26:25,>,EHLO hybrid.contoso.com,
2026-11-20T08:10:00.600Z,Outbound to Office 365,08DE0A1B2C3D4E62,8,10.20.0.12:41022,52.101.40.26:25,<,250  BN8NAM12FT012.mail.protection.outlook.com Hello [198.51.100.25] SIZE 157286400 PIPELINING DSN ENHANCEDSTATUSCODES AUTH LOGIN XOAUTH2 8BITMIME BINARYMIME CHUNKING SMTPUTF8,
2026-11-20T08:10:00.610Z,Outbound to Office 365,08DE0A1B2C3D4E62,9,10.20.0.12:41022,52.101.40.26:25,>,MAIL FROM:<adele.vance@contoso.com> SIZE=2048,
"""
)


def test_send_protocol_log_with_ehlo_reply_lacking_starttls() -> None:
    finding = only(SEND_WITHOUT_STARTTLS)
    assert (finding.id, finding.severity) == ("mta.tls.not_offered", Severity.WARNING)
    assert finding.fields["fqdn"] == "partner.fabrikam.example"
    assert finding.fields["connector"] == "Outbound to Office 365"
    assert finding.probe == "partner.fabrikam.example"


def test_ehlo_reply_after_starttls_is_not_a_missing_starttls() -> None:
    assert diagnose(SEND_WITH_STARTTLS) == ()
    # the same session in a bigger log, interleaved with another one, whatever the chunking
    other = SEND_WITHOUT_STARTTLS.split("\n", 5)[5]
    lines = SEND_WITH_STARTTLS.splitlines(keepends=True)
    mixed = "".join(lines[:6]) + other + "".join(lines[6:])
    for size in (7, 64, 4096):
        chunks = [mixed[i : i + size] for i in range(0, len(mixed), size)]
        findings = findings_from_events(scan(chunks))
        assert [f.fields["fqdn"] for f in findings] == ["partner.fabrikam.example"]


def test_receive_protocol_log_with_masked_starttls_command() -> None:
    log = (
        "#Log-type: SMTP Receive Protocol Log\n"
        "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\n"
        "2026-11-20T08:14:02.100Z,SERVER1\\Default Frontend SERVER1,08DE0A1B2C3D4E70,0,10.20.0.11:25,40.107.236.72:31544,+,,\n"
        "2026-11-20T08:14:02.110Z,SERVER1\\Default Frontend SERVER1,08DE0A1B2C3D4E70,1,10.20.0.11:25,40.107.236.72:31544,>,220 hybrid.contoso.com Microsoft ESMTP MAIL Service ready,\n"
        "2026-11-20T08:14:02.120Z,SERVER1\\Default Frontend SERVER1,08DE0A1B2C3D4E70,2,10.20.0.11:25,40.107.236.72:31544,<,EHLO NAM12-BN8-obe.outbound.protection.outlook.com,\n"
        "2026-11-20T08:14:02.130Z,SERVER1\\Default Frontend SERVER1,08DE0A1B2C3D4E70,3,10.20.0.11:25,40.107.236.72:31544,<,XXXXXXXX,\n"
        "2026-11-20T08:14:02.140Z,SERVER1\\Default Frontend SERVER1,08DE0A1B2C3D4E70,4,10.20.0.11:25,40.107.236.72:31544,>,500 5.3.3 Unrecognized command 'XXXXXXXX',\n"
    )
    findings = diagnose(log)
    assert {f.id for f in findings} == {"exo.tls.starttls_stripped"}
    assert all(f.fields["server"] == "SERVER1" for f in findings)


def test_exchange_online_trace_4_4_317_keeps_its_own_code() -> None:
    finding = only(
        "Reason: [{LED=450 4.4.317 Cannot connect to remote server [Message=451 5.7.3 STARTTLS is required to send mail] "
        "[LastAttemptedServerName=mail.contoso.com] [LastAttemptedIP=203.0.113.5:25]};{FQDN=mail.contoso.com};{IP=203.0.113.5}]"
    )
    assert (finding.id, finding.status, finding.reason) == (
        "exo.connector.tls_required_not_offered",
        "4.4.317",
        "failedstarttls",
    )
    assert finding.fields["fqdn"] == "mail.contoso.com"


def test_exchange_relay_refusal_5_7_54_is_a_relay_finding() -> None:
    finding = only(
        "2026-11-20T08:10:00.400Z,SERVER2\\Default Frontend SERVER2,08DE0A1B2C3D4E64,7,10.20.0.12:25,"
        "203.0.113.239:41022,>,550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain,\n"
    )
    assert (finding.id, finding.status, finding.reason) == (
        "ndr.unable_to_relay",
        "5.7.54",
        "norelaying",
    )
    assert "5.7.54" in finding.summary and "5.7.1" not in finding.summary
    assert finding.fields["connector"] == "SERVER2\\Default Frontend SERVER2"


# -- Postfix / Exim TLS lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fqdn", "ip"),
    [
        (
            "2026-11-20 09:00:03 1rXyZa-0004Qm-2B TLS error on connection to mx.fabrikam.example [203.0.113.7] (gnutls_handshake): The certificate is NOT trusted. The certificate issuer is unknown.",
            "mx.fabrikam.example",
            "203.0.113.7",
        ),
        (
            "2026-11-20 09:00:04 1rXyZb-0004Qm-2B TLS error on connection to mx2.fabrikam.example [203.0.113.8] (SSL_connect): error:0A000086:SSL routines::certificate verify failed",
            "mx2.fabrikam.example",
            "203.0.113.8",
        ),
        (
            '2026-11-20 09:00:05 1rXyZc-0004Qm-2B SSL verify error: certificate name mismatch: DN="/CN=mail.other.example" H="mx3.fabrikam.example"',
            "mx3.fabrikam.example",
            None,
        ),
        (
            "2026-11-20 09:00:06 1rXyZd-0004Qm-2B == it@fabrikam.example R=dnslookup T=remote_smtp defer (-37) H=mx4.fabrikam.example [203.0.113.10]: TLS session: (SSL_connect): error:0A000086:SSL routines::certificate verify failed",
            "mx4.fabrikam.example",
            "203.0.113.10",
        ),
        (
            "Nov 20 09:00:02 mx1 postfix/smtp[2211]: server certificate not trusted for mx.fabrikam.example[203.0.113.7]:25",
            "mx.fabrikam.example",
            "203.0.113.7",
        ),
    ],
)
def test_certificate_failures_in_mta_logs(line: str, fqdn: str, ip: str | None) -> None:
    finding = only(line)
    assert finding.id == "mta.tls.certificate_verification_failed"
    assert finding.severity is Severity.ERROR
    assert finding.fields["fqdn"] == fqdn
    assert finding.fields.get("ip") == ip
    assert "remote_server" not in finding.fields  # the same fact as fqdn
    assert finding.probe == fqdn


def test_exim_handshake_failure_without_certificate_words_stays_generic() -> None:
    finding = only(
        "2026-11-20 09:00:07 TLS error on connection from mail.client.example (EHLO-name) [198.51.100.4] (SSL_accept): error:0A000126:SSL routines::unexpected eof while reading"
    )
    assert finding.id == "tls.negotiation_failed"
    assert finding.fields["ip"] == "198.51.100.4"


def test_postfix_untrusted_connection_alone_is_a_warning() -> None:
    finding = only(
        "Nov 20 09:00:01 mx1 postfix/smtp[2211]: Untrusted TLS connection established to mx.fabrikam.example[203.0.113.7]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
    )
    assert finding.id == "mta.tls.certificate_verification_failed"
    assert finding.severity is Severity.WARNING
    assert finding.fields["fqdn"] == "mx.fabrikam.example"


def test_postfix_untrusted_connection_next_to_a_failure_adds_nothing() -> None:
    findings = diagnose((EXAMPLES / "postfix-tls.log").read_text(encoding="utf-8"))
    hybrid = [f for f in findings if f.fields.get("fqdn") == "hybrid.contoso.com"]
    assert hybrid and all(f.severity is Severity.ERROR for f in hybrid)


def test_postfix_deferred_because_tls_not_offered_names_the_host() -> None:
    finding = only(
        "Nov 20 09:00:06 mx1 postfix/smtp[2213]: 4QbC2x1yA: to=<a@fabrikam.example>, relay=none, delay=1, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.fabrikam.example[203.0.113.7])"
    )
    assert (finding.id, finding.status) == ("mta.tls.not_offered", "4.7.4")
    assert (finding.fields["fqdn"], finding.fields["ip"]) == ("mx.fabrikam.example", "203.0.113.7")
    assert finding.fields["recipient"] == "a@fabrikam.example"


def test_postfix_deferred_after_a_failed_handshake_is_a_tls_finding() -> None:
    finding = only(
        "Nov 20 09:00:05 mx1 postfix/smtp[2212]: 4QbC2x1yZ: to=<megan.bowen@contoso.com>, relay=hybrid.contoso.com[198.51.100.25]:25, delay=1, delays=0/0/1/0, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"
    )
    assert (finding.id, finding.status, finding.reason) == (
        "tls.negotiation_failed",
        "4.7.5",
        "failedstarttls",
    )
    assert (finding.fields["fqdn"], finding.fields["recipient"]) == (
        "hybrid.contoso.com",
        "megan.bowen@contoso.com",
    )


# -- NDRs and bounces -------------------------------------------------------------------------

EXO_NDR = """\
Your message to megan.bowen@fabrikam.example couldn't be delivered.
megan.bowen wasn't found at fabrikam.example.
adele.vance       Office 365       megan.bowen
Action Required                                   Recipient
Unknown To address

How to Fix It
The address may be misspelled or may not exist.

More Info for Email Admins
Status code: 550 5.1.1

Original Message Details
Created Date:   11/20/2026 8:12:33 AM
Sender Address: adele.vance@contoso.com
Recipient Address:      megan.bowen@fabrikam.example
Subject:        Q4 numbers

Error Details
Error:  550 5.1.1 RESOLVER.ADR.RecipNotFound; not found
Message rejected by:    BN8PR11MB3666.namprd11.prod.outlook.com

Diagnostic information for administrators:

Generating server: DM6PR11MB4107.namprd11.prod.outlook.com

megan.bowen@fabrikam.example
Remote Server returned '550 5.1.1 <megan.bowen@fabrikam.example>: Recipient address rejected: User unknown in virtual mailbox table'
"""


def test_exchange_online_ndr_new_layout() -> None:
    finding = only(EXO_NDR)
    assert (finding.id, finding.status, finding.reply_code) == (
        "ndr.recipient_not_found",
        "5.1.1",
        "550",
    )
    assert finding.reason == "userunknown"
    fields = finding.fields
    assert fields["recipient"] == "megan.bowen@fabrikam.example"
    assert fields["sender"] == "adele.vance@contoso.com"
    assert fields["fqdn"] == "BN8PR11MB3666.namprd11.prod.outlook.com"
    assert fields["generating_server"] == "DM6PR11MB4107.namprd11.prod.outlook.com"
    assert "User unknown in virtual mailbox table" in str(fields["remote_response"])


def test_on_premises_ndr_hash_form() -> None:
    finding = only(
        "Delivery has failed to these recipients or groups:\n\n"
        "Lee Gu (lee.gu@contoso.com)\n"
        "The email address you entered couldn't be found.\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: SERVER2.corp.contoso.com\n\n"
        "lee.gu@contoso.com\n"
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n"
        "Original message headers:\n\n"
        "Received: from SERVER1.corp.contoso.com (10.20.0.11) by SERVER2.corp.contoso.com\n"
    )
    assert (finding.id, finding.status, finding.reply_code) == (
        "ndr.recipient_not_found",
        "5.1.1",
        "550",
    )
    assert finding.fields["recipient"] == "lee.gu@contoso.com"
    assert finding.fields["generating_server"] == "SERVER2.corp.contoso.com"
    assert finding.fields["exchange_code"] == "RESOLVER.ADR.RecipNotFound"


def test_on_premises_ndr_with_a_long_imceaex_recipient() -> None:
    legacy = (
        "IMCEAEX-_o=ContosoCorp_ou=Exchange+20Administrative+20Group+20+28FYDIBOHF23SPDLT+29"
        "_cn=Recipients_cn=5f1c0a7e9b2d4c8e8a3b6d1f0e2c4a9b-lee.gu@contoso.com"
    )
    findings = diagnose(
        "Delivery has failed to these recipients or groups:\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: EX2016.corp.contoso.com\n\n"
        "megan.bowen@contoso.com\n"
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n"
        f"{legacy}\n"
        "#550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found ##\n"
    )
    by_id = {f.id: f for f in findings}
    assert set(by_id) == {"ndr.recipient_not_found", "ndr.recipient_not_found_legacy_dn"}
    legacy_dn = by_id["ndr.recipient_not_found_legacy_dn"]
    assert len(legacy) > 64 and legacy_dn.fields["recipient"] == legacy
    assert legacy_dn.fields["x500_address"] == (
        "X500:/o=ContosoCorp/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
        "/cn=Recipients/cn=5f1c0a7e9b2d4c8e8a3b6d1f0e2c4a9b-lee.gu"
    )
    assert by_id["ndr.recipient_not_found"].fields["recipient"] == "megan.bowen@contoso.com"


@pytest.mark.parametrize(
    ("text", "expected", "recipient"),
    [
        (
            "Address not found\n\nYour message wasn't delivered to nestor.wilke@fabrikam.example because the address couldn't be found, or is unable to receive mail.\n\nThe response from the remote server was:\n550 5.1.1 The email account that you tried to reach does not exist. - gsmtp\n",
            "ndr.recipient_not_found",
            "nestor.wilke@fabrikam.example",
        ),
        (
            "Message not delivered\nThere was a problem delivering your message to alex.wilber@contoso.com. See the technical details below.\n\nThe response from the remote server was:\n451 4.7.320 Certificate validation failed\n",
            "exo.tls.certificate_validation_failed",
            "alex.wilber@contoso.com",
        ),
        (
            "Message blocked\n\nYour message to diego@fabrikam.example has been blocked. See technical details below for more information.\n\nThe response from the remote server was:\n550 5.7.1 Service unavailable, Client host [209.85.220.41] blocked using Spamhaus.\n",
            "ndr.not_authorized",
            "diego@fabrikam.example",
        ),
    ],
)
def test_gmail_bounces(text: str, expected: str, recipient: str) -> None:
    finding = only(text)
    assert finding.id == expected
    assert finding.fields["recipient"] == recipient  # no sentence dot glued to it


def test_postfix_and_exim_bounces_name_the_remote_server() -> None:
    postfix = only(
        "This is the mail system at host mail.fabrikam.example.\n\n"
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        "                   The mail system\n\n"
        "<lee.gu@tailspintoys.example>: host mx1.tailspintoys.example[192.0.2.25] said: 550\n"
        "    5.1.1 <lee.gu@tailspintoys.example>: Recipient address rejected: User unknown\n"
        "    in local recipient table (in reply to RCPT TO command)\n"
    )
    assert (postfix.id, postfix.status) == ("ndr.recipient_not_found", "5.1.1")
    assert (postfix.fields["fqdn"], postfix.fields["ip"]) == (
        "mx1.tailspintoys.example",
        "192.0.2.25",
    )
    assert postfix.fields["recipient"] == "lee.gu@tailspintoys.example"
    exim = only(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  pat@tailspintoys.example\n"
        "    host mx.tailspintoys.example [203.0.113.80]\n"
        "    SMTP error from remote mail server after RCPT TO:<pat@tailspintoys.example>:\n"
        "    550 5.7.1 <pat@tailspintoys.example>: Relay access denied\n"
    )
    assert (exim.id, exim.reason) == ("ndr.unable_to_relay", "norelaying")
    assert (exim.fields["fqdn"], exim.fields["ip"]) == ("mx.tailspintoys.example", "203.0.113.80")
    assert exim.fields["recipient"] == "pat@tailspintoys.example"


# -- fields: the contract's names, each fact once ---------------------------------------------


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.iterdir()))
def test_examples_carry_each_fact_once(name: str) -> None:
    findings = diagnose((EXAMPLES / name).read_text(encoding="utf-8"))
    assert findings
    for finding in findings:
        for twin, canonical in FIELD_TWINS.items():
            if twin in finding.fields:
                assert finding.fields[twin] != finding.fields.get(canonical), (finding.id, twin)


def test_message_trace_fields_use_contract_names() -> None:
    fields = only(
        (EXAMPLES / "message-trace-4.7.320-subject-mismatch.txt").read_text(encoding="utf-8")
    ).fields
    assert fields["message"] == "SubjectMismatch"
    assert (fields["fqdn"], fields["ip"]) == ("hybrid.contoso.com", "198.51.100.25")
    for twin in ("msg", "server", "last_attempted_ip", "outbound_proxy_target_hostname"):
        assert twin not in fields


def test_a_twin_that_says_something_else_is_kept() -> None:
    fields = only(
        "Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
        "[LastAttemptedServerName=mail2.contoso.com] [LastAttemptedIP=203.0.113.6:25]};"
        "{MSG=CertificateExpired};{FQDN=mail.contoso.com};{IP=203.0.113.5}]"
    ).fields
    assert (fields["fqdn"], fields["last_attempted_server"]) == (
        "mail.contoso.com",
        "mail2.contoso.com",
    )
    assert (fields["ip"], fields["last_attempted_ip"]) == ("203.0.113.5", "203.0.113.6")
    assert fields["msg"] == "CertificateExpired"


# -- free text: codes get their meaning, chat never raises an alarm ---------------------------


@pytest.mark.parametrize(
    "text",
    [
        "See RFC 5321 section 4.2.5 for the details of mail reply codes",
        "I sent an email to bob about the 4.4.7 release of our mail app",
        "mailbox migration is at 4.5.3 % done",
        "<!channel> please check the mail flow dashboard, version 5.7.64 released",
        "Chapter 5.7.1: certificate handling in our tls library docs",
        "Ticket #5.4.1 closed, relay project done",
        "the recipient list has 4.2.2 style numbering",
        "We upgraded Exchange 2019 to CU14 (15.2.1544.4) and the mail flow is fine",
        "price is 4.99 or 5.50 EUR for the mailbox add-on",
        "On 2024-05-06 at 08:10 we had 550 people reading their email",
        "Our SMTP relay handles 421 messages per minute",
        "the relay at 10.5.1.1 and 192.168.4.4 answers on port 25",
        "the 5.1.1 meaning in our contract",
        "what does release 5.7.1 mean",
    ],
)
def test_chat_about_mail_with_numbers_raises_no_alarm(text: str) -> None:
    result = scan([text])
    assert list(result) == []
    assert result.kind is InputKind.TEXT


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            "Error: 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP",
            "5.7.708",
        ),
        ("the smtp server said 5.6.9 for that one", "5.6.9"),
        ("bounce came back with status 4.3.2 this morning", "4.3.2"),
        ("5.7.509", "5.7.509"),
        ("`550 5.7.509`", "5.7.509"),
        ("what does 5.7.509 mean?", "5.7.509"),
        ("can you explain 4.4.316", "4.4.316"),
        ("we got error code 4.7.500 again", "4.7.500"),
    ],
)
def test_codes_in_free_text_get_at_least_their_meaning(text: str, status: str) -> None:
    finding = only(text)
    assert finding.status == status
    assert finding.summary and finding.explanation
    assert finding.reason is not None and finding.reason != "undefined"
