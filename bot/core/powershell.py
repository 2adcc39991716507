"""The one place that turns untrusted values into PowerShell.

Certificate subjects, server names and connector identities come from strangers (remote servers,
pasted text). Every value is emitted as a single-quoted literal, in which PowerShell expands
nothing; the only special character inside is the quote itself, which is doubled. PowerShell also
treats the typographic quotes U+2018..U+201B as single quotes, so those are doubled too.
Control characters (including CR/LF and the Unicode line/paragraph separators) are removed,
because a newline inside a pasted command would end the statement.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Characters PowerShell's tokenizer accepts as a single quote.
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_MAX_VALUE = 4096

HYBRID_CAPABILITY = "mail.protection.outlook.com:AcceptCloudServicesMail"


class UnsafeValueError(ValueError):
    """A value cannot be used in a command at all (for example a malformed thumbprint)."""


def _strip_controls(value: str) -> str:
    return "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Zl", "Zp"})


def quote(value: str) -> str:
    """Return `value` as an inert PowerShell single-quoted string literal."""
    cleaned = _strip_controls(value)[:_MAX_VALUE]
    escaped = "".join(ch * 2 if ch in _SINGLE_QUOTES else ch for ch in cleaned)
    return f"'{escaped}'"


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
