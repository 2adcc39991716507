"""Property: whatever findings contain, every rendered message is valid Block Kit within the
limits and no Slack control sequence (<!channel>, <@U…>, links) survives unescaped."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.check.verdicts import check_verdict
from bot.core.evidence import AttemptEvidence, CheckEvidence, HostEvidence, MxSource
from bot.core.models import Diagnosis, Finding, Fix, InputInfo, Severity
from bot.render import blocks
from tests.blockkit import assert_valid_message

TOKENS = [*"<>&!@`*_~\n\r\t |abcXYZ019.-é\u202e", "<!channel>", "<@U0BOSS>", "```", "&amp;"]
hostile_text = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)
big_text = st.builds(lambda s, n: s * n, hostile_text, st.integers(1, 30))
fixes = st.lists(st.builds(Fix, title=hostile_text, powershell=st.none() | big_text), max_size=3)
findings = st.builds(
    Finding,
    id=st.from_regex(r"[a-z]{1,8}\.[a-z_]{1,12}", fullmatch=True),
    severity=st.sampled_from(list(Severity)),
    summary=hostile_text,
    explanation=big_text,
    fields=st.dictionaries(
        st.from_regex(r"[a-z_]{1,10}", fullmatch=True), hostile_text, max_size=4
    ),
    fixes=fixes.map(tuple),
    probe=st.none() | st.from_regex(r"[a-z]{1,10}\.example\.test", fullmatch=True),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(findings, max_size=25), hostile_text)
def test_any_diagnosis_renders_valid_and_inert(found: list[Finding], source: str) -> None:
    diagnosis = Diagnosis(InputInfo("text", 1), tuple(found))
    messages = blocks.diagnosis_messages(diagnosis, source=source, probe_value=str)
    assert messages
    for message in messages:
        params = message.as_kwargs()
        assert_valid_message(params)
        sent = json.dumps(params, ensure_ascii=False)
        assert "<!" not in sent and "<@" not in sent and "<http" not in sent


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(findings, max_size=25), hostile_text, hostile_text)
def test_any_check_report_renders_valid_and_inert(
    found: list[Finding], label: str, banner: str
) -> None:
    attempt = AttemptEvidence("mx.example.test", "192.0.2.1", 25, 1, banner=banner, error=banner)
    host = HostEvidence(label or "x", 10, ("192.0.2.1",), attempts=(attempt,), dns_error=banner)
    evidence = CheckEvidence(label, label, MxSource.MX, (host,), dns_error=banner)
    verdict = check_verdict(evidence, tuple(found))
    messages = blocks.check_report_messages(
        label, evidence, tuple(found), 5.0, verdict=verdict, spec_value="{}", evidence_value="1"
    ) + blocks.evidence_messages(label, evidence)
    for message in messages:
        params = message.as_kwargs()
        assert_valid_message(params)
        sent = json.dumps(params, ensure_ascii=False)
        assert "<!" not in sent and "<@" not in sent
