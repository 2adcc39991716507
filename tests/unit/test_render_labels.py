"""Fact labels: one table for the terminal and Slack; the JSON keeps the raw keys."""

from __future__ import annotations

import json

from bot.core.diagnose.causes import FACT_FIELDS
from bot.core.models import Diagnosis, Finding, InputInfo, Severity
from bot.render import blocks, labels
from bot.render.jsonout import diagnosis_to_json
from bot.render.text import finding_lines
from tests.blockkit import assert_valid_message

FACTS: dict[str, object] = {
    "occurrences": 3,
    "lrt": "11/20/2026 9:30:00 AM",
    "led": "450 4.7.320 Certificate validation failed",
    "ip": "203.0.113.5",
    "remote_widget_id": "w-1",
    "fqdn": "mail.contoso.com",
    "tls_certificate_name": "<I>CN=R3<S>CN=mail.contoso.com",
    "sans": ("mail.contoso.com", "autodiscover.contoso.com"),
}


def _finding(fields: dict[str, object]) -> Finding:
    return Finding(
        id="exo.tls.subject_mismatch",
        severity=Severity.ERROR,
        summary="Certificate name mismatch",
        fields=fields,  # type: ignore[arg-type]
    )


def test_labels_name_known_keys_and_fall_back_to_the_key() -> None:
    assert labels.label("led") == "Last error"
    assert labels.label("lrt") == "Last retry"
    assert labels.label("fqdn") == "Host"
    assert labels.label("ip") == "IP"
    assert labels.label("tls_certificate_name") == "TlsCertificateName"
    assert labels.label("sans") == "SANs"
    assert labels.label("occurrences") == "Seen"
    assert labels.label("remote_widget_id") == "remote widget id"


def test_facts_are_ordered_most_useful_first() -> None:
    keys = [key for key, _ in labels.ordered(FACTS.items())]
    assert keys[:2] == ["fqdn", "ip"]
    assert keys.index("tls_certificate_name") < keys.index("led") < keys.index("occurrences")
    assert keys[-1] == "remote_widget_id"  # unlabelled facts come last


def test_terminal_report_uses_the_labels_in_order() -> None:
    text = "\n".join(finding_lines(_finding(FACTS)))
    assert "Host: mail.contoso.com" in text and "IP: 203.0.113.5" in text
    assert "Last retry: 11/20/2026" in text and "Seen: 3" in text
    assert "SANs: mail.contoso.com, autodiscover.contoso.com" in text
    assert "remote widget id: w-1" in text
    for raw in ("fqdn:", "lrt:", "occurrences:", "sans:", "remote_widget_id:"):
        assert raw not in text
    assert text.index("Host:") < text.index("IP:") < text.index("Seen:")


def test_slack_facts_use_the_labels_in_order_and_stay_escaped() -> None:
    diagnosis = Diagnosis(InputInfo("message_trace", 10), (_finding(FACTS),))
    (message,) = blocks.diagnosis_messages(diagnosis)
    facts = next(b for b in message.blocks if b["type"] == "context")["elements"][0]["text"]
    assert facts.startswith("Host: `mail.contoso.com` · IP: `203.0.113.5`")
    assert "Last error: `450 4.7.320" in facts and "Last retry:" in facts and "Seen: `3`" in facts
    assert "TlsCertificateName: `&lt;I&gt;CN=R3&lt;S&gt;CN=mail.contoso.com`" in facts
    for raw in ("fqdn:", "led:", "lrt:", "occurrences:"):
        assert raw not in facts
    assert_valid_message(message.as_kwargs())


def test_json_keeps_the_raw_keys() -> None:
    doc = diagnosis_to_json(Diagnosis(InputInfo("message_trace", 10), (_finding(FACTS),)))
    assert set(doc["findings"][0]["fields"]) == set(FACTS)
    assert "Last error" not in json.dumps(doc)


def test_every_fact_the_diagnosis_knows_has_a_label() -> None:
    assert sorted(FACT_FIELDS - set(labels.LABELS)) == []
