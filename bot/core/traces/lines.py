"""Turning arbitrary pieces of decoded text into bounded lines, and cleaning chat markup.

`split_lines` yields exactly the same lines whatever the chunking of the input: a line is the text
between two LF characters, trailing CRs removed, cut to its first `MAX_LINE` characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

MAX_LINE = 64 * 1024  # characters kept of one line
MAX_TEXT = 1000  # characters kept of an event's text
MAX_FIELD = 512  # characters kept of one field value
MAX_ITEMS = 100  # items kept of a list field (SANs, recipients)


def clip(value: str, limit: int = MAX_FIELD) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def split_lines(chunks: Iterable[str]) -> Iterator[tuple[str | None, list[str]]]:
    """Group the lines of `chunks` into blocks (one per chunk, roughly): `(text, lines)` where
    `text` is the block's lines joined by LF, or None when a line had to be cut.

    A line is the text between two LFs, cut to its first `MAX_LINE` characters; it keeps the CR
    of a CRLF (consumers strip it), except a final line without LF, which loses trailing CRs.
    The lines do not depend on where the chunks were split.
    """
    carry = ""  # the unfinished last line, at most MAX_LINE characters
    skipping = False  # carry was cut: drop input up to the next LF
    for chunk in chunks:
        if not chunk:
            continue
        piece = chunk
        if skipping:
            newline = piece.find("\n")
            if newline < 0:
                continue
            yield None, [carry]
            carry, skipping = "", False
            piece = piece[newline + 1 :]
        last = piece.rfind("\n")
        if last < 0:
            carry += piece
            if len(carry) > MAX_LINE:
                carry, skipping = carry[:MAX_LINE], True
            continue
        text = carry + piece[:last] if carry else piece[:last]
        carry = piece[last + 1 :]
        if len(carry) > MAX_LINE:
            carry, skipping = carry[:MAX_LINE], True
        lines = text.split("\n")
        if len(text) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
            yield None, [line[:MAX_LINE] for line in lines]
        else:
            yield text, lines
    if skipping:
        yield None, [carry]
    elif carry:
        yield None, [carry.rstrip("\r")]


# Slack wraps links and addresses: <mailto:a@b|a@b>, <https://x|x>, <https://x>, and mentions
# such as <!channel>, <@U123>, <#C123|general>, <!subteam^S1|@team>.
_SLACK_LINK = re.compile(r"<(?:mailto:|https?://|ftp://)([^<>|\s]{1,512})(?:\|([^<>]{0,512}))?>")
_SLACK_MENTION = re.compile(r"<[!@#][^<>\s]{0,256}>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unslack(line: str) -> str:
    """Undo Slack's message markup: unwrap links and addresses, drop mentions, unescape."""
    if "<" in line:
        line = _SLACK_LINK.sub(_link_label, line)
        if "<!" in line or "<@" in line or "<#" in line:
            line = _SLACK_MENTION.sub("", line)
    if "&" in line:
        for entity, char in _ENTITIES:
            line = line.replace(entity, char)
    return line


def _link_label(match: re.Match[str]) -> str:
    label = match.group(2)
    return label if label else match.group(1)


def strip_decoration(line: str) -> str:
    """Remove chat decoration around pasted text (code fences, quote markers), keeping the
    indentation that PowerShell lists and bounce messages use for continuation lines."""
    if "`" in line:
        if line.lstrip().startswith("```"):
            line = line.lstrip()[3:]
        if line.rstrip().endswith("```"):
            line = line.rstrip()[:-3]
    if line.startswith(("> ", "&gt; ")):
        line = line.split(" ", 1)[1]
    elif line in (">", "&gt;"):
        line = ""
    return line
