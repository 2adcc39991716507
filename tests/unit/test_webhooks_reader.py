"""Webhook events pasted broken or with unexpected types: no exception, and only events that
carry their service's event and recipient fields become facts."""

from __future__ import annotations

import pytest

from bot.core.diagnose.decode import documents
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers.webhooks import WebhookEventsReader, load_services


def _facts(text: str) -> list[Fact]:
    reader = WebhookEventsReader()
    found: list[Fact] = []
    for document in documents([text.encode()]):
        if reader.detect(document):
            found.extend(reader.parse(document))
    return found


@pytest.mark.parametrize(
    "text",
    [
        '[{"email":"a@b.example","event":"bounce","sg_event_id":"x","reason":',  # cut off
        '{"sg_event_id": 1, "event": ["bounce"], "email": {"x": 1}}',  # wrong types
        '{"event-data": "failed", "delivery-status": null}',
        '{"RecordType": "Bounce", "TypeCode": 1, "Email": null, "Type": 7}',
        "[" * 5000 + '"sg_message_id"',  # deep nesting
        '{"sg_event_id":"x","event":"open","email":"a@b.example"}',  # not a failure
    ],
)
def test_broken_or_healthy_events_give_nothing(text: str) -> None:
    assert _facts(text) == []


def test_every_service_names_event_and_recipient_paths() -> None:
    services = load_services()
    assert {spec.name for spec in services} == {"sendgrid", "mailgun", "postmark"}
    for spec in services:
        assert spec.paths["event"] and spec.paths["recipient"] and spec.events


def test_events_of_two_services_pasted_together_are_each_read() -> None:
    text = (
        '{"email":"a@fabrikam.example","event":"bounce","type":"blocked","sg_event_id":"e1",'
        '"reason":"554 5.7.1 Service unavailable; client host blocked","status":"5.7.1"}\n'
        '{"RecordType":"Bounce","Type":"DnsError","TypeCode":3,"Email":"b@nowhere.example",'
        '"Details":"DNS lookup failed","BouncedAt":"2026-12-03T08:00:00Z"}'
    )
    facts = _facts(text)
    assert [(f.recipient, f.reason) for f in facts] == [
        ("a@fabrikam.example", "blocked"),
        ("b@nowhere.example", "hostunknown"),
    ]
