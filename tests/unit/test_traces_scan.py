"""The scan entry point: input kinds, chunking, line caps, chat markup, no false alarms."""

from __future__ import annotations

import pytest

from bot.core.traces import EventKind, InputKind, scan
from bot.core.traces.lines import MAX_LINE, split_lines, unslack
from tests.unit.traces_helpers import example, run, split_randomly

SAMPLES = [
    "message-trace-4.7.320-subject-mismatch.txt",
    "queue-tlscertificatename-not-found.txt",
    "smtpreceive-server1-self-signed.log",
]


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("seed", range(5))
def test_random_chunking_gives_the_same_events(name: str, seed: int) -> None:
    text = example(name)
    whole = list(scan([text]))
    assert whole
    assert list(scan(split_randomly(text, seed, pieces=25))) == whole
    assert list(scan([*text[:3000], text[3000:]])) == whole  # one character a chunk


@pytest.mark.parametrize("name", SAMPLES)
def test_crlf_and_lf_give_the_same_events(name: str) -> None:
    text = example(name).replace("\r\n", "\n")
    crlf = text.replace("\n", "\r\n")
    assert list(scan([crlf])) == list(scan([text]))


def test_crlf_split_between_cr_and_lf() -> None:
    lines = [line for _, block in split_lines(["a\r", "\nb\r\n", "c\r"]) for line in block]
    assert lines == ["a\r", "b\r", "c"]


def test_blank_input_is_empty_and_chat_is_text() -> None:
    blank, events = run(" \n\r\n\t")
    assert (blank.kind, events) == (InputKind.EMPTY, [])
    empty, events = run("")
    assert (empty.kind, events) == (InputKind.EMPTY, [])
    chat, events = run("hi team, lunch at 12?\n")
    assert (chat.kind, events) == (InputKind.TEXT, [])


@pytest.mark.parametrize(
    "text",
    [
        "meet at 5.1.1 pm?",
        "we upgraded to python 3.11.2 and 4.4.4.4.4 looks odd",
        "release 5.7.1 is out, see changelog 2.1.0",
        "550 users were migrated last night",
        "call me at 421 4 555 12 12",
        "the subnet 10.5.1.1 and 192.168.4.4 are fine",
        "[[[[{{{{ 4.4.4.4.4 }}}}]]]]",
    ],
)
def test_ordinary_chat_raises_no_alarm(text: str) -> None:
    result, events = run(text)
    assert events == []
    assert result.kind is InputKind.TEXT


def test_status_code_in_free_text_with_mail_context() -> None:
    result, events = run("our mail to partner bounces: 550 5.7.26 unauthenticated email")
    assert result.kind is InputKind.TEXT
    [event] = events
    assert (event.source, event.status, event.reply_code) == (InputKind.TEXT, "5.7.26", "550")


def test_slack_markup_is_unwrapped() -> None:
    text = (
        "<!channel> <@U024BE7LH> mail to <mailto:megan.bowen@contoso.com|megan.bowen@contoso.com>"
        " fails with 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found, see <https://x.example|docs>"
    )
    _, [event] = run(text)
    assert event.fields["recipient"] == "megan.bowen@contoso.com"
    assert "<!channel>" not in event.text
    assert unslack("&lt;a@b&gt; <#C1|general>") == "<a@b> "


def test_non_ascii_text_is_kept() -> None:
    _, [event] = run(
        "Zustellung an jürgen@müller.example fehlgeschlagen: 550 5.1.1 Empfänger unbekannt"
    )
    assert event.status == "5.1.1"
    assert "Empfänger" in event.text


def test_long_lines_are_cut_whatever_the_chunking() -> None:
    line = "x" * (MAX_LINE + 500) + " 550 5.1.1 mailbox unavailable"
    text = f"{line}\nnext line 451 4.4.1 smtp timeout\n"
    whole = [lines for _, lines in split_lines([text])]
    pieces = [lines for _, lines in split_lines(split_randomly(text, 3, pieces=40))]
    assert [x for block in whole for x in block] == [x for block in pieces for x in block]
    assert max(len(x) for block in whole for x in block) == MAX_LINE
    _, events = run(text)
    assert [event.status for event in events] == ["4.4.1"]  # the cut line lost its code


def test_mixed_input_reports_mixed() -> None:
    text = (
        example("message-trace-4.7.320-subject-mismatch.txt")
        + "\n"
        + example("queue-tlscertificatename-not-found.txt")
    )
    result, events = run(text)
    assert result.kind is InputKind.MIXED
    assert {event.source for event in events} == {InputKind.MESSAGE_TRACE, InputKind.QUEUE}
    assert result.kinds == frozenset({InputKind.MESSAGE_TRACE, InputKind.QUEUE})


def test_repeated_errors_are_merged_with_a_count() -> None:
    text = "".join(
        f"delivery to user{i}@contoso.com failed: 550 5.1.1 recipient not found (smtp)\n"
        for i in range(500)
    )
    result, [event] = run(text)
    assert event.fields["count"] == 500
    recipients = event.fields["recipients"]
    assert isinstance(recipients, tuple)
    assert len(recipients) == 20
    assert result.events == 1


def test_counters() -> None:
    result, events = run("a\nb\n550 5.1.1 mailbox unavailable (smtp)\n")
    assert (result.lines, result.chars, result.events) == (3, 41, len(events))
    assert events[0].kind is EventKind.SMTP_ERROR
