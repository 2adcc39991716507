"""Exchange Online message-trace reasons: every bracketed field is extracted."""

from __future__ import annotations

import pytest

from bot.core.traces import EventKind, InputKind
from tests.unit.traces_helpers import example, run


def test_subject_mismatch_trace_sample() -> None:
    result, [event] = run(example("message-trace-4.7.320-subject-mismatch.txt"))
    assert result.kind is InputKind.MESSAGE_TRACE
    assert (event.source, event.kind) == (InputKind.MESSAGE_TRACE, EventKind.SMTP_ERROR)
    assert (event.status, event.reply_code) == ("4.7.320", "450")
    assert event.text == "450 4.7.320 Certificate validation failed"
    fields = dict(event.fields)
    assert fields["message"] == "SubjectMismatch"
    assert fields["msg"] == "SubjectMismatch"
    assert fields["fqdn"] == fields["last_attempted_server"] == "hybrid.contoso.com"
    assert "server" not in fields  # `server` names an Exchange server, not the host tried
    assert fields["ip"] == fields["last_attempted_ip"] == "198.51.100.25"
    assert fields["port"] == "25"
    assert fields["lrt"] == "11/20/2026 8:29:03 AM"
    assert fields["generating_server"] == "BN8NAM12FT064.eop-nam12.prod.protection.outlook.com"
    assert fields["outbound_proxy_target_ip"] == "198.51.100.25"
    assert fields["outbound_proxy_target_hostname"] == "hybrid.contoso.com"
    assert str(fields["led"]).startswith("450 4.7.320 Certificate validation failed [Message=")


@pytest.mark.parametrize(
    ("led", "status", "reply", "message"),
    [
        ("450 4.4.316 Connection refused [Message=Socket error code 10061]", "4.4.316", "450",
         "Socket error code 10061"),
        ("450 4.4.315 Connection timed out [Message=TimedOut]", "4.4.315", "450", "TimedOut"),
        ("450 4.4.317 Cannot connect to remote server [Message=451 5.7.3 STARTTLS is required to "
         "send mail]", "4.4.317", "450", "451 5.7.3 STARTTLS is required to send mail"),
        ("450 4.4.318 Connection was closed abruptly [Message=Receive failed]", "4.4.318", "450",
         "Receive failed"),
        ("550 5.7.64 TenantAttribution; Relay Access Denied [Message=ATTR36]", "5.7.64", "550",
         "ATTR36"),
        ("450 4.7.323 tlsa-invalid: The domain failed DANE validation", "4.7.323", "450", None),
    ],
)  # fmt: skip
def test_other_led_forms(led: str, status: str, reply: str, message: str | None) -> None:
    text = (
        f"Reason: [{{LED={led} [LastAttemptedServerName=mx.fabrikam.example] "
        "[LastAttemptedIP=192.0.2.25:25]};{MSG=};{FQDN=mx.fabrikam.example};{IP=192.0.2.25};"
        "{LRT=}]."
    )
    _, [event] = run(text)
    assert (event.status, event.reply_code) == (status, reply)
    assert event.fields.get("message") == message
    assert event.fields["last_attempted_ip"] == event.fields["ip"] == "192.0.2.25"
    assert event.fields["port"] == "25"
    assert event.fields["fqdn"] == "mx.fabrikam.example"
    assert "msg" not in event.fields  # empty values are left out


def test_message_tracking_recipient_status() -> None:
    text = (
        "RecipientStatus : {[{LRT=};{LED=550 5.1.1 RESOLVER.ADR.RecipNotFound; not found};"
        "{FQDN=};{IP=}]}"
    )
    _, [event] = run(text)
    assert (event.source, event.status) == (InputKind.MESSAGE_TRACE, "5.1.1")
    assert event.text == "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"


def test_unknown_keys_become_snake_case_fields() -> None:
    _, [event] = run("{LED=451 4.4.0 DNS query failed [TargetHost=mx.x.example]};{ProxyHop=A1}")
    assert event.fields["target_host"] == "mx.x.example"
    assert event.fields["proxy_hop"] == "A1"


def test_trace_pasted_in_slack_with_markup() -> None:
    text = (
        "&gt; Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
        "[LastAttemptedServerName=<http://hybrid.contoso.com|hybrid.contoso.com>]};"
        "{FQDN=<http://hybrid.contoso.com|hybrid.contoso.com>}] <!here>"
    )
    _, [event] = run(text)
    assert event.fields["fqdn"] == "hybrid.contoso.com"
    assert event.fields["last_attempted_server"] == "hybrid.contoso.com"
