"""Amazon SES notifications: the JSON SES publishes about a message, pasted or e-mailed.

    {"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
     "bouncedRecipients":[{"emailAddress":"megan@fabrikam.com","action":"failed",
     "status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}], ...},
     "mail":{"source":"adele@contoso.com","messageId":"0101...", ...}}

It comes bare, wrapped in an SNS envelope (`"Type" : "Notification"` with the notification as
the string `Message`), inside a Lambda event (`Records[].Sns.Message`), or as event publishing
(`eventType` instead of `notificationType`). One fact per recipient; the subtypes SES names
(suppressed, mailbox full, ...) come from config/notifications/amazonses.toml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.fact import Fact, FactKind, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in, json_values
from bot.core.models import BOUNCE_REASONS
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml

_MARKERS = ('"notificationType"', '\\"notificationType\\"', '"eventType"', '\\"eventType\\"')
_ATTEMPTS = 16  # JSON starts tried per segment: a failed parse stops early, this bounds the rest
_ARTIFACT = "!\n "  # where some mail archives folded a line longer than 998 characters
_REPORTS = ("delivery", "delay", "complaint", "bounce", "reject")


class NotificationSpecError(ConfigError):
    """config/notifications/ is malformed."""


@dataclass(frozen=True, slots=True)
class SesSpec:
    types: Mapping[str, str]  # notificationType / eventType -> what it reports
    bounce_subtypes: Mapping[str, str]
    delay_types: Mapping[str, str]


@cache
def load_spec() -> SesSpec:
    path = config_dir() / "notifications" / "amazonses.toml"
    entry = Entry(load_toml(path, NotificationSpecError), path.name, NotificationSpecError)
    entry.string("service")
    entry.string("description")
    types = _names(entry, "types", _REPORTS)
    spec = SesSpec(
        types,
        _names(entry, "bounce_subtypes", BOUNCE_REASONS),
        _names(entry, "delay_types", BOUNCE_REASONS),
    )
    entry.done()
    return spec


def _names(entry: Entry, key: str, allowed: frozenset[str] | tuple[str, ...]) -> dict[str, str]:
    table = entry.table(key)
    names = table.keys()
    out = {name: table.choice(name, sorted(allowed)) for name in names}
    table.done()
    return out


class AmazonSesReader(Reader):
    name = "amazonses"
    first_window_only = True

    def detect(self, document: Document) -> int:
        head = document.text[:1_000_000]
        if not any(marker in head for marker in _MARKERS) or '"mail' not in head.replace("\\", ""):
            return 0
        return 50

    def parse(self, document: Document) -> list[Fact]:
        spec = load_spec()
        facts: list[Fact] = []
        for segment in document.segments:
            for offset, notification in _notifications(segment.text):
                facts.extend(_facts(notification, spec, segment, offset))
        return facts


def _notifications(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(offset, notification) for every SES notification in `text`."""
    for start, _end, value in json_values(text, "{", _ATTEMPTS, _ARTIFACT):
        for notification in _unwrap(value, 0):
            yield start, notification


def _unwrap(value: object, depth: int) -> Iterator[dict[str, Any]]:
    """Notifications in a decoded value: itself, a list of them, an SNS envelope, SNS records."""
    if depth > 3:
        return
    if isinstance(value, list):
        for item in value[:1000]:
            yield from _unwrap(item, depth + 1)
        return
    if not isinstance(value, dict):
        return
    if isinstance(value.get("notificationType") or value.get("eventType"), str):
        yield value
        return
    message = value.get("Message")
    if isinstance(message, str):
        try:
            yield from _unwrap(json.loads(message), depth + 1)
        except (ValueError, RecursionError):
            return
    records = value.get("Records")
    if isinstance(records, list):
        for record in records[:1000]:
            if isinstance(record, dict):
                yield from _unwrap(record.get("Sns"), depth + 1)


def _facts(
    notification: dict[str, Any], spec: SesSpec, segment: Segment, offset: int
) -> list[Fact]:
    kind = spec.types.get(
        str(notification.get("notificationType") or notification.get("eventType"))
    )
    if kind is None:
        return []
    mail = _table(notification.get("mail"))
    report = _table(notification.get("deliveryDelay" if kind == "delay" else kind))
    line = segment.line(offset)
    base = Fact(
        source=AmazonSesReader.name,
        sender=address_in(_text(mail.get("source"))),
        reporting_mta=_after_type(_text(report.get("reportingMTA"))).lower() or None,
        ip=_text(report.get("remoteMtaIp")) or None,
        timestamp=_text(report.get("timestamp")) or None,
        lines=(line, line),
        extra=_message_extra(mail, report),
    )
    if kind == "bounce":
        return _bounces(base, report, spec)
    if kind == "delay":
        return _delays(base, report, spec)
    if kind == "complaint":
        return _notices(base, report.get("complainedRecipients"), "feedback", "")
    if kind == "delivery":
        return _notices(
            base, report.get("recipients"), "delivered", _text(report.get("smtpResponse"))
        )
    return _rejects(base, mail, report)


def _bounces(base: Fact, bounce: Mapping[str, Any], spec: SesSpec) -> list[Fact]:
    subtype = _text(bounce.get("bounceSubType"))
    reason = spec.bounce_subtypes.get(subtype)
    extra = dict(base.extra, bounce_type=f"{_text(bounce.get('bounceType'))}/{subtype}".strip("/"))
    return [
        _recipient_fact(base.with_(reason=reason, extra=extra), item)
        for item in _recipients(bounce.get("bouncedRecipients"))
    ]


def _delays(base: Fact, delay: Mapping[str, Any], spec: SesSpec) -> list[Fact]:
    delay_type = _text(delay.get("delayType"))
    extra = dict(base.extra, delay_type=delay_type) if delay_type else base.extra
    fact = base.with_(action="delayed", reason=spec.delay_types.get(delay_type), extra=extra)
    return [_recipient_fact(fact, item) for item in _recipients(delay.get("delayedRecipients"))]


def _recipient_fact(base: Fact, item: Mapping[str, Any]) -> Fact:
    diagnostic_type, diagnostic = _typed(_text(item.get("diagnosticCode")))
    reply = codes.find_reply(diagnostic)
    status = _text(item.get("status"))
    return base.with_(
        recipient=address_in(_text(item.get("emailAddress"))),
        action=_text(item.get("action")).lower() or base.action or "failed",
        status=status if codes.status_in(status) else reply.status,
        reply_code=reply.reply_code,
        replies=(Reply(reply.reply_code, reply.status, diagnostic),) if diagnostic else (),
        diagnostic=diagnostic,
        diagnostic_type=diagnostic_type,
    )


def _notices(base: Fact, recipients: object, reason: str, response: str) -> list[Fact]:
    reply = codes.find_reply(response)
    fact = base.with_(
        kind=FactKind.NOTICE,
        reason=reason,
        action="delivered" if reason == "delivered" else None,
        status=reply.status,
        reply_code=reply.reply_code,
        diagnostic=clip(response, 2000),
    )
    out = []
    for item in _list(recipients):
        address = item.get("emailAddress") if isinstance(item, dict) else item
        out.append(fact.with_(recipient=address_in(_text(address))))
    return out


def _rejects(base: Fact, mail: Mapping[str, Any], reject: Mapping[str, Any]) -> list[Fact]:
    text = clip(f"Amazon SES rejected the message: {_text(reject.get('reason'))}", 2000)
    fact = base.with_(action="failed", reason="virusdetected", diagnostic=text)
    return [fact.with_(recipient=address_in(_text(to))) for to in _list(mail.get("destination"))]


def _message_extra(mail: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, str]:
    extra: dict[str, str] = {}
    message_id = _text(mail.get("messageId"))
    if message_id:
        extra["message_id"] = clip(message_id, 300)
    subject = _text(_table(mail.get("commonHeaders")).get("subject"))
    if subject:
        extra["message_subject"] = clip(subject, 300)
    feedback = _text(report.get("complaintFeedbackType"))
    if feedback:
        extra["feedback_type"] = clip(feedback, 100)
    return extra


def _recipients(value: object) -> list[Mapping[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _list(value: object) -> list[Any]:
    return value[:1000] if isinstance(value, list) else []


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return clip(value, 2000) if isinstance(value, str) else ""


def _typed(value: str) -> tuple[str | None, str]:
    """("SMTP", "550 ...") from "smtp; 550 ..." (the RFC 3464 type prefix, when there is one)."""
    kind, separator, rest = value.partition(";")
    if separator and kind.strip().isalpha() and len(kind.strip()) <= 12:
        return kind.strip().upper(), rest.strip()
    return None, value


def _after_type(value: str) -> str:
    return _typed(value)[1]
