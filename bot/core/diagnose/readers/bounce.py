"""The shared machinery of bounce-message readers, and the generic bounce reader.

A bounce has a report (the human-readable text of the MTA that gave up) and usually a copy of the
original message. `report_segments` finds the report: the text parts of the bounce itself, cut at
the first line that starts the copy of the original. `recipient_blocks` finds, in that report, each
failed recipient and the lines that explain its failure, following a `Layout` (how a recipient
line looks, where its block ends). MTA readers are a Layout plus detection plus whatever their
format says beyond it; the generic reader tries the common layouts on any bounce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment, attached_message_document
from bot.core.diagnose.decode.mime import Headers, parse_headers
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import ADDRESS, address_in, addresses_in

MAX_BLOCK_LINES = 40
MAX_DIAGNOSTIC = 2000

# Lines that start the copy of the original message (or its headers) in a bounce.
ORIGINAL_MARKERS = re.compile(
    r"^[ \t]*(?:"
    r"-{2,}[ \t]*(?:below this line is a copy of the message|this is a copy of the message"
    r"|original message|the header of the original message|original message follows"
    r"|returned message|message header follows|included is a copy|the original message"
    r"|this is a copy of the headers|mensagem original|message original|originalnachricht"
    r"|header of the original message|unsent message below|start of returned message)"
    r"|original message headers?:?|the original message headers are included"
    r"|the original message was:|the text of your message was|the original message follows"
    r"|your message reads \(in part\)|content-type: message/rfc822"
    r"|below is a copy of the original message"
    r"|\*{3,} ?original message|={3,} ?original message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_FROM_DAEMON = re.compile(
    r"mailer-daemon|postmaster|mail delivery (?:system|subsystem)|mail administrator"
    r"|microsoftexchange|mail ?delivery|delivery ?(?:status|subsystem)|mdaemon|bounce",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|notification|report|problem)"
    r"|returned mail|failure notice|mail delivery failed|could not be delivered|non[- ]?delivery"
    r"|delivery has failed|returning message|not delivered|nondeliverable|rejected|failed mail"
    r"|message status|bounce|warning: could not send|delayed mail|mail system error"
    r"|problem delivering|delivery notification|unzustellbar|non remis|no se puede entregar"
    r"|não entregue|non recapitato|недостав|配信|エラー|未送達",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Layout:
    """How one MTA writes its per-recipient blocks."""

    recipient: re.Pattern[str]  # group "address" (and optionally "rest": text on that line)
    block_end: re.Pattern[str] | None = None  # a line that ends the block (default: blank line)
    blank_ends_block: bool = True
    start: re.Pattern[str] | None = None  # the report begins after this line (optional)
    end: re.Pattern[str] = ORIGINAL_MARKERS


_BLANK = re.compile(r"^[ \t]*$")

# Common layouts, tried in order by the generic reader.
ANGLE_LINE = Layout(
    re.compile(r"^[ \t]*<(?P<address>[^<>\s]{1,512}@[^<>\s]{1,255})>:?[ \t]*(?P<rest>.*)$")
)
ADDRESS_COLON = Layout(
    re.compile(r"^[ \t]*(?P<address>[^<>\s:]{1,512}@[A-Za-z0-9.-]{1,255}):[ \t]*(?P<rest>.*)$")
)
INDENTED_ADDRESS = Layout(
    re.compile(r"^[ \t]{1,12}<?(?P<address>[^<>\s]{1,512}@[A-Za-z0-9.-]{1,255})>?[ \t]*$"),
    blank_ends_block=True,
)
ADDRESS_ALONE = Layout(
    re.compile(
        r"^<?(?P<address>[^<>\s]{1,512}@[A-Za-z0-9.-]{1,255})>?[ \t]*(?P<rest>(?:on |\().*)?$"
    )
)
COMMON_LAYOUTS = (ANGLE_LINE, ADDRESS_COLON, INDENTED_ADDRESS, ADDRESS_ALONE)
# The last resort of the generic reader: a sentence that ends with the recipient, after a colon
# or in angle brackets ("User's mailbox is full: <a@b>", "Did not reach the following recipient:
# a@b"); a sentence of words, not a "Name: value" header, and not the bounce's own sender.
SENTENCE_THEN_ADDRESS = Layout(
    re.compile(
        # words separated by blanks: one way to split a line, so matching stays linear
        r"^[ \t]*(?P<rest>[A-Za-z][^<>:\s]{0,60}(?:[ \t]+[^<>:\s]{1,60}){1,20})"
        r"[ \t]*(?::[ \t]*<?|<)"
        r"(?P<address>(?!(?i:mailer-daemon|postmaster)@)[^<>\s]{1,512}@[A-Za-z0-9.-]{1,255}[A-Za-z0-9])"
        r">?\.?[ \t]*$"
    )
)


@dataclass(frozen=True, slots=True)
class Block:
    recipient: str
    lines: tuple[str, ...]
    first_line: int
    last_line: int

    @property
    def text(self) -> str:
        return squeeze(" ".join(line.strip() for line in self.lines if line.strip()))


def squeeze(text: str) -> str:
    return " ".join(text.split())[:MAX_DIAGNOSTIC]


def is_bounce(document: Document) -> bool:
    """Does this message read like a bounce (sender, subject or report structure)?"""
    message = document.message
    if message is None:
        return False
    headers = message.headers
    if "x-failed-recipients" in headers or message.first("message/delivery-status"):
        return True
    return sent_by_daemon(headers) or bool(_BOUNCE_SUBJECT.search(headers.get("subject")))


def sent_by_daemon(headers: Headers) -> bool:
    """Does the From or Return-Path name a mail system rather than a person?"""
    return bool(_FROM_DAEMON.search(headers.get("from") + " " + headers.get("return-path")))


def forwarded_bounces(document: Document) -> list[Document]:
    """Bounces that a person forwarded as attachments ("FW: Undeliverable" with the NDR
    attached): the attached messages that are bounces, when the message itself is not a
    report (a bounce's own attached original is not a forwarded bounce)."""
    message = document.message
    if message is None or sent_by_daemon(message.headers):
        return []
    if any(p.content_type.endswith("delivery-status") and not p.in_original for p in message.parts):
        return []
    attached = [
        p
        for p in message.parts
        if p.content_type == "message/rfc822" and p.depth <= 1 and not p.in_original
    ]
    inner = (attached_message_document(document, part) for part in attached[:MAX_FORWARDED])
    return [candidate for candidate in inner if is_bounce(candidate)]


MAX_FORWARDED = 20


def report_segments(document: Document, layout: Layout | None = None) -> list[Segment]:
    """The bounce's own text, each segment cut where the copy of the original begins."""
    end = layout.end if layout is not None else ORIGINAL_MARKERS
    out: list[Segment] = []
    for segment in document.segments:
        part = segment.part
        if part is not None and part.content_type.endswith(("delivery-status", "feedback-report")):
            continue
        text = segment.text
        found = end.search(text)
        if found is not None:
            text = text[: found.start()]
        if layout is not None and layout.start is not None:
            begin = layout.start.search(text)
            if begin is None:
                continue
            newline = text.find("\n", begin.end())
            skipped = text[: newline + 1] if newline >= 0 else text
            first = segment.line(len(skipped))
            text = text[len(skipped) :]
            out.append(Segment(text, first, segment.exact, part))
            continue
        out.append(Segment(text, segment.first_line, segment.exact, part))
    return out


def recipient_blocks(segments: Iterable[Segment], layout: Layout) -> list[Block]:
    """The recipient blocks of the report; a recipient named again right after its own block
    (a wrapped line, a second line of the same reply) continues that block."""
    blocks: list[Block] = []
    for segment in segments:
        for block in _blocks(segment, layout):
            last = blocks[-1] if blocks else None
            if last is not None and last.recipient == block.recipient:
                blocks[-1] = Block(
                    last.recipient, last.lines + block.lines, last.first_line, block.last_line
                )
            else:
                blocks.append(block)
    return blocks


def _blocks(segment: Segment, layout: Layout) -> Iterator[Block]:
    lines = segment.text.split("\n")
    index = 0
    while index < len(lines):
        found = layout.recipient.match(lines[index])
        if found is None or address_in(found.group("address")) is None:
            index += 1
            continue
        address = address_in(found.group("address")) or ""
        rest = found.groupdict().get("rest") or ""
        body = [rest] if rest.strip() else []
        start = index
        index += 1
        while index < len(lines) and len(body) < MAX_BLOCK_LINES:
            line = lines[index]
            if layout.recipient.match(line) and address_in(line):
                break
            if layout.block_end is not None and layout.block_end.search(line):
                break
            if _BLANK.match(line):
                if layout.blank_ends_block and body:
                    break
                index += 1
                continue
            body.append(line)
            index += 1
        offset = sum(len(line) + 1 for line in lines[:start])
        first = segment.line(offset)
        yield Block(address, tuple(body), first, first + (index - start - 1))


def block_fact(block: Block, source: str, **known: object) -> Fact:
    text = block.text
    reply = codes.find_reply(text)
    return Fact(
        source=source,
        recipient=block.recipient,
        action="failed",
        status=reply.status,
        reply_code=reply.reply_code,
        replies=(Reply(reply.reply_code, reply.status, text),) if text else (),
        diagnostic=text,
        lines=(block.first_line, max(block.first_line, block.last_line)),
        **known,  # type: ignore[arg-type]
    )


def failed_recipients(headers: Headers) -> list[str]:
    found: list[str] = []
    for value in headers.all("x-failed-recipients"):
        found.extend(addresses_in(value))
    return found


def known_recipient_blocks(segments: Sequence[Segment], recipients: Sequence[str]) -> list[Block]:
    """For recipients known from elsewhere (X-Failed-Recipients): the lines after the first
    place each is named in the report, up to a blank line."""
    blocks: list[Block] = []
    for recipient in recipients:
        local = re.escape(recipient.partition("@")[0])
        alone = re.compile(rf"^[ \t]*<?{local}(?:@[^\s>]{{1,255}})?>?:?[ \t]*$", re.I | re.M)
        for segment in segments:
            position = segment.text.lower().find(recipient.lower())
            if position < 0:
                found = alone.search(segment.text)
                if found is None:
                    continue
                position = found.start()
            line_start = segment.text.rfind("\n", 0, position) + 1
            tail = segment.text[line_start:].split("\n")
            first_line = segment.line(line_start)
            if tail and alone.match(tail[0]):
                tail = tail[1:]
                first_line += 1
            body: list[str] = []
            for line in tail[:MAX_BLOCK_LINES]:
                if _BLANK.match(line) and body:
                    break
                body.append(line)
            blocks.append(Block(recipient, tuple(body), first_line, first_line + len(body) - 1))
            break
    return blocks


def original_headers(document: Document) -> Headers:
    """The headers of the attached original message, if the bounce has one."""
    message = document.message
    if message is None:
        return Headers()
    for part in message.parts:
        if part.content_type == "text/rfc822-headers":
            return parse_headers(part.text)[0]
        if part.content_type == "message/rfc822":
            return parse_headers(document.raw, part.start, part.end)[0]
    for segment in document.segments:
        found = ORIGINAL_MARKERS.search(segment.text)
        if found is not None:
            rest = segment.text[found.end() :]
            newline = rest.find("\n")
            rest = rest[newline + 1 :].lstrip("\n") if newline >= 0 else ""
            headers, _ = parse_headers(rest)
            if headers:
                return headers
    return Headers()


class GenericBounceReader(Reader):
    """Any bounce message: recipients by the common layouts, or by X-Failed-Recipients."""

    name = "bounce"
    first_window_only = True

    def detect(self, document: Document) -> int:
        return 2 if is_bounce(document) else 0

    def parse(self, document: Document) -> list[Fact]:
        segments = report_segments(document)
        message = document.message
        assert message is not None
        for layout in COMMON_LAYOUTS:
            blocks = [b for b in recipient_blocks(segments, layout) if b.lines]
            if blocks:
                return [block_fact(block, self.name) for block in blocks]
        known = failed_recipients(message.headers)
        if known:
            return [block_fact(b, self.name) for b in known_recipient_blocks(segments, known)]
        blocks = list(recipient_blocks(segments, SENTENCE_THEN_ADDRESS))
        return [block_fact(block, self.name) for block in blocks]


def first_address_line(text: str) -> re.Match[str] | None:
    return ADDRESS.search(text)


__all__ = [
    "ORIGINAL_MARKERS",
    "Block",
    "GenericBounceReader",
    "Layout",
    "block_fact",
    "clip",
    "is_bounce",
    "known_recipient_blocks",
    "original_headers",
    "recipient_blocks",
    "report_segments",
]
