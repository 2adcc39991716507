"""A reply quoted inside a longer text ends at its closing quote, so what follows the quote
(Exchange's "Attempted failover ..." sentence) is not read as part of the remote server's words;
apostrophes inside words do not end it."""

from __future__ import annotations

import pytest

from bot.core.diagnose.enrich import reply_chain


@pytest.mark.parametrize(
    ("text", "replies"),
    [
        (
            'Primary target IP address responded with: "421 4.4.1 Connection timed out."'
            " Attempted failover to alternate host, but that did not succeed.",
            ["421 4.4.1 Connection timed out."],
        ),
        (
            "Remote Server returned '550 5.1.1 User's mailbox doesn't exist here'",
            ["550 5.1.1 User's mailbox doesn't exist here"],
        ),
        ("said: \u201c550 5.7.1 Rejected\u201d, giving up", ["550 5.7.1 Rejected"]),
        ('bounced "550 5.7.1 no closing quote at all', ["550 5.7.1 no closing quote at all"]),
        (
            "Remote Server returned '550 4.4.7 Message expired -> 451 4.4.395 Target host"
            " responded with error. -> 421 4.7.66 TLS is required'",
            [
                "550 4.4.7 Message expired ->",
                "451 4.4.395 Target host responded with error. ->",
                "421 4.7.66 TLS is required",
            ],
        ),
    ],
)
def test_a_quoted_reply_ends_at_its_closing_quote(text: str, replies: list[str]) -> None:
    assert [reply.text for reply in reply_chain(text)] == replies
