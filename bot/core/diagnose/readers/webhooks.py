"""Delivery events of e-mail services (SendGrid, Mailgun, Postmark) as their webhooks post them:

    [{"email":"megan@fabrikam.example","event":"bounce","type":"bounce","status":"5.1.1",
      "reason":"550 5.1.1 The email account does not exist","sg_message_id":"..."}]

One JSON object, a list of them, or several pasted one after the other. Where each service keeps
a fact, and which of its events are failures, is data (config/notifications/webhooks.toml);
the reason comes from the event's text unless the service names it (a dropped or blocked
event). Other events (delivered, opened, clicked) are quiet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.amazonses import NotificationSpecError
from bot.core.diagnose.readers.common import address_in, json_values
from bot.core.models import BOUNCE_REASONS
from bot.core.paths import config_dir
from bot.core.tables import Entry, load_toml

_ATTEMPTS = 16  # JSON starts tried per segment
_MAX_EVENTS = 1000
_ACTIONS = ("failed", "delayed")
_PATHS = ("root", "event", "recipient", "sender", "status", "reply_code", "text", "remote_host",
          "timestamp", "message_id", "subject")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Outcome:
    action: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    detect: tuple[str, ...]
    paths: Mapping[str, tuple[str, ...]]
    type_key: str
    events: Mapping[str, _Outcome]


@cache
def load_services() -> tuple[ServiceSpec, ...]:
    path = config_dir() / "notifications" / "webhooks.toml"
    entry = Entry(load_toml(path, NotificationSpecError), path.name, NotificationSpecError)
    services = entry.table("service")
    names = services.keys()
    specs = tuple(_service(name, services.table(name)) for name in names)
    services.done()
    entry.done()
    return specs


def _service(name: str, entry: Entry) -> ServiceSpec:
    entry.string("description")
    detect = entry.strings("detect")
    paths = {key: entry.strings(key, ()) for key in _PATHS}
    if not paths["event"] or not paths["recipient"]:
        raise entry.fail("needs the paths of event and recipient")
    type_key = entry.string("type_key", "")
    events = entry.mapping("events", lambda key, raw: _outcome(entry, key, raw))
    entry.done()
    return ServiceSpec(name, detect, paths, type_key, events)


def _outcome(parent: Entry, key: str, raw: object) -> _Outcome:
    entry = Entry(raw, f"{parent.where}: events.{key}", NotificationSpecError)
    action = entry.choice("action", _ACTIONS)
    reason = entry.choice("reason", sorted(BOUNCE_REASONS)) if entry.has("reason") else None
    entry.done()
    return _Outcome(action, reason)


class WebhookEventsReader(Reader):
    name = "webhooks"
    first_window_only = True

    def detect(self, document: Document) -> int:
        head = document.text[:1_000_000]
        if "{" not in head:
            return 0
        return 50 if any(_claims(spec, head) for spec in load_services()) else 0

    def parse(self, document: Document) -> list[Fact]:
        specs = [spec for spec in load_services() if _claims(spec, document.text[:1_000_000])]
        facts: list[Fact] = []
        for segment in document.segments:
            for span, event in _events(segment.text):
                spec = next((s for s in specs if _has(event, s)), None)
                fact = _fact(event, spec, segment, span) if spec is not None else None
                if fact is not None:
                    facts.append(fact)
                if len(facts) >= _MAX_EVENTS:
                    return facts
        return facts


def _claims(spec: ServiceSpec, head: str) -> bool:
    return any(marker in head for marker in spec.detect)


def _has(event: Mapping[str, Any], spec: ServiceSpec) -> bool:
    """Is `event` one of this service's (its event and recipient fields are where it keeps
    them)?"""
    body = _root(event, spec)
    return bool(_value(body, spec.paths["event"]) and _value(body, spec.paths["recipient"]))


def _events(text: str) -> Iterator[tuple[tuple[int, int], Mapping[str, Any]]]:
    """((start, end) offsets of the JSON value, event) for every event object in `text`."""
    for start, end, value in json_values(text, "{[", _ATTEMPTS):
        items = value if isinstance(value, list) else [value]
        for item in items[:_MAX_EVENTS]:
            if isinstance(item, dict):
                yield (start, end), item


def _fact(
    event: Mapping[str, Any], spec: ServiceSpec, segment: Segment, span: tuple[int, int]
) -> Fact | None:
    body = _root(event, spec)
    kind = _value(body, spec.paths["event"])
    detail = str(body.get(spec.type_key, "")) if spec.type_key else ""
    outcome = spec.events.get(f"{kind}/{detail}") or spec.events.get(kind)
    if outcome is None:
        return None
    text = _value(body, spec.paths["text"])
    diagnostic = clip(text.removeprefix("smtp;").strip(), 2000)
    reply = codes.find_reply(diagnostic)
    status = _value(body, spec.paths["status"])
    code = _value(body, spec.paths["reply_code"])
    lines = (segment.line(span[0]), segment.line(max(span[0], span[1] - 1)))
    extra = {
        name: clip(value, 300)
        for name, value in (
            ("message_id", _value(body, spec.paths["message_id"])),
            ("message_subject", _value(body, spec.paths["subject"])),
            ("provider_event", "/".join(part for part in (kind, detail) if part)),
        )
        if value
    }
    return Fact(
        source=WebhookEventsReader.name,
        recipient=address_in(_value(body, spec.paths["recipient"])),
        sender=address_in(_value(body, spec.paths["sender"])),
        action=outcome.action,
        reason=outcome.reason,
        status=status if codes.status_in(status) == status and status else reply.status,
        reply_code=code if code[:1] in ("4", "5") and len(code) == 3 else reply.reply_code,
        replies=(Reply(reply.reply_code, reply.status, diagnostic),) if diagnostic else (),
        diagnostic=diagnostic or f"{spec.name} {extra.get('provider_event', kind)} event",
        remote_host=_value(body, spec.paths["remote_host"]).lower() or None,
        timestamp=_value(body, spec.paths["timestamp"]) or None,
        lines=lines,
        extra={**extra, "service": spec.name},
    )


def _root(event: Mapping[str, Any], spec: ServiceSpec) -> Mapping[str, Any]:
    for path in spec.paths["root"]:
        inner = _lookup(event, path)
        if isinstance(inner, dict):
            return inner
    return event


def _value(body: Mapping[str, Any], paths: tuple[str, ...]) -> str:
    """The first of `paths` (dotted) that holds a string or a number in `body`, as text."""
    for path in paths:
        found = _lookup(body, path)
        if isinstance(found, bool) or found is None:
            continue
        if isinstance(found, (str, int, float)) and str(found).strip():
            return clip(str(found).strip(), 2000)
    return ""


def _lookup(body: Mapping[str, Any], path: str) -> object:
    found: object = body
    for part in path.split("."):
        if not isinstance(found, dict):
            return None
        found = found.get(part)
    return found
