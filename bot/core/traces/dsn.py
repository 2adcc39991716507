"""RFC 3464 delivery status notifications: the `message/delivery-status` field groups, pasted as
text or inside a whole `.eml` file (read with the standard library's `email` package).

    Reporting-MTA: dns; mail.fabrikam.example
    Arrival-Date: Fri, 20 Nov 2026 09:00:01 +0000

    Final-Recipient: rfc822; megan.bowen@contoso.com
    Action: failed
    Status: 5.1.1
    Remote-MTA: dns; contoso-com.mail.protection.outlook.com
    Diagnostic-Code: smtp; 550 5.1.1 <megan.bowen@contoso.com>: Recipient address rejected
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
from collections.abc import Iterator
from email.message import Message

from bot.core.models import FieldValue
from bot.core.traces.codes import find_reply
from bot.core.traces.events import EventKind, InputKind
from bot.core.traces.sink import EventSink

MAX_EML = 2 * 1024 * 1024  # characters of an .eml handed to the email package
_MAX_PARTS = 200  # MIME parts looked at (the text is cut before the part after this many)
_DSN_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9-]{1,40}):[ \t]{0,8}(.{0,4000})")
_FIELDS = {
    "reporting-mta": "reporting_mta",
    "received-from-mta": "received_from_mta",
    "arrival-date": "arrival_date",
    "final-recipient": "recipient",
    "original-recipient": "original_recipient",
    "action": "action",
    "status": "status",
    "remote-mta": "remote_mta",
    "diagnostic-code": "diagnostic_code",
    "last-attempt-date": "timestamp",
    "will-retry-until": "will_retry_until",
    "x-display-name": "display_name",
    "x-postfix-sender": "sender",
    "x-original-message-id": "message_id",
}
_PER_MESSAGE = {"reporting_mta", "received_from_mta", "arrival_date", "sender", "message_id"}
_STATUS_VALUE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_HEADER_START = re.compile(r"[!-9;-~]{1,76}:")
_HTML_TAG = re.compile(r"<[^<>]{0,2000}>")


def _value(raw: str) -> str:
    """`rfc822; user@x` -> `user@x`; `dns; mx.x` -> `mx.x`; `smtp; 550 ...` -> `550 ...`."""
    kind, sep, rest = raw.partition(";")
    if sep and kind.strip().lower() in {"rfc822", "dns", "smtp", "x-local-hostname", "x-unix"}:
        return rest.strip()
    return raw.strip()


class DsnParser:
    """Line-based reader of DSN field groups (blank lines separate groups)."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._message: dict[str, FieldValue] = {}
        self._group: dict[str, FieldValue] = {}
        self._last = ""  # field name a folded line continues

    def feed(self, line: str) -> bool:
        stripped = line.strip()
        if not stripped:
            self._end_group()
            return False
        if self._last and line[:1] in (" ", "\t") and (self._group or self._message):
            target = self._group if self._last in self._group else self._message
            target[self._last] = f"{target.get(self._last, '')} {stripped}".strip()
            return True
        self._last = ""
        match = _DSN_FIELD.fullmatch(stripped)
        if match is None:
            return False
        name = _FIELDS.get(match.group(1).lower())
        if name is None:
            return bool(self._group) and match.group(1).lower().startswith("x-")
        value = _value(match.group(2))
        if name == "status" and not _STATUS_VALUE.fullmatch(value.split(" ", 1)[0]):
            return False  # "Status: Retry" and the like are not DSN fields
        if name == "action" and value.lower() not in {
            "failed", "delayed", "delivered", "relayed", "expanded",
        }:  # fmt: skip
            return False
        if name in _PER_MESSAGE and not self._group:
            self._message[name] = value
        else:
            self._group[name] = value
        self._last = name
        return True

    def finish(self) -> None:
        self._end_group()

    def _end_group(self) -> None:
        group, self._group, self._last = self._group, {}, ""
        if "status" not in group and "diagnostic_code" not in group:
            if group.keys() & {"reporting_mta", "received_from_mta", "arrival_date"}:
                self._message.update(group)  # a per-message group seen first
            return
        fields = {**self._message, **group}
        diagnostic = str(fields.get("diagnostic_code", ""))
        status = str(fields.get("status", "")).split(" ", 1)[0] or None
        reply = find_reply(diagnostic)
        if "remote_mta" in fields:
            fields.setdefault("remote_server", fields["remote_mta"])
            fields.setdefault("fqdn", fields["remote_mta"])
        if "reporting_mta" in fields:
            fields.setdefault("generating_server", fields["reporting_mta"])
        text = diagnostic or f"Status: {status} ({fields.get('action', 'failed')})"
        fields.pop("status", None)
        self._sink.add(
            InputKind.DSN,
            EventKind.SMTP_ERROR,
            text,
            status=status or reply.status,
            reply_code=reply.reply_code,
            fields=fields,
        )


# -- whole messages (.eml) ----------------------------------------------------------------------
def looks_like_message(head: str) -> bool:
    """True when `head` (the start of the input) is an RFC 5322 message whose header block
    declares MIME content: the input is then read as an .eml file."""
    lines = head.split("\n", 400)
    seen_mime = False
    for index, raw in enumerate(lines[:400]):
        line = raw.rstrip("\r")
        if not line:
            return index > 0 and seen_mime
        if line[:1] in (" ", "\t") and index > 0:
            continue
        if not _HEADER_START.match(line):
            return False
        lowered = line[:40].lower()
        if lowered.startswith(("content-type:", "mime-version:")):
            seen_mime = True
    return False


def message_lines(text: str) -> tuple[list[str], dict[str, FieldValue]]:
    """The lines worth scanning in a MIME message (delivery-status field groups, decoded text
    parts, the returned message's headers) and facts about the original message."""
    message = email.message_from_string(_cut_parts(text[:MAX_EML]), policy=email.policy.compat32)
    lines: list[str] = []
    facts: dict[str, FieldValue] = {}
    for part in _parts(message):
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for block in _payload_list(part):
                lines.extend(
                    f"{name}: {' '.join(str(value).split())}" for name, value in block.items()
                )
                lines.append("")
        elif content_type in {"message/rfc822", "text/rfc822-headers"}:
            _original_facts(part, facts)
        elif content_type in {"text/plain", "text/html"} and not part.get_filename():
            body = _decoded(part)
            if content_type == "text/html":
                body = _HTML_TAG.sub("\n", body).replace("&nbsp;", " ").replace("&amp;", "&")
            lines.extend(body.splitlines())
            lines.append("")
    return lines, facts


def _cut_parts(text: str) -> str:
    """Keep at most `_MAX_PARTS` boundary lines: the email package parses every part it is
    given, and a crafted message with thousands of parts would take seconds."""
    position = 0
    for _ in range(_MAX_PARTS * 2):
        position = text.find("\n--", position + 1)
        if position < 0:
            return text
    return text[:position]


def _parts(message: Message) -> Iterator[Message]:
    for count, part in enumerate(message.walk()):
        if count >= _MAX_PARTS:
            return
        yield part


def _payload_list(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # unparsed: read the groups ourselves
        groups = payload.replace("\r\n", "\n").split("\n\n")
        return [email.message_from_string(group) for group in groups if group.strip()]
    return []


def _decoded(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _original_facts(part: Message, facts: dict[str, FieldValue]) -> None:
    payload = part.get_payload()
    original = payload[0] if isinstance(payload, list) and payload else None
    if part.get_content_type() == "text/rfc822-headers" and isinstance(payload, str):
        original = email.message_from_string(payload)
    if not isinstance(original, Message):
        return
    sender = email.utils.parseaddr(str(original.get("From", "")))[1]
    if sender:
        facts.setdefault("sender", sender)
    for header, name in (("Subject", "subject"), ("Message-ID", "message_id")):
        value = original.get(header)
        if value:
            facts.setdefault(name, " ".join(_decode_words(str(value)).split()))


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words (=?utf-8?q?...?=) to text."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value
