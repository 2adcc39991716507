"""Turn what a user typed into the name to check: a domain, an e-mail address, a host name,
a `mailto:`/URL form or Slack's `<mailto:a@b|a@b>` link syntax. Pure code, no DNS.

Internationalised names become A-labels (IDNA 2008 with UTS 46 mapping, via the `idna`
package); the result is lower-case without a trailing dot. Anything else is refused with an
`InvalidTarget` whose message is one short line fit to show to the user.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

import idna

MAX_INPUT_CHARS = 1024  # checked before any parsing
MAX_NAME_OCTETS = 253
MAX_LABEL_OCTETS = 63
_ECHO_CHARS = 60

_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)


class InvalidTarget(ValueError):
    """The text is not a domain, e-mail address or host name. str(exc) is one short line."""


class TargetKind(StrEnum):
    DOMAIN = "domain"  # a bare name (domain or host name)
    EMAIL = "email"  # the domain part of an e-mail address
    URL = "url"  # the host of a URL
    IP = "ip"  # an IP literal: only accepted in host mode


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # A-label, lower-case, no trailing dot; or the compressed IP literal
    kind: TargetKind
    display: str  # U-label form for humans (same as name for ASCII names and IPs)

    @property
    def is_ip(self) -> bool:
        return self.kind is TargetKind.IP


def normalise_target(text: str, *, host_mode: bool = False) -> Target:
    """Normalise user input to a Target, or raise InvalidTarget.

    `host_mode` (the `--host` option) also accepts IP literals; a mail domain never is one.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidTarget(f"target is too long ({len(text)} characters)")
    raw = text.strip()
    if not raw:
        raise InvalidTarget("empty target: give a domain, e-mail address or host name")
    candidate, kind = _extract_name(raw)
    ip = _ip_literal(candidate)
    if ip is not None:
        if not host_mode:
            raise InvalidTarget(
                f"{_echo(raw)} is an IP address, not a mail domain (use --host to probe it)"
            )
        return Target(name=ip.compressed, kind=TargetKind.IP, display=ip.compressed)
    name = _to_a_label(candidate, raw)
    return Target(name=name, kind=kind, display=_display(name))


def normalise_name(text: str) -> str:
    """A-label form of a bare host name (for --expect-name values); raises InvalidTarget."""
    target = normalise_target(text, host_mode=True)
    if target.is_ip:
        raise InvalidTarget(f"{_echo(text.strip())} is an IP address; expected a host name")
    return target.name


def display_name(name: str) -> str:
    """The U-label form of an A-label name, for humans (the name itself when not an IDN)."""
    return _display(name)


def _extract_name(raw: str) -> tuple[str, TargetKind]:
    """Peel Slack link syntax, mailto: and URL forms, and the local part of an address."""
    kind = TargetKind.DOMAIN
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1].partition("|")[0].strip()  # <url|label>: the url is the truth
    if raw[:7].lower() == "mailto:":
        raw = unquote(raw[7:].partition("?")[0])
        kind = TargetKind.EMAIL
    elif _URL_SCHEME.match(raw):
        try:
            host = urlsplit(raw).hostname
        except ValueError as exc:
            raise InvalidTarget(f"not a valid URL: {_echo(raw)}") from exc
        if not host:
            raise InvalidTarget(f"no host name in URL: {_echo(raw)}")
        return host, TargetKind.URL
    if "@" in raw:
        raw = raw.rpartition("@")[2]
        kind = TargetKind.EMAIL
        if not raw:
            raise InvalidTarget("the e-mail address has no domain part")
    return raw, kind


def _ip_literal(candidate: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = candidate
    if text.startswith("[") and text.endswith("]"):  # address literal: [1.2.3.4], [IPv6:...]
        text = text[1:-1]
        if text[:5].lower() == "ipv6:":
            text = text[5:]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _to_a_label(candidate: str, raw: str) -> str:
    if any(ch.isspace() for ch in candidate):
        raise InvalidTarget(f"a name cannot contain spaces: {_echo(raw)}")
    name = candidate[:-1] if candidate.endswith(".") else candidate
    if not name:
        raise InvalidTarget(f"not a domain, e-mail address or host name: {_echo(raw)}")
    if len(name) > MAX_NAME_OCTETS:
        raise InvalidTarget(f"name longer than {MAX_NAME_OCTETS} characters")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidTarget(f"not a valid internationalised name: {_echo(raw)}") from exc
        name = name.removesuffix(".")
    name = name.lower()
    _check_labels(name, raw)
    return name


def _check_labels(name: str, raw: str) -> None:
    if len(name) > MAX_NAME_OCTETS:
        raise InvalidTarget(f"name longer than {MAX_NAME_OCTETS} octets")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise InvalidTarget(f"empty label (two dots in a row?): {_echo(raw)}")
        if len(label) > MAX_LABEL_OCTETS:
            raise InvalidTarget(f"label longer than {MAX_LABEL_OCTETS} characters: {_echo(raw)}")
        if "_" in label:
            raise InvalidTarget(f"underscores are not allowed in host names: {_echo(raw)}")
        if not _LDH_LABEL.fullmatch(label):
            raise InvalidTarget(
                f"not a domain, e-mail address or host name (bad characters): {_echo(raw)}"
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError) as exc:
                raise InvalidTarget(f"invalid IDN A-label {label!r}") from exc
    if labels[-1].isdigit():
        raise InvalidTarget(f"the last label cannot be all digits: {_echo(raw)}")


def _display(name: str) -> str:
    if "xn--" not in name:
        return name
    try:
        return idna.decode(name)
    except (idna.IDNAError, UnicodeError):
        return name


def _echo(raw: str) -> str:
    """The user's text, with control characters escaped, shortened, for error messages (cut
    after escaping: one character may take ten to show)."""
    shown = repr(raw[: _ECHO_CHARS * 10])
    return shown if len(shown) <= _ECHO_CHARS else shown[: _ECHO_CHARS - 1] + "…"
