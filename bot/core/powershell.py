"""The one place that turns untrusted values into PowerShell.

Certificate subjects, server names and connector identities come from strangers (remote servers,
pasted text). Every value becomes an inert expression that evaluates to exactly that value, so a
command that compares it (`-eq`) still matches: a single-quoted literal, in which PowerShell
expands nothing; the only special character inside is the quote itself, which is doubled
(PowerShell also treats the typographic quotes U+2018..U+201B as single quotes, so those are
doubled too). A character that must not appear raw in a pasted line (a control character such as
a newline, which would end the statement; a line separator; an invisible format character such as
a right-to-left override, which would disguise the line) is written as its code point,
`[char]0x000A`, joined to the literal parts with `+`. A run of three backticks is split over two
parts, so that Slack's code blocks never have to alter the text: `('a``' + '`b')`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Characters PowerShell's tokenizer accepts as a single quote.
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_MAX_VALUE = 4096

HYBRID_CAPABILITY = "mail.protection.outlook.com:AcceptCloudServicesMail"


class UnsafeValueError(ValueError):
    """A value cannot be used in a command at all (for example a malformed thumbprint)."""


def _code_point(ch: str) -> str:
    point = ord(ch)
    if point > 0xFFFF:  # [char] is one UTF-16 unit
        return f"[char]::ConvertFromUtf32(0x{point:X})"
    return f"[char]0x{point:04X}"


def _parts(value: str) -> list[str]:
    """Literal parts (quoted) and code points, in order; the first is always a literal so
    that `+` concatenates strings."""
    parts: list[str] = []
    literal: list[str] = []

    def close() -> None:
        parts.append("'" + "".join(literal) + "'")
        literal.clear()

    for ch in value:
        if not ch.isprintable():
            if literal or not parts:
                close()
            parts.append(_code_point(ch))
        elif ch == "`" and literal[-2:] == ["`", "`"]:
            close()
            literal.append(ch)
        else:
            literal.append(ch * 2 if ch in _SINGLE_QUOTES else ch)
    if literal or not parts:
        close()
    return parts


def quote(value: str) -> str:
    """`value` (at most 4,096 characters of it) as an inert PowerShell expression that
    evaluates to exactly that text: `'CN=x'`, or `('a' + [char]0x000A + 'b')`."""
    parts = _parts(value[:_MAX_VALUE])
    return parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"


def quote_array(values: Iterable[str]) -> str:
    """Return `values` as a PowerShell array of inert single-quoted literals: @('a', 'b')."""
    return "@(" + ", ".join(quote(value) for value in values) + ")"


def thumbprint(value: str) -> str:
    """Normalise a certificate thumbprint (SHA-1 hex, any case, spaces or colons allowed)."""
    compact = re.sub(r"[\s:]", "", value[:200]).upper()
    if not _THUMBPRINT.fullmatch(compact):
        raise UnsafeValueError("a thumbprint is 40 hexadecimal digits")
    return compact


def tls_certificate_name(issuer_windows: str, subject_windows: str) -> str:
    """Exchange's SmtpX509Identifier: `<I>issuer<S>subject`, both in Windows name form."""
    return f"<I>{issuer_windows}<S>{subject_windows}"


def placeholders(template: str) -> set[str]:
    """Names of the `{{name}}` placeholders used by a script template."""
    return set(_PLACEHOLDER.findall(template))


ScriptValue = str | tuple[str, ...]


def render(template: str, values: Mapping[str, ScriptValue]) -> str:
    """Fill `{{name}}` placeholders with quoted literals (a tuple becomes an array literal).

    Templates are trusted text from config/knowledge; values never are. A placeholder without a
    value raises KeyError, so the knowledge loader can reject templates that could not be filled.
    """

    def substitute(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return quote_array(value) if isinstance(value, tuple) else quote(value)

    return _PLACEHOLDER.sub(substitute, template)


def can_render(template: str, values: Mapping[str, object]) -> bool:
    return placeholders(template) <= set(values)
