"""Where parsers put what they find: repeated observations are merged into one event with a
count, so a huge log yields a bounded number of events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.core.models import FieldValue
from bot.core.traces.events import EventKind, InputKind, MailEvent
from bot.core.traces.lines import MAX_ITEMS, MAX_TEXT, clip

_REPORTS = (InputKind.NDR, InputKind.BOUNCE)
MAX_DISTINCT = 2000  # distinct events kept; further new ones are counted in `dropped`
_MAX_RECIPIENTS = 20

# Parts of an error text that differ between otherwise identical errors.
_VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\d[T ][\d:.]{5,15}Z?|\b[0-9A-Fa-f]{12,}\b|\d{4,}|\[InternalId=[^\]]{0,200}\]"
    r"|[\w.+'-]{1,64}@[\w.-]{1,253}"
)


def _text_key(text: str) -> str:
    return _VOLATILE.sub("#", text[:300]).lower()


def clean_fields(fields: dict[str, FieldValue]) -> dict[str, FieldValue]:
    """Field values clipped to their caps; empty values left out."""
    out: dict[str, FieldValue] = {}
    for name, raw in fields.items():
        value: FieldValue = raw
        if isinstance(raw, str):
            value = clip(raw)
        elif isinstance(raw, tuple):
            value = tuple(clip(item) for item in raw[:MAX_ITEMS] if item.strip())
        if value not in ("", ()):
            out[name] = value
    return out


@dataclass(slots=True)
class _Merged:
    first: MailEvent
    count: int = 1
    first_seen: str | None = None
    last_seen: str | None = None
    recipients: list[str] = field(default_factory=list)


class EventSink:
    def __init__(self) -> None:
        self._merged: dict[tuple[str, ...], _Merged] = {}
        self.kinds: set[InputKind] = set()
        self.dropped = 0

    def seen(self, kind: InputKind) -> None:
        self.kinds.add(kind)

    def add(
        self,
        source: InputKind,
        kind: EventKind,
        text: str,
        *,
        status: str | None = None,
        reply_code: str | None = None,
        fields: dict[str, FieldValue] | None = None,
    ) -> None:
        values = clean_fields(fields or {})
        text = clip(text, MAX_TEXT)
        self.kinds.add(source)
        key = (
            source.value,
            kind.value,
            status or "",
            reply_code or "",
            _text_key(text),
            str(values.get("connector", "")),
            str(values.get("fqdn", "")),
            str(values.get("ip", "")),
        )
        stamp = values.get("timestamp")
        stamp = stamp if isinstance(stamp, str) else None
        recipient = values.get("recipient")
        merged = self._merged.get(key)
        if merged is None:
            if len(self._merged) >= MAX_DISTINCT:
                self.dropped += 1
                return
            event = MailEvent(source, kind, text, status, reply_code, MappingProxyType(values))
            merged = self._merged[key] = _Merged(event, first_seen=stamp, last_seen=stamp)
        else:
            merged.count += 1
            if stamp:
                merged.first_seen = min(merged.first_seen or stamp, stamp)
                merged.last_seen = max(merged.last_seen or stamp, stamp)
        if (
            isinstance(recipient, str)
            and recipient not in merged.recipients
            and len(merged.recipients) < _MAX_RECIPIENTS
        ):
            merged.recipients.append(recipient)

    def add_event(self, event: MailEvent) -> None:
        """Keep an event that a parser already aggregated itself (never merged further)."""
        self.kinds.add(event.source)
        if len(self._merged) >= MAX_DISTINCT:
            self.dropped += 1
            return
        self._merged[("own", str(len(self._merged)))] = _Merged(event)

    def merge_reports(self, prefer_dsn: bool = False) -> None:
        """A bounce pasted whole holds both the human-readable report and its DSN part: fold
        each DSN event into the NDR / bounce event of the same recipient (or, for an .eml file,
        where the DSN part is authoritative, the other way round)."""
        reports: dict[str, _Merged] = {}
        for merged in self._merged.values():
            event = merged.first
            recipient = event.fields.get("recipient")
            if event.source in _REPORTS and isinstance(recipient, str):
                reports.setdefault(recipient.casefold(), merged)
        if not reports:
            return
        for merged in list(self._merged.values()):
            event = merged.first
            recipient = event.fields.get("recipient")
            if event.source is not InputKind.DSN or not isinstance(recipient, str):
                continue
            target = reports.get(recipient.casefold())
            if target is None or (
                target.first.status and event.status and target.first.status != event.status
            ):
                continue
            keep, drop = (merged, target) if prefer_dsn else (target, merged)
            fields = {**drop.first.fields, **keep.first.fields}
            keep.first = MailEvent(
                keep.first.source,
                keep.first.kind,
                keep.first.text,
                keep.first.status or drop.first.status,
                keep.first.reply_code or drop.first.reply_code,
                MappingProxyType(fields),
            )
            for dropped_key, candidate in list(self._merged.items()):
                if candidate is drop:
                    del self._merged[dropped_key]
            if prefer_dsn:
                del reports[recipient.casefold()]

    def add_facts(self, facts: dict[str, FieldValue]) -> None:
        """Facts about the whole input (e.g. the returned message's sender) for every event."""
        for merged in self._merged.values():
            event = merged.first
            fields = {**clean_fields(facts), **event.fields}
            merged.first = MailEvent(
                event.source,
                event.kind,
                event.text,
                event.status,
                event.reply_code,
                MappingProxyType(fields),
            )

    def events(self) -> list[MailEvent]:
        out = []
        for merged in self._merged.values():
            event = merged.first
            if merged.count > 1:
                extra: dict[str, FieldValue] = dict(event.fields)
                extra["count"] = merged.count
                if merged.first_seen:
                    extra["first_seen"] = merged.first_seen
                    extra["last_seen"] = merged.last_seen or merged.first_seen
                if len(merged.recipients) > 1:
                    extra["recipients"] = tuple(merged.recipients[:MAX_ITEMS])
                event = MailEvent(
                    event.source,
                    event.kind,
                    event.text,
                    event.status,
                    event.reply_code,
                    MappingProxyType(extra),
                )
            out.append(event)
        return out
