"""Block Kit rendering: limits, escaping, ordering, splitting."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from bot.core import powershell
from bot.core.check.findings import describe_evidence
from bot.core.check.verdicts import check_verdict
from bot.core.evidence import AttemptEvidence, CheckEvidence, HostEvidence, MxSource
from bot.core.models import Diagnosis, Finding, Fix, InputInfo, Severity
from bot.render import blocks
from bot.render.mrkdwn import code_block, escape, split_escaped
from tests.blockkit import assert_valid_message
from tests.fakes.certs import CertFactory


def finding(i: int, severity: Severity = Severity.ERROR, **kw: object) -> Finding:
    return Finding(f"cert.case_{i}", severity, f"summary {i}", "why " * 50, **kw)  # type: ignore[arg-type]


def all_text(messages: list[blocks.Message]) -> str:
    return json.dumps([m.as_kwargs() for m in messages])


def test_escape_neutralises_slack_control_sequences() -> None:
    assert escape("<!channel> & <@U1> <https://x|y>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;"
    )
    assert "```" not in code_block("a ``` b")[3:-3]


def test_split_escaped_respects_the_escaped_length() -> None:
    text = "<" * 10_000
    chunks = split_escaped(text, 2900)
    assert "".join(chunks) == text
    assert all(len(escape(chunk)) <= 2900 for chunk in chunks)


def test_findings_most_severe_first_and_hostile_text_escaped() -> None:
    hostile = "CN=<!channel> & <!here>"
    findings = (
        finding(1, Severity.INFO),
        finding(2, Severity.WARNING, fields={"subject": hostile}),
        finding(
            3, Severity.ERROR, fixes=(Fix("run <this>", "Set-ReceiveConnector -Identity 'x'"),)
        ),
    )
    diagnosis = Diagnosis(InputInfo("ndr", 10), findings)
    messages = blocks.diagnosis_messages(diagnosis, source=hostile)
    text = all_text(messages)
    assert text.index("cert.case_3") < text.index("cert.case_2") < text.index("cert.case_1")
    assert "<!channel>" not in text and "<!here>" not in text and "<this>" not in text
    assert "&lt;!channel&gt;" in text
    for message in messages:
        assert_valid_message(message.as_kwargs())


def test_many_findings_and_huge_fixes_are_split_within_limits() -> None:
    script = "\n".join(
        f"Set-SendConnector -Identity 'c{i}' -TlsCertificateName '<I>x<S>y'" for i in range(400)
    )
    findings = tuple(finding(i, fixes=(Fix("fix", script),)) for i in range(30))
    messages = blocks.diagnosis_messages(Diagnosis(InputInfo("log", 1), findings))
    assert len(messages) > 1
    for message in messages:
        assert_valid_message(message.as_kwargs())
        assert len(message.blocks) <= 50
    assert "part 1 of" in messages[0].text


def test_probe_buttons_carry_the_host() -> None:
    findings = (finding(1, probe="hybrid.contoso.com"), finding(2, probe="hybrid.contoso.com"))
    messages = blocks.diagnosis_messages(
        Diagnosis(InputInfo("trace", 1), findings), probe_value=lambda host: f"v:{host}"
    )
    buttons = [
        e for m in messages for b in m.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Probe hybrid.contoso.com now", "v:hybrid.contoso.com")
    ]


def _evidence(chain: tuple[bytes, ...], attempts: int = 2) -> CheckEvidence:
    tries = tuple(
        AttemptEvidence(
            "mail.contoso.com",
            "203.0.113.5",
            25,
            n,
            banner="220 <!channel> ESMTP",
            starttls_offered=True,
            tls_version="TLSv1.2",
            cipher="ECDHE",
            chain=chain,
        )
        for n in range(1, attempts + 1)
    )
    host = HostEvidence("mail.contoso.com", 10, ("203.0.113.5",), attempts=tries)
    return describe_evidence(CheckEvidence("contoso.com", "contoso.com", MxSource.MX, (host,)))


def test_check_report_table_and_buttons() -> None:
    factory = CertFactory()
    cert = factory.self_signed("SERVER1", ["server1.corp.local"])
    evidence = _evidence((cert.der,))
    bad = Finding(
        "cert.self_signed", Severity.ERROR, "self-signed", host="mail.contoso.com", ip="203.0.113.5"
    )
    messages = blocks.check_report_messages(
        "contoso.com", evidence, (bad,), 1234.0, verdict=check_verdict(evidence, (bad,)),
        spec_value="{}", evidence_value="7",
    )  # fmt: skip
    text = all_text(messages)
    assert "203.0.113.5" in text and "SERVER1" in text and "cert.self_signed" in text
    assert "Watch until fixed" in text and "Show evidence" in text
    for message in messages:
        assert_valid_message(message.as_kwargs())


def test_evidence_of_huge_chains_and_san_lists_is_split_and_valid() -> None:
    factory = CertFactory()
    root = factory.root_ca()
    many_sans = factory.leaf(root, [f"h{i}.contoso.com" for i in range(5000)])
    chain = (many_sans.der, *(factory.self_signed(f"C{i}").der for i in range(40)))
    messages = blocks.evidence_messages("contoso.com", _evidence(chain, attempts=8))
    assert len(messages) > 1
    text = all_text(messages)
    assert "and 4960 more" in text
    assert "<!channel>" not in text
    for message in messages:
        assert_valid_message(message.as_kwargs())


def test_unparseable_certificate_is_described_not_raised() -> None:
    garbage = b"\x30\x03garbage"
    evidence = _evidence((garbage,), attempts=1)
    (cert,) = evidence.hosts[0].attempts[0].certs
    text = all_text(blocks.evidence_messages("contoso.com", evidence))
    assert "unparseable" in text and cert.sha1 in text and len(cert.sha1) == 40


def test_fallback_text_is_escaped() -> None:
    message = blocks.usage_message("<!channel> is not a domain")
    assert "<!channel>" not in message.as_kwargs()["text"]


def test_a_fix_shared_by_findings_is_shown_once() -> None:
    shared = Fix(
        "Bind the certificate", "Enable-ExchangeCertificate -Thumbprint 'AB' -Services SMTP"
    )
    findings = (finding(1, fixes=(shared,)), finding(2, fixes=(shared,)))
    text = all_text(blocks.diagnosis_messages(Diagnosis(InputInfo("log", 1), findings)))
    assert text.count("Enable-ExchangeCertificate") == 1
    assert "Same fix as above" in text


def test_code_full_of_fences_and_brackets_stays_within_section_limits() -> None:
    # found by the property test: breaking up ``` lengthens the text after splitting
    fix = Fix("x", "<<<<<<<<<<<<<<<<<<<<<<<<```" * 30)
    messages = blocks.diagnosis_messages(Diagnosis(InputInfo("t", 1), (finding(1, fixes=(fix,)),)))
    for message in messages:
        assert_valid_message(message.as_kwargs())


def test_watch_durations_read_naturally() -> None:
    assert blocks.duration_text(24 * 3600) == "24 h"
    assert blocks.duration_text(5400) == "1 h 30 min"
    assert blocks.duration_text(3900) == "1 h 5 min"
    assert blocks.duration_text(180) == "3 min"
    assert blocks.duration_text(0.7) == "1 s"


def test_fix_times_read_naturally() -> None:
    assert blocks.elapsed_text(0) == "in under a minute"
    assert blocks.elapsed_text(59) == "in under a minute"
    assert blocks.elapsed_text(185) == "after 3 min"
    assert blocks.elapsed_text(3900) == "after 1 h 5 min"


def test_a_watch_fixed_within_a_minute_does_not_say_zero_minutes() -> None:
    message = blocks.fixed_message("contoso.com", 12.0, ["cert.self_signed"], [])
    rendered = json.dumps(message.as_kwargs())
    assert "0 min" not in rendered
    assert "fixed in under a minute" in message.text and "fixed in under a minute" in rendered
    later = blocks.fixed_message("contoso.com", 3900.0, ["cert.self_signed"], [])
    assert "fixed after 1 h 5 min" in later.text
    assert_valid_message(later.as_kwargs())


def test_expired_watch_message_names_what_still_fails_and_escapes_the_label() -> None:
    message = blocks.watch_expired_message("<!channel>.example", "24 h", ["cert.self_signed"])
    rendered = json.dumps(message.as_kwargs())
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered
    assert "after 24 h" in message.text and "`cert.self_signed`" in rendered
    assert_valid_message(message.as_kwargs())


def _displayed_code(message_blocks: list[dict[str, Any]]) -> list[str]:
    """What Slack shows (and copies) from each code block: it unescapes &amp; &lt; &gt;."""
    shown = []
    for block in message_blocks:
        text = str((block.get("text") or {}).get("text", ""))
        if "```" in text:
            body = text[text.index("```\n") + 4 : text.rindex("\n```")]
            shown.append(html.unescape(body))
    return shown


def test_powershell_fixes_display_and_copy_exactly_as_written() -> None:
    """`<I>issuer<S>subject`, `&`, quotes and `$(...)` must come out of the code block exactly
    as the fix was written (Slack unescapes entities inside code blocks), also when a long
    script is split over several sections."""
    name = powershell.tls_certificate_name("CN=R3, O=Let's Encrypt, C=US", "CN=mail.contoso.com")
    script = (
        f"$name = {powershell.quote(name)}\n"
        '$tls = "<I>$($c.Issuer)<S>$($c.Subject)"\n'
        "& { Set-ReceiveConnector -TlsCertificateName $tls } # a && b > c\n"
    )
    short = Fix("Bind the certificate", script)
    assert _displayed_code(blocks.fix_blocks(short)) == [script.rstrip("\n")]
    long_script = "".join(f"Write-Output '<I>{i} & <S>{i}'\n" for i in range(400))
    shown = _displayed_code(blocks.fix_blocks(Fix("Long", long_script)))
    assert len(shown) > 1
    assert "\n".join(shown) == long_script.rstrip("\n")


def test_workflow_summary_is_plain_bounded_and_leads_with_errors() -> None:
    findings = (finding(1, Severity.WARNING), finding(2, Severity.ERROR))
    summary = blocks.plain_summary("contoso.com", findings, limit=200)
    assert summary.startswith("TLS check of contoso.com: 1 error")
    assert findings[1].summary in summary and findings[0].summary not in summary
    long = tuple(Finding(f"cert.case_{i}", Severity.ERROR, "x" * 500, "why") for i in range(5))
    assert len(blocks.plain_summary("contoso.com", long, limit=120)) == 120


def _timeline(user: str | None) -> list[blocks.TimelineEntry]:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    return [blocks.TimelineEntry(at, "check", "contoso.com", "error: 1 error", user)]


def test_summary_shows_who_ran_a_check_without_mentioning_them() -> None:
    """A `<@U…>` in a posted summary notifies that user every time: show the id inertly."""
    (message,) = blocks.summary_messages("this channel", _timeline("U0ALICE"))
    rendered = json.dumps(message.as_kwargs())
    assert "<@" not in rendered
    assert "`U0ALICE`" in rendered
    assert_valid_message(message.as_kwargs())
    (hostile,) = blocks.summary_messages("this channel", _timeline("<!channel>"))
    assert "<!channel>" not in json.dumps(hostile.as_kwargs())


def test_home_view_never_mentions_anybody() -> None:
    view = blocks.home_view(_timeline("U0ALICE"))
    assert "<@" not in json.dumps(view)


def test_the_evidence_lines_are_quoted_with_their_numbers_and_escaped() -> None:
    reply = "550 5.1.1 <!channel> user unknown\u2028`x`"
    finding = Finding(
        "ndr.recipient_not_found", Severity.ERROR, "gone", "why",
        fields={"diagnostic": reply, "recipient": "a@b.example"},
        evidence=((3, "Remote Server returned"), (4, reply), (5, "  "), (6, "c"), (7, "d")),
    )  # fmt: skip
    contexts = [b for b in blocks.finding_blocks(finding) if b["type"] == "context"]
    quoted = [c["elements"][0]["text"] for c in contexts if "line 4:" in c["elements"][0]["text"]]
    assert len(quoted) == 1
    text = quoted[0]
    assert "line 3: `Remote Server returned`" in text and "line 6:" in text
    assert "line 7" not in text and "(+1 more)" in text
    assert "&lt;!channel&gt;" in text and "<!" not in text and "\\u2028" in text
    facts = [
        c["elements"][0]["text"] for c in contexts if "line 4:" not in c["elements"][0]["text"]
    ]
    assert facts and all("user unknown" not in f for f in facts)  # not repeated as a fact


def test_a_shell_step_is_a_code_block_and_placeholders_say_how_to_fill_them() -> None:
    fix = Fix(
        "Flush it", shell="postqueue -f", missing=(("<sending IP address>", "the <Received> line"),)
    )
    rendered = json.dumps(blocks.fix_blocks(fix))
    assert "```\\npostqueue -f\\n```" in rendered
    assert "Replace `&lt;sending IP address&gt;`: the &lt;Received&gt; line" in rendered
