"""Property values of pasted Exchange objects, in any of the shapes admins paste them.

Format-List writes collections as `{a, b}`, dates in the session's culture (`3/1/2027 11:59:59
PM`, `01.03.2027 23:59:59`), enums by name; ConvertTo-Json writes arrays, enums as numbers (or
names), dates as `/Date(ms)/` (Windows PowerShell 5.1, sometimes wrapped in {value, DateTime})
or ISO 8601 (PowerShell 7). Every function here takes either and never raises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

MAX_ITEMS = 5000  # items kept of one collection
MAX_TEXT = 4096

_MARK = re.compile(r"<\s*([IiSs])\s*>")
_MS_DATE = re.compile(r"/?Date\((-?\d{1,15})(?:[+-]\d{4})?\)/?")
_FORMATS = (
    ("%d.%m.%Y %H:%M:%S", False),
    ("%d.%m.%Y %H:%M", False),
    ("%Y-%m-%d %H:%M:%S", False),
    ("%m/%d/%Y %I:%M:%S %p", True),
    ("%m/%d/%Y %H:%M:%S", True),
    ("%d/%m/%Y %H:%M:%S", False),
    ("%d-%m-%Y %H:%M:%S", False),
    ("%Y/%m/%d %H:%M:%S", False),
)
# Exchange's AllowedServices flags (Get-ExchangeCertificate Services) as ConvertTo-Json numbers.
_SERVICE_FLAGS = (
    (1, "IMAP"), (2, "POP"), (4, "UM"), (8, "IIS"), (16, "SMTP"), (32, "Federation"),
    (64, "UMCallRouter"),
)  # fmt: skip
_SERVICE_LETTERS = re.compile(r"[IPUWSFC.]{4,9}")
_LETTERS = {
    "I": "IMAP", "P": "POP", "U": "UM", "W": "IIS", "S": "SMTP", "F": "FEDERATION",
    "C": "UMCALLROUTER",
}  # fmt: skip
# CertificateStatus as ConvertTo-Json numbers.
_STATUS_NUMBERS = {
    0: "Unknown", 1: "Valid", 2: "Revoked", 3: "DateInvalid", 4: "Untrusted", 5: "Invalid",
    6: "RevocationCheckFailure", 7: "PendingRequest",
}  # fmt: skip


def text(value: object) -> str:
    """One value as text: a JSON object by its display value, a list joined by `, `."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value.strip()[:MAX_TEXT]
    if isinstance(value, dict):
        for key in ("value", "Value", "DisplayName", "Name", "Domain", "Address"):
            if key in value:
                return text(value[key])
        return ""
    if isinstance(value, list):
        return ", ".join(text(item) for item in value[:MAX_ITEMS])[:MAX_TEXT]
    return str(value)[:MAX_TEXT]


def items(value: object) -> tuple[str, ...]:
    """A collection: `{a, b}`, `a, b`, a JSON array, or one value."""
    if value is None:
        return ()
    if isinstance(value, list):
        found = [_item(item) for item in value[:MAX_ITEMS]]
        return tuple(item for item in found if item)
    if isinstance(value, dict):
        one = _item(value)
        return (one,) if one else ()
    raw = text(value)
    if raw.startswith("{") and raw.endswith("}"):
        raw = raw[1:-1]
    elif raw.startswith("{"):  # cut off
        raw = raw[1:]
    raw = raw.removesuffix("...").removesuffix("…")
    return tuple(part.strip() for part in raw.split(",")[:MAX_ITEMS] if part.strip())


def _item(value: object) -> str:
    if isinstance(value, dict):
        address, port = value.get("Address"), value.get("Port")
        if address is not None and port is not None:
            host = text(address)
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        domain = value.get("Domain") or value.get("SmartHost") or value.get("Address")
        if domain is not None:
            return text(domain)
    return text(value)


def flag(value: object) -> bool | None:
    """True / False / None (unknown)."""
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in ("true", "$true", "1", "yes"):
        return True
    if raw in ("false", "$false", "0", "no"):
        return False
    return None


def when(value: object) -> datetime | None:
    """A date as Format-List or ConvertTo-Json writes it (naive values taken as UTC).
    A day.month or month/day order that is ambiguous is read the way en-US writes it."""
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    raw = text(value)[:80]
    if not raw:
        return None
    found = _MS_DATE.fullmatch(raw.replace("\\/", "/"))
    if found:
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(found.group(1)))
        except OverflowError:
            return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        parsed = _by_format(raw)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _by_format(raw: str) -> datetime | None:
    for pattern, _us in _FORMATS:
        try:
            return datetime.strptime(raw, pattern)  # naive: made UTC by the caller
        except ValueError:
            continue
    return None


def services(value: object) -> frozenset[str] | None:
    """Get-ExchangeCertificate's Services: names (`IMAP, POP, IIS, SMTP`), the flags number, or
    the letters of its default table view (`IP.WS..`: IMAP, POP, IIS, SMTP)."""
    number = _number(value)
    if number is not None:
        return frozenset(name for bit, name in _SERVICE_FLAGS if number & bit)
    raw = text(value)
    if _SERVICE_LETTERS.fullmatch(raw):
        return frozenset(_LETTERS[ch] for ch in raw if ch in _LETTERS)
    names = items(value)
    if not names:
        return None
    return frozenset(name.strip().upper() for name in names if name.strip().lower() != "none")


def status(value: object) -> str:
    number = _number(value)
    if number is not None:
        return _STATUS_NUMBERS.get(number, str(number))
    return text(value)


def enum_name(value: object, names: dict[int, str] | None = None) -> str:
    """An enum's name; a number only when `names` knows it (else the number as text)."""
    number = _number(value)
    if number is not None:
        return (names or {}).get(number, str(number))
    return text(value)


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return _number(value.get("value", value.get("Value")))
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


def tls_name(value: object) -> tuple[str, str] | None:
    """(issuer, subject) of a TlsCertificateName (`<I>issuer<S>subject`, also as a JSON object
    with CertificateIssuer/CertificateSubject); None when empty."""
    if isinstance(value, dict):
        issuer = next((text(v) for k, v in value.items() if k.lower().endswith("issuer")), "")
        subject = next((text(v) for k, v in value.items() if k.lower().endswith("subject")), "")
        return (issuer, subject) if issuer or subject else None
    raw = text(value).replace("\\u003c", "<").replace("\\u003e", ">")
    if not raw:
        return None
    raw = _MARK.sub(lambda m: f"<{m.group(1).upper()}>", raw)  # "<S >" after a wrapped line
    upper = raw.upper()
    start, middle = upper.find("<I>"), upper.find("<S>")
    if start < 0 or middle < start:
        return None
    return raw[start + 3 : middle].strip(), raw[middle + 3 :].strip()


def short_server(name: str) -> str:
    """A server as the rules compare it: the host label, upper case (`ex01.contoso.local` and
    `EX01` are one server)."""
    cleaned = name.strip().strip("\\").split("\\", 1)[0]
    return cleaned.split(".", 1)[0].upper()[:64]
