"""Small extraction helpers shared by the readers (addresses, hosts, IP addresses)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator

# An e-mail address as bounces write it: local part of the usual characters (IMCEAEX addresses of
# Exchange are long and full of + and =), then a domain. Bounded so that it stays linear.
ADDRESS = re.compile(
    r"(?<![\w.+=/-])([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,512}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,63})(?![\w-])"
)
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{3,45})\]")
_HOST = re.compile(
    r"(?<![\w@.-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,63})\.?(?![\w@-])"
)
_IP4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def address_in(text: str) -> str | None:
    """The first e-mail address in `text`, without <> or quotes, or None."""
    found = ADDRESS.search(text)
    if found is None:
        return None
    return _cleaned(found.group(1)) if "@" in found.group(1) else None


def recipient_in(text: str) -> str | None:
    """The first address in `text` that is not labelled as the sender (`from=<a@b>`,
    "MAIL FROM:<a@b>", "sender a@b"): log lines name the sender before the recipient."""
    for index, found in enumerate(ADDRESS.finditer(text)):
        if index >= _MAX_CANDIDATES:
            break
        before = text[max(0, found.start(1) - 20) : found.start(1)]
        if "@" in found.group(1) and _SENDER_LABEL.search(before) is None:
            return _cleaned(found.group(1))
    return None


_MAX_CANDIDATES = 20
_SENDER_LABEL = re.compile(
    r"(?:\bfrom|\bsender|envelope-from|return-path|\bsmtp\.mailfrom)\s{0,3}[=:]?\s{0,3}[<\"']?$",
    re.IGNORECASE,
)


def _cleaned(address: str) -> str:
    """Without the quotes and dots around it, nor the brace of a PowerShell collection
    (`{a@b.example;2;...}`): atext allows `{`, real addresses never start with one."""
    address = address.lstrip("{|`~")
    if address[:2] in ("u'", "b'"):  # Python 2's u'a@b' in a repr
        address = address[1:]
    return address.strip(".'\"").lstrip("{|`~").lower()  # {'a@b': ... too


def addresses_in(text: str, limit: int = 100) -> list[str]:
    out: list[str] = []
    for found in ADDRESS.finditer(text):
        value = _cleaned(found.group(1))
        if value not in out:
            out.append(value)
            if len(out) >= limit:
                break
    return out


def ip_value(text: str) -> str | None:
    """`text` as a normalised IP address, or None. An endpoint (`192.0.2.1:25`,
    `[2001:db8::1]:25`, as LastAttemptedIP and OutboundProxyTargetIP write it) gives its address."""
    value = text.strip()
    if value.startswith("[") and "]:" in value:
        value = value[1 : value.index("]:")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value.strip("[]").removeprefix("IPv6:")))
    except ValueError:
        return None


def host_and_ip(text: str) -> tuple[str | None, str | None]:
    """`mx.example.com [192.0.2.1]`, `mx.example.com (192.0.2.1)` or `192.0.2.1` -> parts."""
    text = text.strip()
    if not text:
        return None, None
    ip = None
    bracketed = _BRACKETED_IP.search(text)
    if bracketed:
        ip = ip_value(bracketed.group(1))
    else:
        plain = _IP4.search(text)
        if plain:
            ip = ip_value(plain.group(1))
    host = _HOST.search(_BRACKETED_IP.sub(" ", text))
    name = host.group(1).lower().rstrip(".") if host else None
    if name is not None and ip_value(name) is not None:
        name = None
    if ip is None and name is None:
        direct = ip_value(text.split()[0])
        return None, direct
    return name, ip


def is_host_name(text: str) -> bool:
    return bool(_HOST.fullmatch(text.strip().rstrip(".")))


def json_values(
    text: str, openers: str = "{", attempts: int = 16, artifact: str = ""
) -> Iterator[tuple[int, int, object]]:
    """(start, end, value) of each JSON value in `text` that starts at one of `openers`, in
    order. A start that does not parse is skipped; at most `attempts` starts are tried, which
    bounds the time on text that only looks like JSON. `artifact`: a fold that some mail
    archives put into long lines, removed when a value does not parse otherwise (that value
    then runs to the end of the text)."""
    decoder = json.JSONDecoder()
    start = _next_opener(text, openers, 0)
    for _ in range(attempts):
        if start < 0:
            return
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value, end = _repaired(decoder, text, start, artifact)
        if end <= start:
            start = _next_opener(text, openers, start + 1)
            continue
        yield start, end, value
        start = _next_opener(text, openers, end)


def _repaired(
    decoder: json.JSONDecoder, text: str, start: int, artifact: str
) -> tuple[object, int]:
    if not artifact or artifact not in text:
        return None, start
    try:
        value, _ = decoder.raw_decode(text[start:].replace(artifact, ""))
    except (ValueError, RecursionError):
        return None, start
    return value, len(text)


def _next_opener(text: str, openers: str, position: int) -> int:
    found = [index for index in (text.find(opener, position) for opener in openers) if index >= 0]
    return min(found) if found else -1
