"""RFC 3464 delivery status notifications, the fallback for every MTA that writes one.

Reads `message/delivery-status` parts (and the same fields pasted as text): the per-message fields
(Reporting-MTA, Arrival-Date, X-Postfix-Sender) and one fact per recipient group (Final-Recipient,
Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date). Malformed
reports are common: groups without blank lines between them, per-message fields inside a
recipient group, folded values; a new recipient group starts at each Final-Recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in, host_and_ip
from bot.core.diagnose.readers.mta import dsn_field_reasons

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})[ \t]*:[ \t]*(.*)$")
_DSN_MARK = re.compile(
    r"^(?:final-recipient|original-recipient|diagnostic-code|reporting-mta)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_PER_MESSAGE = frozenset(
    {
        "reporting-mta", "received-from-mta", "arrival-date", "x-postfix-sender",
        "original-envelope-id", "x-postfix-queue-id", "dsn-gateway", "x-original-message-id",
    }
)  # fmt: skip
_PER_RECIPIENT = frozenset(
    {
        "final-recipient", "original-recipient", "action", "status", "remote-mta",
        "diagnostic-code", "last-attempt-date", "will-retry-until", "x-actual-recipient",
        "final-log-id", "x-display-name", "x-supplementary-info",
    }
)  # fmt: skip
_ACTIONS = {
    "failed": "failed", "failure": "failed", "fail": "failed", "delayed": "delayed",
    "delivered": "delivered", "deliverable": "delivered", "relayed": "relayed",
    "expanded": "expanded", "expired": "delayed",
}  # fmt: skip


@dataclass(slots=True)
class Group:
    fields: dict[str, str] = field(default_factory=dict)
    first_line: int = 0
    last_line: int = 0


def read_groups(segment: Segment) -> tuple[dict[str, str], list[Group]]:
    """Per-message fields and per-recipient groups of the DSN fields in `segment`."""
    message: dict[str, str] = {}
    groups: list[Group] = []
    current: Group | None = None
    last_name = ""
    target: dict[str, str] | None = None
    offset = 0
    text = segment.text
    for line in text.split("\n"):
        line_number = segment.line(offset)
        offset += len(line) + 1
        if not line.strip():
            last_name = ""
            continue
        if line[:1] in " \t" and last_name and target is not None:
            target[last_name] = f"{target[last_name]} {line.strip()}"[:4000]
            if current is not None and target is current.fields:
                current.last_line = line_number
            continue
        found = _FIELD.match(line)
        if found is None:
            last_name = ""
            continue
        name, value = found.group(1).lower(), found.group(2).strip()
        if name in _PER_RECIPIENT:
            if _starts_group(name, current):
                current = Group(first_line=line_number)
                groups.append(current)
            assert current is not None
            current.fields[name] = value
            current.last_line = line_number
            target, last_name = current.fields, name
        elif name in _PER_MESSAGE:
            message.setdefault(name, value)
            target, last_name = message, name
        elif current is not None and name.startswith("x-"):
            current.fields.setdefault(name, value)  # a vendor's per-recipient extension field
            target, last_name = current.fields, name
        else:
            last_name = ""
            target = None
    return message, [group for group in groups if _recipient_of(group.fields)]


def _starts_group(name: str, current: Group | None) -> bool:
    """A new recipient group starts at a field the current group already has. The fields of a
    group may come in any order: a Final-Recipient after the group's Action, Status and
    Diagnostic-Code (or after its Original-Recipient) belongs to them."""
    if current is None:
        return True
    return name in current.fields


def _recipient_of(fields: dict[str, str]) -> str | None:
    for name in ("final-recipient", "original-recipient", "x-actual-recipient"):
        value = fields.get(name)
        if value:
            found = address_in(_value(value))
            if found:
                return found
    return None


def _value(raw: str) -> str:
    """`rfc822; user@x` -> `user@x`; `dns; mx.x` -> `mx.x`; `smtp; 550 ...` -> `550 ...`."""
    kind, sep, rest = raw.partition(";")
    if sep and len(kind) <= 30 and " " not in kind.strip():
        return rest.strip()
    return raw.strip()


def _type(raw: str) -> str | None:
    kind, sep, _ = raw.partition(";")
    kind = kind.strip().upper()
    return kind if sep and kind and len(kind) <= 30 and " " not in kind else None


def group_fact(group: Group, message: dict[str, str], source: str = "rfc3464") -> Fact:
    fields = group.fields
    recipient = _recipient_of(fields)
    diagnostic_raw = fields.get("diagnostic-code", "")
    diagnostic = _value(diagnostic_raw)
    status_field = fields.get("status", "")
    status = codes.status_in(status_field)
    reply = codes.find_reply(diagnostic)
    remote_host, ip = host_and_ip(_value(fields.get("remote-mta", "")))
    reporting, _ = host_and_ip(_value(message.get("reporting-mta", "")))
    action = _ACTIONS.get(fields.get("action", "").strip().lower().split(" ")[0])
    replies = (Reply(reply.reply_code, reply.status, clip(diagnostic, 2000)),) if diagnostic else ()
    extra: dict[str, str] = {}
    original = fields.get("original-recipient")
    if original:
        found = address_in(_value(original))
        if found and found != recipient:
            extra["original_recipient"] = found
    for name, key in (("x-actual-recipient", "actual_recipient"),):
        if fields.get(name):
            extra[key] = clip(_value(fields[name]))
    sender = address_in(message.get("x-postfix-sender", ""))
    return Fact(
        source=source,
        reason=_category_reason(fields),
        recipient=recipient,
        sender=sender,
        action=action,
        status=status,
        reply_code=reply.reply_code,
        replies=replies,
        diagnostic=clip(diagnostic, 2000),
        diagnostic_type=_type(diagnostic_raw),
        remote_host=remote_host,
        ip=ip,
        reporting_mta=reporting,
        timestamp=clip(fields.get("last-attempt-date", "") or message.get("arrival-date", ""))
        or None,
        lines=(group.first_line, group.last_line),
        extra={**extra, "status_field": clip(status_field, 100)} if status_field else extra,
    )


def _category_reason(fields: dict[str, str]) -> str | None:
    """The reason an MTA's own bounce-category field names (X-PowerMTA-BounceCategory, ...)."""
    for name, reasons in dsn_field_reasons().items():
        value = fields.get(name)
        if value:
            found = reasons.get(_value(value).strip().lower())
            if found:
                return found
    return None


class Rfc3464Reader(Reader):
    name = "rfc3464"
    first_window_only = False

    def detect(self, document: Document) -> int:
        if document.message is not None and document.message.first(
            "message/delivery-status", "message/global-delivery-status"
        ):
            return 40  # the DSN's own fields beat any MTA's wording of them
        head = document.text[:262144]
        if "-Recipient" not in head and "iagnostic-" not in head and "eporting-" not in head:
            return 0
        return 10 if _DSN_MARK.search(head) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for segment in document.segments:
            if not _DSN_MARK.search(segment.text):
                continue
            message, groups = read_groups(segment)
            facts.extend(group_fact(group, message) for group in groups)
        return facts
