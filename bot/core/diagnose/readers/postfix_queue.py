"""Postfix's queue listing (`mailq`, `postqueue -p`): each deferred message with its reason.

    -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
    5198C2006A7      298 Thu May 11 23:00:44  www-data@example.com
                   (connect to gmail.com[216.239.57.83]: Connection timed out)
                                             someone@example.net

One fact per reason (the parenthesised lines, which may wrap) with the recipients listed under
it, the queue ID and the sender. A message without a reason (`*` active, `!` on hold) tells
nothing about a failure and is left out.
"""

from __future__ import annotations

import re

from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.fact import Fact, FactKind, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in

_HEADER = re.compile(r"^-Queue ID-\s+--Size--\s+-+Arrival Time-+\s+-Sender/Recipient-+", re.M)
_ENTRY = re.compile(
    r"^\s{0,4}([0-9A-Za-z]{6,20})[*!]?\s+\d{1,12}\s+"
    r"(\w{3} \w{3}\s{1,2}\d{1,2} \d\d:\d\d:\d\d)\s+(\S{0,500})\s*$"
)
_MAX_REASON_LINES = 8
MAX_FACTS = 5000


class PostfixQueueReader(Reader):
    name = "postfix_queue"

    def detect(self, document: Document) -> int:
        return 30 if "-Queue ID-" in document.text and _HEADER.search(document.text) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for segment in document.segments:
            if _HEADER.search(segment.text):
                facts.extend(_entries(segment))
            if len(facts) >= MAX_FACTS:
                break
        return facts[:MAX_FACTS]


def _entries(segment: Segment) -> list[Fact]:
    lines = segment.text.split("\n")
    facts: list[Fact] = []
    queue_id = sender = stamp = ""
    index = 0
    while index < len(lines) and len(facts) < MAX_FACTS:
        line = lines[index]
        entry = _ENTRY.match(line)
        if entry:
            queue_id, stamp = entry.group(1), entry.group(2)
            token = entry.group(3)  # a local sender has no domain part: "jadi@funlife"
            sender = address_in(token) or (token.strip("<>") if "@" in token else "")
            index += 1
            continue
        if queue_id and line.strip().startswith("("):
            reason, last = _reason(lines, index)
            recipient = _first_recipient(lines, last + 1)
            facts.append(
                _fact(segment, queue_id, sender or "", stamp, reason, recipient, index, last)
            )
            index = last + 1
            continue
        if not line.strip():
            queue_id = ""
        index += 1
    return facts


def _reason(lines: list[str], index: int) -> tuple[str, int]:
    """The parenthesised reason starting at lines[index] (it may wrap), and its last line."""
    parts: list[str] = []
    depth = 0
    last = index
    for last in range(index, min(len(lines), index + _MAX_REASON_LINES)):
        text = lines[last].strip()
        parts.append(text)
        depth += text.count("(") - text.count(")")
        if depth <= 0:
            break
    joined = " ".join(parts)
    if joined.startswith("(") and joined.endswith(")"):
        joined = joined[1:-1]
    return clip(joined, 2000), last


def _first_recipient(lines: list[str], index: int) -> str | None:
    for line in lines[index : index + 3]:
        found = address_in(line)
        if found:
            return found
    return None


def _fact(  # noqa: PLR0917 - the parts of one queue entry
    segment: Segment,
    queue_id: str,
    sender: str,
    stamp: str,
    reason: str,
    recipient: str | None,
    first: int,
    last: int,
) -> Fact:
    return Fact(
        source=PostfixQueueReader.name,
        kind=FactKind.DELIVERY,
        recipient=recipient,
        sender=sender or None,
        action="delayed",  # still in the queue: Postfix keeps retrying
        diagnostic=reason,
        timestamp=stamp or None,
        lines=(segment.line_number(first), segment.line_number(last)),
        extra={"queue_id": queue_id, "mta": "postfix", "delivery_status": "deferred"},
    )
