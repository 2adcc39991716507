"""Text from strangers (remote servers, certificates, pastes) shown on one line.

A newline in a certificate field would start what looks like a new line of the report (or of a
fix script), an escape sequence could rewrite the terminal, a right-to-left override could
disguise a line. `one_line` shows every character that is not printable as an escape instead:
`\\x0a`, `\\x1b`, `\\u202e`. Renderers and the check's findings use it for every remote value.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    point = ord(ch)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def one_line(text: str) -> str:
    """`text` with every non-printable character (controls, line and paragraph separators,
    invisible format characters; the plain space stays) shown as an escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
