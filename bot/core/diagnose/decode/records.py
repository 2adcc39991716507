"""Generic readers for the tabular shapes admins paste: PowerShell Format-List and Format-Table
output, CSV with a header row (Microsoft 365 message-trace exports, Get-MessageTrackingLog |
Export-Csv), and ConvertTo-Json arrays. Each gives `Record`s: property -> value, with the input
lines the record came from. Format readers (queue, tracking log, message trace, configuration
dumps) look for the properties they know; they never parse the shapes themselves.

    Identity       : EX01\\contoso.com          <- Format-List: "Name<spaces>: value", records
    DeliveryType   : SmtpRelayToRemoteAdSite      separated by blank lines, long values wrapped
    LastError      : 451 4.4.0 Primary target     onto indented continuation lines
                     IP address responded ...

    Identity      DeliveryType   Status  MessageCount   <- Format-Table: a header, a rule of
    --------      ------------   ------  ------------      dashes that gives the columns
    EX01\\Submission Undefined   Ready   0
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from bot.core.diagnose.decode.document import Document, Segment

MAX_RECORDS = 50_000  # records read from one document
MAX_VALUE = 8000  # characters kept of one value
_PROPERTY = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]{0,80})( {0,80}): ?(.*)$")
_RULE = re.compile(r"^[ -]*--[ -]*$")
# The columns of Exchange 2013-2019's message tracking log files (Microsoft Learn, "Message
# tracking", fields in the order of the file's #Fields line): used for lines pasted without it.
TRACKING_FIELDS = (
    "date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context",
    "connector-id", "source", "event-id", "internal-message-id", "message-id",
    "network-message-id", "recipient-address", "recipient-status", "total-bytes",
    "recipient-count", "related-recipient-address", "reference", "message-subject",
    "sender-address", "return-path", "message-info", "directionality", "tenant-id",
    "original-client-ip", "original-server-ip", "custom-data", "transport-traffic-type", "log-id",
    "schema-version",
)  # fmt: skip
# A tracking log line without its header: the time stamp, client IP (or none), client host name,
# server IP (or none), then event-id (upper case) as the ninth field; grep and findstr put the
# file's name first ("MSGTRK2026120309-1.LOG:").
TRACKING_LINE = re.compile(
    r"(?P<file>(?i:[^\s,:]{1,120}\.log:))?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,7}Z,[0-9A-Fa-f:.]*,[^,\n]*,[0-9A-Fa-f:.]*,"
    r"(?:[^,\n]*,){4}[A-Z_]{3,30},"
)
_CSV_HEADER = re.compile(
    r'^\s*"?[#A-Za-z][\w .#/()-]{0,60}"?(?:\s*,\s*"?[A-Za-z][\w .#/()-]{0,60}"?){2,}\s*$'
)
_PROMPT = re.compile(r"^\s*(?:\[[^\]]{1,60}\]: )?PS [^>\n]{0,200}>")


@dataclass(frozen=True, slots=True)
class Record:
    props: dict[str, str]
    first_line: int
    last_line: int
    shape: str  # "list" | "table" | "csv" | "json"
    lines: dict[str, int] = field(default_factory=dict)  # property -> the line it starts on

    def line_of(self, *names: str) -> int:
        """The input line where the first of `names` that the record has starts."""
        lines = {_key(key): value for key, value in self.lines.items()}
        for name in names:
            if _key(name) in lines:
                return lines[_key(name)]
        return self.first_line

    def get(self, *names: str) -> str:
        """The first of `names` that the record has. Property names compare without case,
        spaces, underscores and hyphens: `RecipientAddress` (PowerShell), `Recipient Address` (a
        portal export), `recipient_address` (historical search), `recipient-address` (a tracking
        log file) are one property."""
        keyed = {_key(key): value for key, value in self.props.items()}
        for name in names:
            value = keyed.get(_key(name))
            if value is not None and value.strip():
                return value.strip()
        return ""


def _key(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "").replace("-", "")


def records(document: Document) -> list[Record]:
    """Every record of the document, in input order (cached on the document)."""
    found = document.cached("records", lambda: list(_all_records(document)))
    assert isinstance(found, list)
    return found


def _all_records(document: Document) -> Iterator[Record]:
    count = 0
    for segment in document.segments:
        text = segment.text
        if not _worth_reading(text):
            continue
        for record in _segment_records(segment):
            yield record
            count += 1
            if count >= MAX_RECORDS:
                return


def _worth_reading(text: str) -> bool:
    return " : " in text or "--" in text or "," in text or text.lstrip()[:1] in ("[", "{")


def _segment_records(segment: Segment) -> Iterator[Record]:
    stripped = segment.text.lstrip()
    if stripped[:1] in "[{":
        found = list(_json_records(segment))
        if found:
            yield from found
            return
    lines = segment.text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_csv_header(line) and index + 1 < len(lines) and "," in lines[index + 1]:
            index = yield from _csv(lines, index, segment)
            continue
        if TRACKING_LINE.match(line):
            index = yield from _tracking_lines(lines, index, segment)
            continue
        if index + 1 < len(lines) and _RULE.match(lines[index + 1]) and line.strip():
            index = yield from _table(lines, index, segment)
            continue
        if _PROPERTY.match(line) and (" :" in line or line.count(":") == 1):
            index = yield from _list(lines, index, segment.line_number)
            continue
        indent = len(line) - len(line.lstrip(" "))
        if 0 < indent <= _MAX_INDENT and " : " in line and _PROPERTY.match(line[indent:]):
            # a whole list indented (quoted in a script's help or a post): read it dedented
            end = _indented_run(lines, index, indent)
            dedented = [text[indent:] for text in lines[index:end]]
            yield from _list_records(dedented, segment, index)
            index = max(end, index + 1)
            continue
        index += 1


_MAX_INDENT = 16


def _indented_run(lines: list[str], index: int, indent: int) -> int:
    """The end of the lines from `index` on that are blank or start with `indent` spaces."""
    end = index
    while end < len(lines) and (not lines[end].strip() or lines[end][:indent].strip() == ""):
        end += 1
    return end


def _list_records(lines: list[str], segment: Segment, offset: int) -> Iterator[Record]:
    """The Format-List records of `lines`, which start on the segment's line `offset`."""

    def number(index: int) -> int:
        return segment.line_number(offset + index)

    index = 0
    while index < len(lines):
        if _PROPERTY.match(lines[index]):
            index = yield from _list(lines, index, number)
        else:
            index += 1


def _is_csv_header(line: str) -> bool:
    """A CSV header row; of Exchange's own logs only the message tracking log's `#Fields:`
    (protocol logs have their own reader that streams them)."""
    if line.startswith("#Fields:"):
        return "event-id" in line
    return _CSV_HEADER.match(line) is not None


def _list(
    lines: list[str], index: int, number: Callable[[int], int]
) -> Generator[Record, None, int]:
    """A run of Format-List records starting at lines[index]; returns the next index."""
    props: dict[str, str] = {}
    where: dict[str, int] = {}
    key = ""
    column = 0
    first = index
    last = index
    spaced = _double_spaced(lines, index)
    while index < len(lines):
        line = lines[index]
        if spaced and not line.strip() and index + 1 < len(lines) and lines[index + 1].strip():
            index += 1  # one blank line between the properties of a double-spaced copy
            if key and not _PROPERTY.match(lines[index]):
                props[key] = f"{props[key]} {lines[index].strip()}"[:MAX_VALUE]
                last = index
                index += 1
            continue
        if not line.strip():
            if props:
                yield Record(props, number(first), number(last), "list", where)
                props, key, where = {}, "", {}
            index += 1
            first = index
            if index < len(lines) and not _PROPERTY.match(lines[index]) and lines[index].strip():
                return index
            continue
        found = _PROPERTY.match(line)
        continuation = key and line[:column].strip() == "" and len(line) > column
        if found and not line.startswith(" ") and not continuation:
            name = found.group(1)
            if name in props:  # the same property again: a new record without a blank line
                yield Record(props, number(first), number(last), "list", where)
                props, where = {}, {}
                first = index
            key = name
            column = len(name) + len(found.group(2)) + 1
            props[name] = found.group(3).strip()[:MAX_VALUE]
            where[name] = number(index)
            last = index
        elif continuation or (key and line.startswith(" ")):
            props[key] = f"{props[key]} {line.strip()}"[:MAX_VALUE]
            last = index
        else:
            break
        index += 1
    if props:
        yield Record(props, number(first), number(last), "list", where)
    return index


_SPACED_PROPERTIES = 3


def _double_spaced(lines: list[str], index: int) -> bool:
    """Format-List output copied from a web page or a chat client that puts a blank line after
    every line ("Status : Retry", "", "MessageCount : 1", "", ...): records are then told apart
    by two blank lines or by a property that comes again, and a value's wrapped lines stand
    alone between blank lines."""
    for step in range(_SPACED_PROPERTIES):
        at = index + 2 * step
        if at + 1 >= len(lines) or lines[at + 1].strip() or not _PROPERTY.match(lines[at]):
            return False
    return True


def _table(lines: list[str], index: int, segment: Segment) -> Generator[Record, None, int]:
    header, rule = lines[index], lines[index + 1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-{2,}", rule)]
    columns = []
    for position, (start, _end) in enumerate(spans):
        stop = spans[position + 1][0] if position + 1 < len(spans) else 1 << 30
        name = header[start:stop].strip() or f"Column{position + 1}"
        columns.append((name, start, stop))
    index += 2
    row: dict[str, str] = {}
    first = index
    while index < len(lines) and lines[index].strip() and not _PROMPT.match(lines[index]):
        line = lines[index]
        cells = {name: line[start:stop].strip() for name, start, stop in columns}
        if cells.get(columns[0][0]) or not row:
            if row:
                yield Record(
                    row, segment.line_number(first), segment.line_number(index - 1), "table"
                )
            row, first = cells, index
        else:  # Format-Table -Wrap continues every column on the next line
            for name, value in cells.items():
                if value:
                    row[name] = f"{row.get(name, '')} {value}".strip()[:MAX_VALUE]
        index += 1
    if row:
        yield Record(row, segment.line_number(first), segment.line_number(index - 1), "table")
    return index


def _csv(lines: list[str], index: int, segment: Segment) -> Generator[Record, None, int]:
    header = next(csv.reader([lines[index].removeprefix("#Fields:").lstrip("#").strip()]))
    names = [name.strip() for name in header]
    start = index + 1
    index = start
    while index < len(lines) and lines[index].strip():
        index += 1
    yield from _csv_rows(lines[start:index], names, start, segment)
    return index


def _tracking_lines(lines: list[str], index: int, segment: Segment) -> Generator[Record, None, int]:
    """Message tracking log lines pasted without their #Fields header (grep output)."""
    start = index
    rows: list[str] = []
    while index < len(lines) and (found := TRACKING_LINE.match(lines[index])):
        rows.append(lines[index][found.end("file") if found.group("file") else 0 :])
        index += 1
    yield from _csv_rows(rows, list(TRACKING_FIELDS), start, segment)
    return index


def _csv_rows(
    buffered: list[str], names: list[str], start: int, segment: Segment
) -> Iterator[Record]:
    reader = csv.reader(buffered)
    line = start
    try:
        for cells in reader:
            row = {name: cell[:MAX_VALUE] for name, cell in zip(names, cells, strict=False) if name}
            number = segment.line_number(line)
            if any(value.strip() for value in row.values()):
                yield Record(row, number, number, "csv")
            line = start + reader.line_num
    except csv.Error:
        pass


def _json_records(segment: Segment) -> Iterator[Record]:
    try:
        data = json.loads(segment.text)
    except (ValueError, RecursionError):
        return
    items = data if isinstance(data, list) else [data]
    line = segment.first_line
    for item in items[:MAX_RECORDS]:
        if isinstance(item, dict):
            props = {str(k): _json_text(v) for k, v in item.items()}
            yield Record(props, line, segment.last_line, "json")


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value[:MAX_VALUE]
    if isinstance(value, list):
        return ", ".join(_json_text(v) for v in value[:200])[:MAX_VALUE]
    if isinstance(value, dict):
        for key in ("DisplayName", "Name", "value", "Value"):
            if key in value:
                return _json_text(value[key])
        return json.dumps(value, ensure_ascii=False)[:MAX_VALUE]
    if value is None:
        return ""
    return str(value)[:MAX_VALUE]
