"""Where the log readers (protocol logs, Postfix/Exim logs, EHLO replies) put what they observe.

The log parsers are streaming state machines fed line by line (or block by block); each
observation they make goes to a `LineSink`, which merges repeated observations into one with a
count (a huge log yields a bounded number of facts), remembers the input line each was first seen
on, and finally turns them into Facts under the canonical field names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from bot.core.diagnose.fact import Certificate, Fact, FactKind, Reply
from bot.core.models import FieldValue

MAX_TEXT = 1000  # characters kept of an observation's text
MAX_FIELD = 512  # characters kept of one field value
MAX_ITEMS = 100  # items kept of a list field (SANs, recipients)
MAX_LINE = 64 * 1024  # characters of one log line looked at
MAX_DISTINCT = 2000  # distinct observations kept; further new ones are counted in `dropped`
_MAX_RECIPIENTS = 20


class InputKind(StrEnum):
    """Which log an observation came from; the value is the reader's name."""

    PROTOCOL_LOG = "protocol_log"
    POSTFIX = "postfix_log"
    EXIM = "exim_log"
    QMAIL = "qmail_log"
    TEXT = "ehlo"


class EventKind(StrEnum):
    SMTP_ERROR = "smtp_error"
    CERT_PRESENTED = "cert_presented"
    REMOTE_CERT = "remote_cert"
    TLS_FAILURE = "tls_failure"


_FACT_KINDS = {
    EventKind.SMTP_ERROR: FactKind.DELIVERY,
    EventKind.CERT_PRESENTED: FactKind.CERTIFICATE,
    EventKind.REMOTE_CERT: FactKind.PEER_CERTIFICATE,
    EventKind.TLS_FAILURE: FactKind.TLS,
}
# The parsers' own names for facts the contract names differently.
_RENAMES = {
    "remote_server": "remote_host",
    "generating_server": "reporting_mta",
    "smtp_command": "command",
}
_CERT_FIELDS = ("subject", "issuer", "thumbprint", "not_before", "not_after", "serial")
_CORE = (
    "recipient", "sender", "remote_host", "ip", "reporting_mta", "server", "connector", "fqdn",
    "timestamp",
)  # fmt: skip
# Parts of an error text that differ between otherwise identical errors.
_VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\d[T ][\d:.]{5,15}Z?|\b[0-9A-Fa-f]{12,}\b|\d{4,}|\[InternalId=[^\]]{0,200}\]"
    r"|[\w.+'-]{1,64}@[\w.-]{1,253}"
)


def clip(value: str, limit: int = MAX_FIELD) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clean_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
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


@dataclass(frozen=True, slots=True)
class MailEvent:
    """One observation, possibly already aggregated by its parser (`fields["count"]`)."""

    source: InputKind
    kind: EventKind
    text: str
    status: str | None = None
    reply_code: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    evidence: tuple[tuple[int, str], ...] = ()


@dataclass(slots=True)
class _Merged:
    first: MailEvent
    count: int = 1
    first_seen: str | None = None
    last_seen: str | None = None
    recipients: list[str] = field(default_factory=list)


class LineSink:
    def __init__(self) -> None:
        self._merged: dict[tuple[str, ...], _Merged] = {}
        self.kinds: set[InputKind] = set()
        self.dropped = 0
        self.line = 0  # the input line being read (set by the reader that feeds the parser)
        self.line_text = ""

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
        locate: Callable[[], tuple[int, str]] | None = None,
    ) -> None:
        """Merge an observation into the one with the same key. Its evidence is the input line
        of the first: `line`/`line_text`, or what `locate` returns (asked only for a new key, so
        that a huge log does not look up the line of every repeat)."""
        values = clean_fields(fields or {})
        text = clip(text, MAX_TEXT)
        self.kinds.add(source)
        key = (
            source.value, kind.value, status or "", reply_code or "",
            _VOLATILE.sub("#", text[:300]).lower(), str(values.get("connector", "")),
            str(values.get("fqdn", "")), str(values.get("ip", "")),
        )  # fmt: skip
        stamp = values.get("timestamp")
        stamp = stamp if isinstance(stamp, str) else None
        merged = self._merged.get(key)
        if merged is None:
            if len(self._merged) >= MAX_DISTINCT:
                self.dropped += 1
                return
            line, line_text = locate() if locate is not None else (self.line, self.line_text)
            evidence = ((line, clip(line_text, 300)),) if line else ()
            event = MailEvent(
                source, kind, text, status, reply_code, MappingProxyType(values), evidence
            )
            merged = self._merged[key] = _Merged(event, first_seen=stamp, last_seen=stamp)
        else:
            merged.count += 1
            if stamp:
                merged.first_seen = min(merged.first_seen or stamp, stamp)
                merged.last_seen = max(merged.last_seen or stamp, stamp)
        recipient = values.get("recipient")
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

    def events(self) -> list[MailEvent]:
        """The merged observations, each with its count in `fields["count"]`."""
        out = []
        for merged in self._merged.values():
            event = merged.first
            fields = dict(event.fields)
            fields["count"] = merged.count
            if merged.count > 1 and merged.first_seen:
                fields["first_seen"] = merged.first_seen
                fields["last_seen"] = merged.last_seen or merged.first_seen
            out.append(
                MailEvent(
                    event.source,
                    event.kind,
                    event.text,
                    event.status,
                    event.reply_code,
                    MappingProxyType(fields),
                    event.evidence,
                )
            )
        self._merged.clear()
        return out

    def facts(self) -> list[Fact]:
        out = []
        for merged in self._merged.values():
            fields = dict(merged.first.fields)
            count = merged.count
            own_count = fields.pop("count", None)
            if isinstance(own_count, int):
                count = own_count
            if merged.count > 1 and merged.first_seen:
                fields["first_seen"] = merged.first_seen
                fields["last_seen"] = merged.last_seen or merged.first_seen
            if len(merged.recipients) > 1:
                fields["recipients"] = tuple(merged.recipients[:MAX_ITEMS])
            out.append(to_fact(merged.first, fields, count))
        self._merged.clear()
        return out


def to_fact(event: MailEvent, fields: dict[str, FieldValue], count: int) -> Fact:
    """An observation as a Fact, its fields under the contract's names."""
    values: dict[str, FieldValue] = {}
    for name, value in fields.items():
        values.setdefault(_RENAMES.get(name, name), value)
    if event.source is not InputKind.PROTOCOL_LOG and "fqdn" in values:
        fqdn = values.pop("fqdn")
        values.setdefault("remote_host", fqdn)
    certificate = None
    if any(values.get(name) for name in (*_CERT_FIELDS, "sans")):
        sans = values.pop("sans", ())
        flag = values.pop("self_signed", None)
        certificate = Certificate(
            **{name: _text(values.pop(name, None)) for name in _CERT_FIELDS},
            sans=sans if isinstance(sans, tuple) else tuple(str(sans).split(";")),
            self_signed=None if flag is None else str(flag).lower() in ("yes", "true", "1"),
        )
    core = {name: _text(values.pop(name, None)) for name in _CORE}
    command = _text(values.pop("command", None))
    # A log line's outcome is the DSN action it stands for: deferred mail is still retried.
    core["action"] = core.get("action") or _ACTIONS.get(str(values.get("delivery_status", "")))
    return Fact(
        source=event.source.value,
        kind=_FACT_KINDS[event.kind],
        status=event.status,
        reply_code=event.reply_code,
        replies=(Reply(event.reply_code, event.status, event.text),) if event.text else (),
        diagnostic=event.text,
        command=command.upper().split(" ", 1)[0] if command else None,
        certificate=certificate,
        count=max(1, count),
        lines=(event.evidence[0][0], event.evidence[-1][0]) if event.evidence else (0, 0),
        evidence=event.evidence,
        extra=values,
        **core,
    )


_ACTIONS = {"deferred": "delayed", "bounced": "failed"}


def _text(value: FieldValue | None) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
