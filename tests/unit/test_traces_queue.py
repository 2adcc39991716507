"""Exchange queue errors: Get-Queue / Get-Message output and bare LastError texts."""

from __future__ import annotations

import pytest

from bot.core.traces import EventKind, InputKind
from tests.unit.traces_helpers import example, run


def test_format_list_sample_with_wrapped_last_error() -> None:
    result, events = run(example("queue-tlscertificatename-not-found.txt"))
    assert result.kind is InputKind.QUEUE
    first, second = events
    assert first.text == (
        "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could "
        "not be found."
    )
    assert (first.status, first.reply_code) == ("4.7.5", "454")
    assert first.fields["queue"] == "SERVER2\\18"
    assert first.fields["server"] == "SERVER2"
    assert first.fields["next_hop_domain"] == "contoso.mail.onmicrosoft.com"
    assert first.fields["tls_domain"] == "mail.protection.outlook.com"
    assert first.fields["queue_status"] == "Retry"
    assert first.fields["message_count"] == "214"
    assert (second.status, second.reply_code) == ("4.4.0", "451")
    assert second.fields["last_attempted_ip"] == "203.0.113.40"
    assert second.fields["port"] == "25"
    assert second.fields["remote_response"] == "421 4.4.1 Connection timed out."
    assert (second.fields["remote_status"], second.fields["remote_reply_code"]) == ("4.4.1", "421")


def test_format_table_with_wrapped_rows() -> None:
    text = (
        "Identity     NextHopDomain           Status LastError\n"
        "--------     -------------           ------ ---------\n"
        "EX01\\7       hybrid.contoso.com      Retry  451 5.7.3 STARTTLS is required to send\n"
        "                                            mail\n"
        "EX01\\9       contoso.com             Ready\n"
        "\n"
    )
    _, [event] = run(text)
    assert event.source is InputKind.QUEUE
    assert event.text == "451 5.7.3 STARTTLS is required to send mail"
    assert event.fields["queue"] == "EX01\\7"
    assert event.fields["next_hop_domain"] == "hybrid.contoso.com"


def test_get_message_record() -> None:
    text = (
        "Identity    : EX01\\7\\81604378624\n"
        "FromAddress : adele.vance@contoso.com\n"
        "Status      : Retry\n"
        "Queue       : EX01\\7\n"
        "Recipients  : {megan.bowen@fabrikam.example;2;2;[{LRT=};{LED=};{FQDN=};{IP=}];0;}\n"
        "LastError   : 421 4.4.1 Connection timed out\n"
    )
    _, [event] = run(text)
    assert event.fields["queue"] == "EX01\\7"
    assert event.fields["message_identity"] == "EX01\\7\\81604378624"
    assert event.fields["sender"] == "adele.vance@contoso.com"
    assert event.fields["recipient"] == "megan.bowen@fabrikam.example"
    assert (event.status, event.reply_code) == ("4.4.1", "421")


@pytest.mark.parametrize(
    ("text", "kind", "status"),
    [
        ("TLS negotiation failed with error NoCredentials", EventKind.TLS_FAILURE, None),
        ("451 5.7.3 STARTTLS is required to send mail", EventKind.SMTP_ERROR, "5.7.3"),
        ("450 4.4.312 DNS query failed", EventKind.SMTP_ERROR, "4.4.312"),
        ("450 4.4.315 Connection timed out", EventKind.SMTP_ERROR, "4.4.315"),
        ("450 4.4.316 Connection refused", EventKind.SMTP_ERROR, "4.4.316"),
        ("450 4.4.317 Cannot connect to remote server", EventKind.SMTP_ERROR, "4.4.317"),
        ("450 4.4.318 Connection was closed abruptly", EventKind.SMTP_ERROR, "4.4.318"),
        ("450 4.7.320 Certificate validation failed", EventKind.SMTP_ERROR, "4.7.320"),
    ],
)
def test_bare_queue_errors(text: str, kind: EventKind, status: str | None) -> None:
    result, [event] = run(text + "\r\n")
    assert result.kind is InputKind.QUEUE
    assert (event.kind, event.status) == (kind, status)
    if kind is EventKind.TLS_FAILURE:
        assert event.fields["tls_error"] == "NoCredentials"


def test_last_error_in_list_output_is_one_event_not_two() -> None:
    text = "Identity  : EX01\\3\nLastError : 421 4.4.1 Connection timed out (smtp)\n"
    _, events = run(text)
    assert [event.source for event in events] == [InputKind.QUEUE]
