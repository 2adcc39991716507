"""Exchange queue errors: `Get-Queue` / `Get-Message` output (Format-List or Format-Table) and
bare LastError texts such as

    454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not
    be found.
    451 4.4.0 Primary target IP address responded with: "421 4.4.1 Connection timed out."
    Attempted failover to alternate host, but that did not succeed. ... The last endpoint
    attempted was 203.0.113.5:25
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.models import FieldValue
from bot.core.traces.codes import STATUS, find_reply
from bot.core.traces.events import EventKind, InputKind
from bot.core.traces.message_trace import is_trace
from bot.core.traces.sink import EventSink

# "LastError      : 451 4.4.0 ..." (Format-List: property name, padding, colon).
_LIST_PROPERTY = re.compile(r"([A-Za-z][A-Za-z0-9_]{0,60})( {1,60}): ?(.*)")
_DASHES = re.compile(r"[ -]{2,8000}")  # with "--" in it: the rule under a table header
_LAST_ENDPOINT = re.compile(r"last endpoint attempted was \[?([0-9A-Fa-f.:]{2,45}?)\]?:(\d{1,5})")
_RESPONDED = re.compile(r'responded with:? {0,3}"([^"]{1,1000})"')
_TLS_FAILED = re.compile(r"TLS negotiation failed with error (\w{1,80})")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`|~-]{1,64}@[\w.-]{1,253}\.[A-Za-z]{2,63}")

# Texts that only Exchange queues (on-premises or EOP) produce.
_QUEUE_SIGNATURES = (
    "TlsCertificateName of the SendConnector",
    "TLS negotiation failed with error",
    "Primary target IP address responded with",
    "The last endpoint attempted was",
    "Attempted failover to alternate host",
    "STARTTLS is required to send mail",
    "Failed to connect. Winsock error code",
    "Unable to connect to remote server",
    "SMTPSEND.",
)
EOP_QUEUE_STATUSES = frozenset({"4.4.312", "4.4.315", "4.4.316", "4.4.317", "4.4.318", "4.7.320"})

_PROPERTY_FIELDS = {
    "NextHopDomain": "next_hop_domain",
    "DeliveryType": "delivery_type",
    "Status": "queue_status",
    "MessageCount": "message_count",
    "TlsDomain": "tls_domain",
    "NextHopConnector": "next_hop_connector",
    "LastRetryTime": "timestamp",
    "FromAddress": "sender",
    "Subject": "subject",
    "RetryCount": "retry_count",
}


def is_queue_text(line: str) -> bool:
    for signature in _QUEUE_SIGNATURES:
        if signature in line:
            return True
    match = STATUS.search(line)
    return match is not None and match.group(1) in EOP_QUEUE_STATUSES


def error_fields(text: str) -> dict[str, FieldValue]:
    """Facts inside a LastError text: attempted endpoint, the next hop's own reply, TLS error."""
    fields: dict[str, FieldValue] = {}
    endpoint = _LAST_ENDPOINT.search(text)
    if endpoint:
        fields["last_attempted_ip"] = endpoint.group(1)
        fields["ip"] = endpoint.group(1)
        fields["port"] = endpoint.group(2)
    responded = _RESPONDED.search(text)
    if responded:
        inner = find_reply(responded.group(1))
        fields["remote_response"] = responded.group(1)
        if inner.status:
            fields["remote_status"] = inner.status
        if inner.reply_code:
            fields["remote_reply_code"] = inner.reply_code
    tls = _TLS_FAILED.search(text)
    if tls:
        fields["tls_error"] = tls.group(1)
    return fields


class QueueParser:
    """Bare queue error texts, plus whole records handed over by `PowerShellOutput`."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    def feed(self, line: str) -> bool:
        if not is_queue_text(line):
            return False
        self._emit(line.strip(), {})
        return True

    def record(self, props: dict[str, str]) -> bool:
        """A Get-Queue / Get-Message record; True when it held an error."""
        error = props.get("LastError", "").strip()
        if not error or error in ("{}", "-") or is_trace(error):
            return False
        fields: dict[str, FieldValue] = {}
        identity = props.get("Identity", "").strip()
        if "Queue" in props:
            fields["queue"] = props["Queue"].strip()
            fields["message_identity"] = identity
        elif identity:
            fields["queue"] = identity
        queue = str(fields.get("queue", ""))
        if "\\" in queue:
            fields["server"] = queue.split("\\", 1)[0]
        for name, field_name in _PROPERTY_FIELDS.items():
            if props.get(name, "").strip():
                fields[field_name] = props[name].strip()
        recipients = _ADDRESS.findall(props.get("Recipients", ""))
        if recipients:
            fields["recipient"] = recipients[0]
        if fields.get("next_hop_domain"):
            fields["fqdn"] = fields["next_hop_domain"]
        self._emit(error, fields)
        return True

    def _emit(self, text: str, fields: dict[str, FieldValue]) -> None:
        fields = {**error_fields(text), **fields}
        reply = find_reply(text)
        kind = EventKind.SMTP_ERROR
        if "tls_error" in fields and not reply.status:
            kind = EventKind.TLS_FAILURE
        self._sink.add(
            InputKind.QUEUE,
            kind,
            text,
            status=reply.status,
            reply_code=reply.reply_code,
            fields=fields,
        )


class PowerShellOutput:
    """Reassembles PowerShell Format-List records (with wrapped continuation lines) and
    Format-Table rows, and hands each record to `on_record`. Lines that are not part of such
    output are returned unchanged by `feed`, property lines as one logical `Name : value` line.
    """

    def __init__(self, on_record: Callable[[dict[str, str]], bool]) -> None:
        self._on_record = on_record
        self._record: dict[str, str] = {}
        self._key = ""  # property being continued
        self._value_column = 0
        self._pieces: list[str] = []
        self._previous = ""
        self._columns: list[tuple[str, int, int]] = []  # table: (name, start, end)
        self._row: dict[str, str] = {}

    def feed(self, line: str) -> list[str]:
        """Returns the logical lines to pass on to the other parsers."""
        out: list[str] = []
        if self._columns and self._table_row(line):
            return out
        if self._key and len(line) > self._value_column and not line[: self._value_column].strip():
            self._pieces.append(line)
            return out
        out.extend(self._close_property())
        match = _LIST_PROPERTY.fullmatch(line) if " :" in line else None
        if match and not line.startswith(" "):
            key = match.group(1)
            if key in self._record:
                self._flush_record()
            self._key = key
            self._value_column = len(key) + len(match.group(2)) + 2
            self._pieces = [line]
            self._previous = line
            return out
        if not line.strip():
            self._flush_record()
        elif "--" in line and _DASHES.fullmatch(line) and self._previous.strip():
            self._start_table(self._previous, line)
            self._previous = line
            return out
        else:
            self._flush_record()
        self._previous = line
        out.append(line)
        return out

    def finish(self) -> list[str]:
        out = self._close_property()
        self._flush_row()
        self._flush_record()
        return out

    def _close_property(self) -> list[str]:
        if not self._key:
            return []
        key, pieces = self._key, self._pieces
        self._key, self._pieces = "", []
        value = pieces[0][self._value_column :] if len(pieces[0]) >= self._value_column else ""
        for piece in pieces[1:]:  # Format-List wraps long values at word boundaries
            value += " " + piece.strip()
        self._record.setdefault(key, value.strip())
        if key == "LastError":
            return []
        return [f"{key} : {value.strip()}"]

    def _flush_record(self) -> None:
        if self._record:
            record, self._record = self._record, {}
            self._on_record(record)

    def _start_table(self, header: str, dashes: str) -> None:
        self._flush_record()
        columns: list[tuple[str, int, int]] = []
        for match in re.finditer(r"-{2,200}", dashes):
            columns.append((header[match.start() :].split(" ", 1)[0], match.start(), match.end()))
        self._columns = [
            (name, start, columns[i + 1][1] if i + 1 < len(columns) else 1 << 30)
            for i, (name, start, _end) in enumerate(columns)
        ]

    def _table_row(self, line: str) -> bool:
        if not line.strip():
            self._flush_row()
            self._columns = []
            return False
        cells = {name: line[start:end].strip() for name, start, end in self._columns}
        first = self._columns[0][0]
        if cells.get(first) or not self._row:
            self._flush_row()
            self._row = cells
        else:  # a wrapped row (Format-Table -Wrap): continue every column
            for name, value in cells.items():
                if value:
                    self._row[name] = f"{self._row.get(name, '')} {value}".strip()
        return True

    def _flush_row(self) -> None:
        if self._row:
            row, self._row = self._row, {}
            self._on_record(row)
