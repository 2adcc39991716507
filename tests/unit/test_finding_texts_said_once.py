"""A finding's text names the host that answered once: "mx said: 450 ...", not
"mx said: <a@b>: host mx[ip] said: 450 ..." (the reply's own prefix is left out of templates)."""

from __future__ import annotations

from pathlib import Path

from bot.core.diagnose.pipeline import diagnose_text

SAMPLE = (
    Path(__file__).parents[1]
    / "data"
    / "diagnose"
    / "bounce.requireptr"
    / "postfix_dsn_said_450_wrapped.txt"
)


def test_the_explanation_says_who_answered_once() -> None:
    diagnosis = diagnose_text(SAMPLE.read_text(encoding="utf-8"))
    (finding,) = diagnosis.findings
    assert finding.explanation.count("said:") == 1
    assert "turing.freelists.org said: 450 4.7.1 Client host rejected" in finding.explanation
    # the fact itself keeps the whole line as the text held it
    assert str(finding.fields["diagnostic"]).startswith("<nim-dev@freelists.org>: host")
