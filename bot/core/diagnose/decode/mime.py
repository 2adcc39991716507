"""A forgiving MIME reader for bounce messages (RFC 2045-2049, RFC 2047, RFC 3464 parts).

It works on the message as *raw text*: the input bytes read as Latin-1, so that every character is
one byte and offsets are byte offsets. That keeps each part's position in the input (for the
evidence lines a finding quotes) and lets each part be decoded with its own charset. Nothing here
raises on malformed input: a broken boundary, bad base64 or an unknown charset gives the best text
available.

Why not the standard library's `email` package: it needs the whole message decoded first, loses
the part positions, and is several times slower on the mail volumes batch mode reads.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

MAX_PARTS = 200  # leaf parts kept of one message
MAX_DEPTH = 8  # multipart / message/rfc822 nesting followed
MAX_HEADER_LINES = 2000

_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}:")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([BbQq])\?([^?\s]{0,2000})\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\n]+(=\?)")
_PARAM = re.compile(r';\s*([A-Za-z0-9*_.-]{1,80})\s*=\s*("(?:[^"\\]|\\.){0,1000}"|[^;\s]{0,1000})')


@dataclass(frozen=True, slots=True)
class Headers:
    """Header fields in order: (lower-case name, unfolded, decoded value)."""

    items: tuple[tuple[str, str], ...] = ()
    # name -> its values in order: readers ask a message's headers thousands of times
    _by_name: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, list[str]] = {}
        for key, value in self.items:
            by_name.setdefault(key, []).append(value)
        object.__setattr__(self, "_by_name", by_name)

    def get(self, name: str, default: str = "") -> str:
        values = self._by_name.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self._by_name.get(name, ()))

    def values(self, name: str) -> Sequence[str]:
        """The values of `name` in order, not copied (read-only by contract)."""
        return self._by_name.get(name, ())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True, slots=True)
class Part:
    """One leaf part. `start`/`end` are raw offsets of its body; `exact` says whether the decoded
    text has the raw body's lines (no base64/quoted-printable), so a line inside it can be
    mapped back to an input line."""

    content_type: str  # "text/plain", "message/delivery-status", "message/rfc822", ...
    headers: Headers
    text: str
    start: int
    end: int
    exact: bool
    depth: int
    in_original: bool  # inside an attached original message (message/rfc822 or headers)
    charset: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    headers: Headers
    parts: tuple[Part, ...]
    body_start: int  # raw offset of the top-level body

    def first(self, *content_types: str) -> Part | None:
        return next((p for p in self.parts if p.content_type in content_types), None)


def looks_like_message(raw: str) -> bool:
    """Does `raw` start with a header block of an e-mail message (not a pasted log line)?"""
    head = raw[:8192].lstrip("\n")
    lines = head.split("\n", 40)[:40]
    names = 0
    for line in lines:
        if not line.strip():
            break
        if line[:1] in " \t":
            continue
        found = _HEADER_NAME.match(line)
        if found is None:
            if line.startswith("From ") and names == 0:
                continue  # mbox separator line
            return False
        name = found.group(0)[:-1].lower()
        if name in _MAIL_HEADERS:
            names += 1
    return names >= 2


_MAIL_HEADERS = frozenset(
    {
        "received", "return-path", "from", "to", "subject", "date", "message-id", "mime-version",
        "content-type", "delivered-to", "x-failed-recipients", "auto-submitted", "reply-to",
        "x-mailer", "x-original-to", "dkim-signature", "authentication-results", "sender",
        "x-ms-exchange-message-is-ndr", "content-transfer-encoding", "thread-index",
    }
)  # fmt: skip


def parse_message(raw: str, start: int = 0, end: int | None = None) -> Message:
    """Parse the message in raw[start:end] (raw text: Latin-1, LF line ends)."""
    end = len(raw) if end is None else end
    headers, body_start = _headers(raw, start, end)
    parts: list[Part] = []
    _walk(raw, headers, body_start, end, 0, False, parts)
    return Message(headers, tuple(parts), body_start)


def parse_headers(raw: str, start: int = 0, end: int | None = None) -> tuple[Headers, int]:
    """The header block at raw[start:] and the offset where its body starts."""
    return _headers(raw, start, len(raw) if end is None else end)


def _headers(raw: str, start: int, end: int) -> tuple[Headers, int]:
    items: list[tuple[str, str]] = []
    position = start
    name = ""
    value: list[str] = []
    count = 0
    while position < end and count < MAX_HEADER_LINES:
        newline = raw.find("\n", position, end)
        line_end = end if newline < 0 else newline
        line = raw[position:line_end]
        next_position = line_end + 1
        count += 1
        if not line.strip():
            position = next_position
            break
        if line[:1] in " \t" and name:
            value.append(line.strip())
        else:
            found = _HEADER_NAME.match(line)
            if found is None:
                if line.startswith("From ") and not items and not name:
                    position = next_position
                    continue
                break  # not a header: the body starts here (no blank line)
            if name:
                items.append((name, decode_header_value(" ".join(value))))
            name = found.group(0)[:-1].strip().lower()
            value = [line[found.end() :].strip()]
        position = next_position
    else:
        position = min(position, end)
    if name:
        items.append((name, decode_header_value(" ".join(value))))
    return Headers(tuple(items)), position


def decode_header_value(value: str) -> str:
    """Raw header text -> text: 8-bit bytes as UTF-8 (else Latin-1), RFC 2047 encoded words."""
    text = _bytes_text(value)
    if "=?" not in text:
        return text
    text = _BETWEEN_WORDS.sub(r"\1\2", text)
    return _ENCODED_WORD.sub(_decode_word, text)


def _bytes_text(value: str) -> str:
    if value.isascii():
        return value
    data = value.encode("latin-1", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2).upper(), match.group(3)
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        if encoding == "B":
            data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload.replace("_", " ").encode("latin-1", "replace"))
    except (binascii.Error, ValueError):
        return match.group(0)
    return decode_bytes(data, charset)


def decode_bytes(data: bytes, charset: str) -> str:
    """Bytes in `charset` (unknown or missing: UTF-8), invalid sequences replaced."""
    name = _codec(charset)
    try:
        return data.decode(name, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _codec(charset: str) -> str:
    label = charset.strip().strip('"').lower()
    if not label or label in ("us-ascii", "ascii", "unknown-8bit", "x-unknown", "default"):
        return "utf-8"
    try:
        found = codecs.lookup(label).name
    except LookupError:
        return "utf-8"
    # A mail labelled ISO-8859-1 that is really Windows-1252 is common; cp1252 is a superset.
    return "cp1252" if found in {"latin-1", "iso8859-1"} else found


def content_type(headers: Headers) -> tuple[str, dict[str, str]]:
    raw = headers.get("content-type", "text/plain")
    kind = raw.split(";", 1)[0].strip().lower() or "text/plain"
    if "/" not in kind:
        kind = "text/plain"
    params: dict[str, str] = {}
    for name, value in _PARAM.findall(raw):
        key = name.lower().split("*", 1)[0]
        if key not in params:
            params[key] = value[1:-1].replace('\\"', '"') if value.startswith('"') else value
    return kind, params


def _walk(  # noqa: PLR0917 - the positions of one part, passed down the recursion
    raw: str,
    headers: Headers,
    start: int,
    end: int,
    depth: int,
    in_original: bool,
    parts: list[Part],
) -> None:
    if len(parts) >= MAX_PARTS:
        return
    kind, params = content_type(headers)
    if kind.startswith("multipart/") and depth < MAX_DEPTH:
        boundary = params.get("boundary", "")
        pieces = list(_split_multipart(raw, start, end, boundary)) if boundary else []
        if pieces:
            for piece_start, piece_end in pieces:
                part_headers, body = _headers(raw, piece_start, piece_end)
                _walk(raw, part_headers, body, piece_end, depth + 1, in_original, parts)
            return
        kind = "text/plain"  # a multipart without usable boundaries: read it as text
    if kind == "message/rfc822" and depth < MAX_DEPTH:
        parts.append(_leaf(raw, headers, kind, params, start, end, depth, in_original))
        inner_headers, inner_body = _headers(raw, start, end)
        _walk(raw, inner_headers, inner_body, end, depth + 1, True, parts)
        return
    parts.append(_leaf(raw, headers, kind, params, start, end, depth, in_original))


def _leaf(  # noqa: PLR0917 - one part's raw position and decoding context
    raw: str,
    headers: Headers,
    kind: str,
    params: dict[str, str],
    start: int,
    end: int,
    depth: int,
    in_original: bool,
) -> Part:
    encoding = headers.get("content-transfer-encoding").strip().lower()
    body = raw[start:end]
    charset = params.get("charset", "")
    exact = encoding not in ("base64", "quoted-printable")
    if encoding == "base64":
        data = _base64(body)
    elif encoding == "quoted-printable":
        data = binascii.a2b_qp(body.encode("latin-1", "replace"))
    else:
        data = body.encode("latin-1", "replace")
    if kind in ("message/rfc822", "text/rfc822-headers", "message/delivery-status"):
        text = decode_bytes(data, charset or "utf-8")
    else:
        text = decode_bytes(data, charset)
    if not exact:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Part(kind, headers, text, start, end, exact, depth, in_original, charset)


def _base64(body: str) -> bytes:
    cleaned = "".join(body.split())
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    try:
        return binascii.a2b_base64(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return body.encode("latin-1", "replace")


def _split_multipart(raw: str, start: int, end: int, boundary: str) -> Iterator[tuple[int, int]]:
    """(start, end) raw offsets of each body part between `--boundary` delimiter lines."""
    delimiter = "--" + boundary
    position = start
    opened = -1
    while position <= end:
        found = raw.find(delimiter, position, end)
        if found < 0:
            break
        line_start = found == 0 or raw[found - 1] == "\n"
        line_end = raw.find("\n", found, end)
        after = raw[found + len(delimiter) : (end if line_end < 0 else line_end)]
        if not line_start or (after.strip() and not after.startswith("--")):
            position = found + len(delimiter)
            continue
        if opened >= 0:
            close = found - 1 if found > 0 and raw[found - 1] == "\n" else found
            yield opened, max(opened, close)
        if after.startswith("--"):
            return
        opened = end if line_end < 0 else line_end + 1
        position = opened
    if opened >= 0 and opened < end:
        yield opened, end  # the closing delimiter is missing: the last part runs to the end
