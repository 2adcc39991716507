"""Recognise certificates of mail gateways, firewalls and cloud filters that terminate TLS.

The signatures are data (config/appliances.toml), validated when loaded: plain case-insensitive
substrings of the subject or issuer, so matching is linear and no pattern can backtrack.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.core.evidence import CertInfo
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml

CONFIG_DIR = config_dir()
DEFAULT_PATH = CONFIG_DIR / "appliances.toml"
KINDS = frozenset({"appliance", "cloud"})
_MAX_TEXT = 4096  # subject/issuer characters searched
_MIN_PATTERN, _MAX_PATTERN = 3, 100


class ApplianceConfigError(ConfigError):
    """config/appliances.toml is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Appliance:
    id: str
    name: str  # what the user sees, e.g. "Fortinet FortiMail / FortiGate"
    kind: str  # "appliance" or "cloud"
    subject: tuple[str, ...]  # lower-case substrings searched in the subject
    issuer: tuple[str, ...]  # lower-case substrings searched in the issuer

    def matches(self, subject: str, issuer: str) -> bool:
        return any(p in subject for p in self.subject) or any(p in issuer for p in self.issuer)


def _patterns(entry: Entry, key: str) -> tuple[str, ...]:
    if entry.has(key) and not isinstance(entry.raw(key), list):
        raise entry.fail(f"'{key}' must be a list of strings")
    patterns = tuple(p.strip().lower() for p in entry.strings(key, ()))
    for pattern in patterns:
        if not _MIN_PATTERN <= len(pattern) <= _MAX_PATTERN:
            raise entry.fail(
                f"pattern {pattern!r} must be {_MIN_PATTERN}-{_MAX_PATTERN} characters"
            )
    return patterns


def _appliance(entry: Entry) -> Appliance:
    ident = entry.string("id")
    entry.where = entry.where.rsplit(" ", 1)[0] + f" {ident!r}"
    name = entry.string("name")
    if not name.strip():
        raise entry.fail("'name' must be a non-empty string")
    kind = entry.choice("kind", sorted(KINDS))
    subject, issuer = _patterns(entry, "subject"), _patterns(entry, "issuer")
    entry.done()
    if not subject and not issuer:
        raise entry.fail("needs at least one subject or issuer pattern")
    return Appliance(ident, name.strip(), kind, subject, issuer)


def load_appliances(path: Path | None = None) -> tuple[Appliance, ...]:
    """Read and validate the signature table (through the kernel's one TOML loader); raises
    ApplianceConfigError with a clear reason."""
    path = path or DEFAULT_PATH
    root = Entry(load_toml(path, ApplianceConfigError), path.name, ApplianceConfigError)
    if root.raw("schema", None) != 1:
        raise root.fail("'schema = 1' expected")
    entries = root.tables("appliance")
    root.done()
    if not entries:
        raise root.fail("no [[appliance]] entries")
    appliances = tuple(_appliance(entry) for entry in entries)
    ids = [a.id for a in appliances]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise root.fail(f"duplicate ids {duplicates}")
    return appliances


@lru_cache(maxsize=1)
def default_appliances() -> tuple[Appliance, ...]:
    return load_appliances(DEFAULT_PATH)


def find_appliance(
    cert: CertInfo, appliances: tuple[Appliance, ...] | None = None
) -> Appliance | None:
    """The first known gateway whose signature matches the certificate's subject or issuer."""
    table = default_appliances() if appliances is None else appliances
    subject = f"{cert.subject[:_MAX_TEXT]}\n{cert.subject_windows[:_MAX_TEXT]}".lower()
    issuer = f"{cert.issuer[:_MAX_TEXT]}\n{cert.issuer_windows[:_MAX_TEXT]}".lower()
    return next((a for a in table if a.matches(subject, issuer)), None)


def match_appliance(cert: CertInfo, appliances: tuple[Appliance, ...] | None = None) -> str | None:
    """Name of the gateway that presented `cert`, or None for an ordinary server certificate."""
    found = find_appliance(cert, appliances)
    return found.name if found else None
