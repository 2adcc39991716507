"""Decode: input bytes -> Documents (pure; the caller does the reading).

- Text: a byte-order mark picks UTF-8, UTF-16 or UTF-32 (Windows PowerShell 5.1 writes UTF-16 with
  `>`); anything else is UTF-8 with invalid sequences replaced. CRLF and lone CR become LF. Nothing
  here raises on bad bytes.
- An input that starts with a message header block is one e-mail: its MIME structure is read
  (`mime.parse_message`) from its first `MAX_MESSAGE_BYTES`; the rest (attachments) is dropped.
- Any other input is cut into windows of whole lines (`WINDOW_CHARS`), each its own Document, so
  memory stays bounded for logs of any size. Slack's message markup (links, mentions, entities)
  and chat decoration (code fences, quote markers) are removed without changing line numbers.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

from bot.core.diagnose.decode.document import Document, LineCounter, Segment
from bot.core.diagnose.decode.mime import Message, Part, looks_like_message, parse_message

WINDOW_CHARS = 4 * 1024 * 1024  # at least 4: a window holds a whole character
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
SNIFF_BYTES = 64 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def documents(chunks: Iterable[bytes], *, chat: bool = False) -> Iterator[Document]:
    """The documents of one input given as byte chunks (any chunking gives the same result).
    `chat`: the text was pasted into a chat, so Slack markup and decoration are removed."""
    stream = iter(chunks)
    head = _read_at_least(stream, SNIFF_BYTES)
    encoding, bom = _encoding(head)
    sniffed = _normalise(head[bom:].decode(encoding, "replace"))
    if looks_like_message(sniffed):
        data = _read_at_most(head[bom:], stream, MAX_MESSAGE_BYTES)
        if encoding != "utf-8":
            data = data.decode(encoding, "replace").encode("utf-8", "replace")
        if chat:  # a message pasted into Slack arrives with Slack's entities and links
            data = clean_chat_text(data.decode("utf-8", "replace")).encode("utf-8", "replace")
        yield message_document(data)
        return
    yield from _windows(head[bom:], stream, encoding, chat)


def text_documents(text: str) -> Iterator[Document]:
    """The documents of text that is already decoded (a Slack message): lone surrogates and
    other unencodable characters are replaced, then it is read like bytes."""
    yield from documents([text.encode("utf-8", "replace")], chat=True)


def message_document(data: bytes) -> Document:
    raw = _normalise(data.decode("latin-1"))
    message = parse_message(raw)
    return Document(_message_segments(message, raw), message=message, raw=raw)


def attached_message_document(document: Document, part: Part) -> Document:
    """The message attached to `document` as `part` (a message/rfc822 part) as a document of its
    own, its lines numbered as in the input (a bounce forwarded as an attachment)."""
    message = parse_message(document.raw, part.start, part.end)
    return Document(_message_segments(message, document.raw), message=message, raw=document.raw)


def _message_segments(message: Message, raw: str) -> tuple[Segment, ...]:
    """The text parts of the report (not of the attached original) as segments; a message
    without any gives its whole body."""
    segments: list[Segment] = []
    lines = LineCounter(raw)
    for part in message.parts:
        if part.in_original or not _is_text(part):
            continue
        exact = part.exact
        text = part.text
        if part.content_type == "text/html":
            text = strip_html(part.text)
            # Tags never span lines, and breaks at line ends do not add any: the same number of
            # lines means line k of the visible text is line k of the HTML
            exact = exact and text.count("\n") == part.text.count("\n")
        segments.append(Segment(text, lines.index(part.start) + 1, exact, part))
    if not segments:
        body = message.parts[0] if message.parts else None
        start = body.start if body is not None else message.body_start
        text = body.text if body is not None else raw[message.body_start :]
        segments.append(Segment(text, lines.index(start) + 1, True, body))
    return tuple(segments)


def _is_text(part: Part) -> bool:
    kind = part.content_type
    return (kind.startswith("text/") and kind != "text/rfc822-headers") or kind in _REPORT_TYPES


_REPORT_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}
)


def _windows(
    first: bytes, stream: Iterator[bytes], encoding: str, chat: bool
) -> Iterator[Document]:
    if encoding == "utf-8":
        yield from _utf8_windows(first, stream, chat)
        return
    yield from _decoded_windows(first, stream, encoding, chat)


def _utf8_windows(first: bytes, stream: Iterator[bytes], chat: bool) -> Iterator[Document]:
    """UTF-8 input cut into windows as bytes: a cut after LF never splits a character or an
    invalid sequence, and bytes-level CRLF folding and decoding run at C speed (a 200 MB log)."""
    pieces: list[bytes] = []
    length = 0
    line = 1
    index = 0
    for block in _chain(first, stream):
        pieces.append(block)
        length += len(block)
        if length < WINDOW_CHARS:
            continue
        pending = b"".join(pieces)
        start = 0
        while len(pending) - start > WINDOW_CHARS:  # the byte after a cut is known
            cut = _window_cut(pending, start)
            text = _utf8_text(pending[start:cut])
            yield _text_document(text, line, index, chat)
            line += text.count("\n")
            index += 1
            start = cut
        pieces, length = [pending[start:]], len(pending) - start
    text = _utf8_text(b"".join(pieces))
    if text or index == 0:
        yield _text_document(text, line, index, chat)


def _window_cut(data: bytes, start: int) -> int:
    """Where the window that begins at `start` ends (the byte after its end is known): after
    its last LF, else before the character that the window's end falls into. A character has
    at most 4 bytes: a cut between stray continuation bytes decodes the same as no cut."""
    end = start + WINDOW_CHARS
    cut = data.rfind(b"\n", start, end + 1) + 1
    if cut > start:
        return cut
    back = end
    while back > end - 3 and _continues(data[back]):
        back -= 1
    return end if _continues(data[back]) else back


def _continues(byte: int) -> bool:
    return 0x80 <= byte < 0xC0


def _utf8_text(data: bytes) -> str:
    if b"\r" not in data:
        return data.decode("utf-8", "replace")
    if _LONE_CR.search(data) is not None:
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8", "replace")
    # CRLF only: deleting the CRs from the bytes is the fastest way (a CR is never part of a
    # UTF-8 sequence, and each one deleted is followed by LF, which never continues one).
    return data.replace(b"\r", b"").decode("utf-8", "replace")


_LONE_CR = re.compile(rb"\r(?!\n)")


def _decoded_windows(
    first: bytes, stream: Iterator[bytes], encoding: str, chat: bool
) -> Iterator[Document]:
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    pending = ""
    line = 1
    index = 0
    held_cr = False
    for block in _chain(first, stream):
        text = decoder.decode(block)
        if held_cr:
            text = "\r" + text
        held_cr = text.endswith("\r")
        if held_cr:
            text = text[:-1]
        pending += _normalise(text)
        while len(pending) >= WINDOW_CHARS:
            cut = pending.rfind("\n", 0, WINDOW_CHARS) + 1 or WINDOW_CHARS
            window, pending = pending[:cut], pending[cut:]
            yield _text_document(window, line, index, chat)
            line += window.count("\n")
            index += 1
    pending += _normalise(decoder.decode(b"", final=True) + ("\r" if held_cr else ""))
    if pending or index == 0:
        yield _text_document(pending, line, index, chat)


def _text_document(text: str, first_line: int, index: int, chat: bool) -> Document:
    return Document(
        (Segment(clean_chat_text(text) if chat else unquoted(text), first_line),), index=index
    )


_MAIL_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?){1,8}", re.MULTILINE)
_QUOTED_SHARE = 0.8  # of the non-blank lines: a text quoted whole, as a reply quotes a bounce


def unquoted(text: str) -> str:
    """A text quoted the way mail replies quote ("> " at the start of its lines, nested or not)
    without the quote marks; any other text as it is. The number of lines never changes."""
    if not text.startswith(">") and "\n>" not in text:
        return text
    lines = [line for line in text.split("\n") if line.strip()]
    quoted = sum(1 for line in lines if line.lstrip().startswith(">"))
    return _MAIL_QUOTE.sub("", text) if quoted >= _QUOTED_SHARE * len(lines) else text


def _chain(first: bytes, stream: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from stream


def _read_at_least(stream: Iterator[bytes], size: int) -> bytes:
    pieces: list[bytes] = []
    length = 0
    for block in stream:
        pieces.append(block)
        length += len(block)
        if length >= size:
            break
    return b"".join(pieces)


def _read_at_most(first: bytes, stream: Iterator[bytes], size: int) -> bytes:
    """`first` plus the stream up to `size` bytes; the rest is read and dropped."""
    pieces = [first[:size]]
    length = len(pieces[0])
    for block in stream:
        if length < size:
            pieces.append(block[: size - length])
            length += len(pieces[-1])
    return b"".join(pieces)


def _encoding(head: bytes) -> tuple[str, int]:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le", 0  # UTF-16 without a byte-order mark (ASCII text)
    return "utf-8", 0


def _normalise(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# Slack wraps links and addresses: <mailto:a@b|a@b>, <https://x|x>, <https://x>, and mentions
# such as <!channel>, <@U123>, <#C123|general>, <!subteam^S1|@team>.
_SLACK_LINK = re.compile(r"<(?:mailto:|https?://|ftp://)([^<>|\s]{1,512})(?:\|([^<>\n]{0,512}))?>")
_SLACK_MENTION = re.compile(r"<[!@#][^<>\s]{0,256}>")
_QUOTE = re.compile(r"^(?:>|&gt;)(?: |$)", re.MULTILINE)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_TAG = re.compile(r"<[^<>\n]{0,2000}>")
# A break at the end of a line ends only that line, so the lines of the visible text keep their
# numbers as long as no tag breaks a line in its middle.
_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^<>]{0,200}>(?:\r?\n)?", re.IGNORECASE)


def clean_chat_text(text: str) -> str:
    """Undo Slack markup and chat decoration; the number of lines never changes."""
    if "<mailto:" in text or "<http" in text or "<ftp://" in text:
        text = _SLACK_LINK.sub(_link_label, text)
    if "<!" in text or "<@" in text or "<#" in text:
        text = _SLACK_MENTION.sub("", text)
    if "```" in text:
        text = text.replace("```", "")
    if text.startswith((">", "&gt;")) or "\n>" in text or "\n&gt;" in text:
        text = _QUOTE.sub("", text)
    if "&lt;" in text or "&gt;" in text or "&amp;" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    return text


def _link_label(match: re.Match[str]) -> str:
    label = match.group(2)
    return label if label else match.group(1)


def strip_html(text: str) -> str:
    """Visible text of an HTML part, roughly: tags removed, entities for <, >, &, nbsp."""
    text = _BREAKS.sub("\n", text)
    text = _TAG.sub("", text)
    for entity, char in (*_ENTITIES, ("&nbsp;", " "), ("&quot;", '"'), ("&#39;", "'")):
        text = text.replace(entity, char)
    return text


__all__ = [
    "Document",
    "Message",
    "Part",
    "Segment",
    "attached_message_document",
    "clean_chat_text",
    "documents",
    "message_document",
    "text_documents",
    "unquoted",
]
