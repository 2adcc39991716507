"""The one reader of distinguished names as people paste them.

Windows (`CN=mail.contoso.com, O=Contoso, S=WA, C=US`, most specific first, `""` inside quoted
values), RFC 4514 (`CN=mail.contoso.com,O=Contoso,ST=WA,C=US`, backslash escapes) and OpenSSL's
one-line form (`/C=US/ST=WA/O=Contoso/CN=mail.contoso.com`) all read into the same attributes.

    split(dn)            -> [("CN", "mail.contoso.com"), ("O", "Contoso"), ...]  (order kept)
    key(dn)              -> comparable form: canonical types, case-folded values, order ignored
    same(a, b)           -> True when the names are equal attribute by attribute
    common_name(dn)      -> "mail.contoso.com" or None

Attribute types are canonical in the RFC 4514 / OpenSSL spelling: Windows' `S` is `ST`, `E` and
`EMAIL` are `EMAILADDRESS`, `OID.2.5.4.3` is `CN`, and so on.
"""

from __future__ import annotations

MAX_DN = 4096  # characters of a name read; longer input is cut

_ALIASES = {
    "S": "ST",
    "E": "EMAILADDRESS",
    "EMAIL": "EMAILADDRESS",
    "SN": "SURNAME",
    "OID.2.5.4.3": "CN",
    "OID.2.5.4.5": "SERIALNUMBER",
    "OID.2.5.4.6": "C",
    "OID.2.5.4.7": "L",
    "OID.2.5.4.8": "ST",
    "OID.2.5.4.9": "STREET",
    "OID.2.5.4.10": "O",
    "OID.2.5.4.11": "OU",
    "OID.1.2.840.113549.1.9.1": "EMAILADDRESS",
    "OID.0.9.2342.19200300.100.1.25": "DC",
    "2.5.4.3": "CN",
    "2.5.4.5": "SERIALNUMBER",
}


def canonical_type(name: str) -> str:
    upper = name.strip().upper()
    return _ALIASES.get(upper, upper)


def split(dn: str) -> list[tuple[str, str]]:
    """The attributes of `dn` in the order written: (canonical type, unquoted value)."""
    text = dn.strip()[:MAX_DN]
    if text.startswith("/") and "=" in text:
        return _split_slashes(text)
    pairs: list[tuple[str, str]] = []
    for part in _parts(text):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            continue
        pairs.append((canonical_type(name), _unquote(value.strip())))
    return pairs


def key(dn: str) -> tuple[tuple[str, str], ...]:
    """Order-, case- and spacing-independent form of `dn` for comparisons."""
    return tuple(sorted((name, " ".join(value.split()).casefold()) for name, value in split(dn)))


def same(one: str, other: str) -> bool:
    first = key(one)
    return bool(first) and first == key(other)


def common_name(dn: str) -> str | None:
    for name, value in split(dn):
        if name == "CN" and value:
            return value
    return None


def values(dn: str, attribute: str) -> list[str]:
    wanted = canonical_type(attribute)
    return [value for name, value in split(dn) if name == wanted]


def _parts(text: str) -> list[str]:
    """Split on `,` `;` and `+` outside double quotes and not escaped by a backslash."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char in ",;+" and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _split_slashes(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split("/"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            pairs.append((canonical_type(name), value.strip()))
    return pairs


def _unquote(value: str) -> str:
    if len(value) > 1 and value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('""', '"')
    if "\\" not in value:
        return value
    out = bytearray()
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            pair = value[index + 1 : index + 3]
            if len(pair) == 2 and all(c in _HEX for c in pair):
                out.append(int(pair, 16))  # RFC 4514: escaped UTF-8 bytes
                index += 3
                continue
            char = value[index + 1]
            index += 1
        out.extend(char.encode("utf-8", "surrogatepass"))
        index += 1
    return out.decode("utf-8", "replace")


_HEX = frozenset("0123456789abcdefABCDEF")
