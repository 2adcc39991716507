# ruff: noqa: E501 - realistic samples keep their long lines
"""Postfix and Exim log lines about delivery errors and TLS."""

from __future__ import annotations

from bot.core.diagnose.readers.linesink import EventKind
from bot.core.diagnose.readers.mta_log import MtaLogReader
from tests.unit.readers_helpers import Observed, example, of_kind, read


def run(text: str) -> tuple[None, list[Observed]]:
    return None, read(MtaLogReader(), [text])


EXIM_LOG = """\
2026-11-20 09:00:02 1rXyZa-0004Qm-2B ** megan.bowen@contoso.com R=dnslookup T=remote_smtp H=contoso-com.mail.protection.outlook.com [52.101.40.26] X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=yes: SMTP error from remote mail server after RCPT TO:<megan.bowen@contoso.com>: 550 5.4.1 Recipient address rejected: Access denied.
2026-11-20 09:00:03 TLS error on connection to mx.fabrikam.example [203.0.113.7] (gnutls_handshake): The TLS connection was non-properly terminated.
2026-11-20 09:00:04 1rXyZb-0004Qn-3C == it@tailspintoys.example R=dnslookup T=remote_smtp defer (-1): H=mx.tailspintoys.example [203.0.113.80]: a TLS session is required, but the server did not offer TLS support
2026-11-20 09:00:05 1rXyZc-0004Qo-4D <= adele.vance@contoso.com H=SERVER2.corp.contoso.com [10.20.0.12] P=esmtps X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 S=48213
"""


def test_postfix_sample() -> None:
    _, events = run(example("postfix-tls.log"))
    failures = of_kind(events, EventKind.TLS_FAILURE)
    errors = of_kind(events, EventKind.SMTP_ERROR)
    verification = failures[0]
    assert verification.fields["remote_host"] == "hybrid.contoso.com"
    assert verification.fields["ip"] == "198.51.100.25"
    assert verification.fields["tls_error"] == "untrusted issuer /CN=SERVER1"
    assert verification.fields["timestamp"] == "Nov 20 09:30:11"
    assert failures[1].fields["tls_error"] == "STARTTLS not offered"
    deferred = errors[0]
    assert (deferred.status, deferred.text) == ("4.7.5", "Server certificate not verified")
    assert deferred.fields["recipient"] == "megan.bowen@contoso.com"
    assert deferred.fields["delivery_status"] == "deferred"
    assert deferred.fields["queue_id"] == "5D1C22A0F3"
    bounced = errors[-1]
    assert (bounced.status, bounced.reply_code) == ("5.1.1", "550")
    assert bounced.fields["command"] == "RCPT"
    assert "queue_id" not in failures[-2].fields  # "warning:" is not a queue id
    assert failures[-1].fields["ip"] == "203.0.113.199"
    assert "remote_host" not in failures[-1].fields  # "unknown" is no host name


def test_postfix_noqueue_reject_and_sent_lines() -> None:
    text = (
        "2026-11-20T09:40:01.123456+00:00 mx1 postfix/smtpd[811]: NOQUEUE: reject: RCPT from "
        "unknown[203.0.113.199]: 554 5.7.1 <x@contoso.com>: Relay access denied; "
        "from=<spam@example.net> to=<x@contoso.com> proto=ESMTP helo=<a>\n"
        "Nov 20 09:40:02 mx1 postfix/smtp[812]: 1A2B3C4D5E: to=<ok@fabrikam.example>, "
        "relay=mx1.fabrikam.example[192.0.2.25]:25, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
    )
    _, [event] = run(text)
    assert (event.status, event.reply_code) == ("5.7.1", "554")
    assert event.fields["sender"] == "spam@example.net"
    assert event.fields["recipient"] == "x@contoso.com"
    assert event.fields["timestamp"] == "2026-11-20T09:40:01.123456+00:00"


def test_exim_log() -> None:
    _, events = run(EXIM_LOG)
    bounced = of_kind(events, EventKind.SMTP_ERROR)[0]
    assert (bounced.status, bounced.reply_code) == ("5.4.1", "550")
    assert bounced.fields["recipient"] == "megan.bowen@contoso.com"
    assert bounced.fields["remote_host"] == "contoso-com.mail.protection.outlook.com"
    assert bounced.fields["tls_cipher"] == "TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256"
    tls_error, not_offered = of_kind(events, EventKind.TLS_FAILURE)
    assert tls_error.fields["remote_host"] == "mx.fabrikam.example"
    assert tls_error.fields["ip"] == "203.0.113.7"
    assert not_offered.fields["recipient"] == "it@tailspintoys.example"
    assert len(events) == 3  # the arrival line (<=) is not an error


def test_qmail_report_lines_are_joined_and_urls_keep_their_slashes() -> None:
    text = (
        "@400000006553f1091d2c3b4a starting delivery 9: msg 77 to remote someone@gmail.example\n"
        "@400000006553f10a1d2c3b4a delivery 9: failure: 142.250.0.27_does_not_like_recipient./"
        "Remote_host_said:_550-5.1.1_The_email_account_that_you_tried_to_reach_does_not_exist./"
        "550_5.1.1_https://support.google.com/mail/?p=NoSuchUser_a1si_-_gsmtp/"
        "Giving_up_on_142.250.0.27./\n"
    )
    _, events = run(text)
    [error] = of_kind(events, EventKind.SMTP_ERROR)
    assert error.text == (
        "550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1"
        " https://support.google.com/mail/?p=NoSuchUser a1si - gsmtp"
    )
    assert error.fields["recipient"] == "someone@gmail.example"
    assert error.fields["ip"] == "142.250.0.27"
    # TAI64N: 2^62 + 10 + Unix seconds (0x6553f10a - 10 = 1700000000)
    assert error.fields["timestamp"] == "2023-11-14T22:13:20Z"


def test_qmail_deliveries_in_flight_are_bounded() -> None:
    lines = [
        f"@4000000065537f0a00000000 starting delivery {n}: msg {n} to remote u{n}@example.net"
        for n in range(120_000)
    ]
    lines.append("@4000000065537f0a00000000 delivery 1: deferral: Connection_refused_(#4.4.1)/")
    reader = MtaLogReader()
    read(reader, ["\n".join(lines) + "\n"])
    assert len(reader._parser._qmail_deliveries) == 100_000 - 1  # the bound, less the one done
