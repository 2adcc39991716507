# ruff: noqa: E501 - realistic samples keep their long lines
"""NDRs (Outlook / OWA, Exchange Online, on-premises) and Postfix / Exim / Gmail bounces."""

from __future__ import annotations

from bot.core.traces import EventKind, InputKind
from tests.unit.traces_helpers import example, run

EXO_NDR = """\
Your message to megan.bowen@contoso.com couldn't be delivered.
megan.bowen wasn't found at contoso.com.

adele.vance\tOffice 365\tmegan.bowen
Action Required\t\tRecipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the following:

More Info for Email Admins
Status code: 550 5.1.10

This error occurs because the recipient's email address can't be found in the recipient's
email system.

Original Message Details
Created Date:\t11/20/2026 9:40:12 AM
Sender Address:\tadele.vance@contoso.com
Recipient Address:\tmegan.bowen@contoso.com
Subject:\tBoard deck

Error Details
Error:\t550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient megan.bowen@contoso.com not found by SMTP address lookup
Message rejected by:\tBN8PR11MB3666.namprd11.prod.outlook.com

Notification Details
Sent by:\tPH0PR11MB4839.namprd11.prod.outlook.com

Message Hops
HOP\tTIME (UTC)\tFROM\tTO\tWITH\tRELAY TIME
1\t11/20/2026\t9:40:12 AM\tPH0PR11MB4839.namprd11.prod.outlook.com\tPH0PR11MB4839\tmapi\t*

Original Message Headers
ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;
From: Adele Vance <adele.vance@contoso.com>
To: Megan Bowen <megan.bowen@contoso.com>
Subject: Board deck
Message-ID: <PH0PR11MB48399A1B2C3D4E5F@PH0PR11MB4839.namprd11.prod.outlook.com>
"""

EXIM_BOUNCE = """\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  megan.bowen@contoso.com
    host contoso-com.mail.protection.outlook.com [52.101.40.26]
    SMTP error from remote mail server after RCPT TO:<megan.bowen@contoso.com>:
    550 5.4.1 Recipient address rejected: Access denied. [CH1PEPF0000AD79.namprd03.prod.outlook.com 2026-11-20T09:00:02.123Z 08DE0A1B2C3D4E77]
  lee.gu@contoso.com
    host contoso-com.mail.protection.outlook.com [52.101.40.26]
    SMTP error from remote mail server after RCPT TO:<lee.gu@contoso.com>:
    550 5.4.1 Recipient address rejected: Access denied.

------ This is a copy of the message, including all the headers. ------
From: Alex Wilber <alex@tailspintoys.example>
"""

GMAIL_BOUNCE = """\
Address not found

Your message wasn't delivered to sales@fabrikam.example because the address couldn't be found, or is unable to receive mail.

LEARN MORE

The response from the remote server was:
550 5.1.1 <sales@fabrikam.example>: Recipient address rejected: User unknown in local
recipient table
"""

GMAIL_OLD = """\
Delivery to the following recipient failed permanently:

     it@fabrikam.example

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient domain fabrikam.example by mx1.fabrikam.example. [192.0.2.25].

The error that the other server returned was:
554 5.7.1 <it@fabrikam.example>: Relay access denied
"""


def test_outlook_ndr_sample() -> None:
    result, [event] = run(example("ndr-outlook-5.1.1.txt"))
    assert result.kind is InputKind.NDR
    assert (event.source, event.kind) == (InputKind.NDR, EventKind.SMTP_ERROR)
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.text == "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"
    assert event.fields["recipient"] == "megan.bowen@contoso.com"
    assert event.fields["generating_server"] == "SERVER2.corp.contoso.com"
    assert event.fields["sender"] == "adele.vance@contoso.com"
    assert event.fields["subject"] == "Q4 budget review"


def test_exchange_online_ndr() -> None:
    result, [event] = run(EXO_NDR)
    assert result.kind is InputKind.NDR
    assert (event.status, event.reply_code) == ("5.1.10", "550")
    assert event.text.startswith("550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    assert event.fields["recipient"] == "megan.bowen@contoso.com"
    assert event.fields["sender"] == "adele.vance@contoso.com"
    assert event.fields["remote_server"] == "BN8PR11MB3666.namprd11.prod.outlook.com"
    assert event.fields["generating_server"] == "PH0PR11MB4839.namprd11.prod.outlook.com"
    assert event.fields["subject"] == "Board deck"
    assert event.fields["timestamp"] == "11/20/2026 9:40:12 AM"


def test_exim_bounce_two_recipients() -> None:
    result, events = run(EXIM_BOUNCE)
    assert result.kind is InputKind.BOUNCE
    assert [event.fields["recipient"] for event in events] == [
        "megan.bowen@contoso.com",
        "lee.gu@contoso.com",
    ]
    first = events[0]
    assert (first.status, first.reply_code) == ("5.4.1", "550")
    assert first.fields["remote_server"] == "contoso-com.mail.protection.outlook.com"
    assert first.fields["ip"] == "52.101.40.26"
    assert first.fields["smtp_command"] == "RCPT TO:<megan.bowen@contoso.com>"
    assert first.fields["mta"] == "exim"


def test_gmail_bounces() -> None:
    _, [event] = run(GMAIL_BOUNCE)
    assert event.source is InputKind.BOUNCE
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.fields["recipient"] == "sales@fabrikam.example"
    assert event.text.endswith("User unknown in local recipient table")
    _, [old] = run(GMAIL_OLD)
    assert (old.status, old.reply_code) == ("5.7.1", "554")
    assert old.fields["recipient"] == "it@fabrikam.example"
    assert old.fields["remote_server"] == "mx1.fabrikam.example"
    assert old.fields["ip"] == "192.0.2.25"


def test_postfix_bounce_text_with_dsn_part_is_one_event() -> None:
    text = example("dsn-postfix-5.1.1.eml")
    start = text.index("This is the mail system")
    body = text[start : text.index("--8F2A41C3E5", start)]
    dsn = text[text.index("Reporting-MTA") : text.index("--8F2A41C3E5", text.index("Reporting"))]
    result, [event] = run(body + dsn)
    assert result.kind is InputKind.BOUNCE
    assert event.fields["recipient"] == "lee.gu@fabrikam.example"
    assert event.fields["remote_server"] == "mx1.fabrikam.example"
    assert event.fields["remote_mta"] == "mx1.fabrikam.example"  # merged from the DSN part
    assert event.fields["smtp_command"] == "RCPT TO"
    assert event.fields["generating_server"] == "mail.fabrikam.example"


def test_postfix_bounce_without_remote_host() -> None:
    text = (
        "This is the mail system at host relay1.contoso.com.\n\n"
        "<old.user@contoso.com> (expanded from <alias@contoso.com>): unknown user:\n"
        '    "old.user"\n\n'
        "<partner@tailspintoys.example>: connect to mx.tailspintoys.example[203.0.113.80]:25:\n"
        "    Connection timed out\n"
    )
    _, events = run(text)
    unknown, timeout = events
    assert unknown.fields["original_recipient"] == "alias@contoso.com"
    assert unknown.text == 'unknown user: "old.user"'
    assert timeout.fields["remote_server"] == "mx.tailspintoys.example"
    assert timeout.fields["port"] == "25"


def test_ndr_in_slack_with_mentions_and_crlf() -> None:
    text = example("ndr-outlook-5.1.1.txt").replace("\n", "\r\n")
    text = (
        "<!here> can someone look at this?\r\n```"
        + text.replace(
            "megan.bowen@contoso.com", "<mailto:megan.bowen@contoso.com|megan.bowen@contoso.com>"
        )
        + "```"
    )
    _, [event] = run(text)
    assert event.fields["recipient"] == "megan.bowen@contoso.com"
    assert event.status == "5.1.1"
