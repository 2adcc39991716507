"""RFC 3464 delivery status notifications, pasted or as whole .eml files."""

from __future__ import annotations

import base64

from bot.core.traces import InputKind, scan
from bot.core.traces.dsn import looks_like_message
from tests.unit.traces_helpers import example, run, split_randomly

PASTED = """\
Reporting-MTA: dns; mail.fabrikam.example
Arrival-Date: Fri, 20 Nov 2026 09:20:04 +0000

Final-Recipient: rfc822; a@contoso.com
Action: failed
Status: 5.7.1
Remote-MTA: dns; contoso-com.mail.protection.outlook.com
Diagnostic-Code: smtp; 550 5.7.1 Service unavailable, Client host [192.0.2.10]
 blocked using Spamhaus
Last-Attempt-Date: Fri, 20 Nov 2026 09:20:05 +0000

Final-Recipient: rfc822; b@contoso.com
Action: delayed
Status: 4.4.7
"""


def test_pasted_field_groups() -> None:
    result, events = run(PASTED)
    assert result.kind is InputKind.DSN
    blocked, delayed = events
    assert (blocked.status, blocked.reply_code) == ("5.7.1", "550")
    assert blocked.text.endswith("blocked using Spamhaus")
    assert blocked.fields["recipient"] == "a@contoso.com"
    assert blocked.fields["remote_mta"] == "contoso-com.mail.protection.outlook.com"
    assert blocked.fields["reporting_mta"] == "mail.fabrikam.example"
    assert blocked.fields["timestamp"] == "Fri, 20 Nov 2026 09:20:05 +0000"
    assert (delayed.status, delayed.fields["action"]) == ("4.4.7", "delayed")


def test_eml_sample() -> None:
    text = example("dsn-postfix-5.1.1.eml")
    assert looks_like_message(text)
    result, [event] = run(text)
    assert result.kind is InputKind.DSN
    assert event.source is InputKind.DSN
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.fields["recipient"] == "lee.gu@fabrikam.example"
    assert event.fields["sender"] == "adele.vance@contoso.com"
    assert event.fields["subject"] == "Contract draft für review"
    assert event.fields["remote_mta"] == "mx1.fabrikam.example"
    assert event.fields["ip"] == "192.0.2.25"  # from the human-readable part
    assert list(scan(split_randomly(text, 5, pieces=50))) == [event]


def test_eml_with_base64_html_exchange_report() -> None:
    html = (
        "<html><body><p><b>Delivery has failed to these recipients or groups:</b></p>"
        "<p>megan.bowen@contoso.com</p><p>Diagnostic information for administrators:</p>"
        "<p>Generating server: SERVER2.corp.contoso.com</p><p>megan.bowen@contoso.com<br>"
        "Remote Server returned '554 5.4.14 Hop count exceeded - possible mail loop "
        "ATTR34'</p></body></html>"
    )
    encoded = base64.encodebytes(html.encode()).decode()
    text = (
        "From: postmaster@contoso.com\nTo: adele.vance@contoso.com\nSubject: Undeliverable\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;"
        ' boundary="b1"\n\n--b1\nContent-Type: text/html; charset="utf-8"\n'
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--b1--\n"
    )
    result, [event] = run(text)
    assert event.source is InputKind.NDR
    assert result.kind is InputKind.NDR
    assert event.status == "5.4.14"
    assert event.fields["generating_server"] == "SERVER2.corp.contoso.com"


def test_a_chat_line_with_status_word_is_not_a_dsn() -> None:
    result, events = run("Status: Retry\nAction: reboot the server tonight\n")
    assert events == []
    assert result.kind is InputKind.TEXT
