"""Escaping for Slack mrkdwn: the only way text from users or remote servers enters a message.

Slack treats `<...>` as control sequences (`<!channel>`, `<@U123>`, links) and `&` as the start of
an entity. Escaping these three characters everywhere makes any text inert: it renders exactly as
written and can never mention or notify anybody. In prose a backtick would open a code span or
block that swallows the rest of the message, and mrkdwn has no escape for it: prose shows it as
the look-alike U+02CB. Inside code (`escape_code`) nothing but the entities changes, so a command
copied from a code block is the command we built.
"""

from __future__ import annotations

_CODE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_PROSE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "\u02cb"})
ELLIPSIS = "…"


def escape(text: str) -> str:
    """Prose: entities escaped, backticks made inert."""
    return text.translate(_PROSE_ESCAPES)


def escape_code(text: str) -> str:
    """Text inside a code span or block: entities only."""
    return text.translate(_CODE_ESCAPES)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, marking the cut. Apply to raw text, before escaping."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def inline_code(text: str, limit: int = 200) -> str:
    flat = truncate(text.replace("\n", " ").replace("`", "\u02cb"), limit)
    return f"`{escape_code(flat)}`" if flat else ""


def bold(text: str, limit: int = 200) -> str:
    flat = truncate(text.replace("\n", " ").replace("*", "∗"), limit)
    return f"*{escape(flat)}*"


def code_block(text: str) -> str:
    """A fenced block; a ``` inside the text is broken up so it cannot close the fence early.
    Commands never contain one (bot.core.powershell splits such runs), so they pass unaltered."""
    body = escape_code(text).replace("```", "`\u200b``")
    return f"```\n{body}\n```"


def escaped_length(text: str) -> int:
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def code_length(text: str) -> int:
    """An upper bound of len(code_block body) for raw `text`: escaping, plus one character per
    backtick (breaking up ``` adds one character per three)."""
    return escaped_length(text) + text.count("`")


def split_escaped(text: str, limit: int) -> list[str]:
    """Chunks of raw `text` whose code-block form (escaped, fences broken up) is at most `limit`
    characters each, cut at line boundaries where possible (a single overlong line is cut
    wherever it must be)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        length = code_length(line)
        if size + length > limit and current:
            chunks.append("".join(current))
            current, size = [], 0
        if length > limit:
            chunks.extend(_hard_split(line, limit))
            continue
        current.append(line)
        size += length
    if current or not chunks:
        chunks.append("".join(current))
    return [chunk.rstrip("\n") for chunk in chunks]


def _hard_split(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    start = size = 0
    for index, char in enumerate(line):
        width = code_length(char)
        if size + width > limit:
            pieces.append(line[start:index])
            start, size = index, 0
        size += width
    pieces.append(line[start:])
    return pieces
