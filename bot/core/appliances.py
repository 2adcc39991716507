"""Recognise certificates of mail gateways, firewalls and cloud filters that terminate TLS.

The signatures are data (config/appliances.toml), validated when loaded: plain case-insensitive
substrings of the subject or issuer, so matching is linear and no pattern can backtrack.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.core.evidence import CertInfo
from bot.core.paths import ConfigError, config_dir

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


def _patterns(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = entry.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ApplianceConfigError(f"{where}: '{key}' must be a list of strings")
    patterns = tuple(p.strip().lower() for p in raw)
    for pattern in patterns:
        if not _MIN_PATTERN <= len(pattern) <= _MAX_PATTERN:
            raise ApplianceConfigError(
                f"{where}: pattern {pattern!r} must be {_MIN_PATTERN}-{_MAX_PATTERN} characters"
            )
    return patterns


def _appliance(entry: object, number: int, path: Path) -> Appliance:
    where = f"{path.name}: appliance {number}"
    if not isinstance(entry, dict):
        raise ApplianceConfigError(f"{where}: must be a table")
    unknown = set(entry) - {"id", "name", "kind", "subject", "issuer"}
    if unknown:
        raise ApplianceConfigError(f"{where}: unknown keys {sorted(unknown)}")
    ident, name, kind = entry.get("id"), entry.get("name"), entry.get("kind")
    if not isinstance(ident, str) or not ident:
        raise ApplianceConfigError(f"{where}: 'id' must be a non-empty string")
    where = f"{path.name}: appliance {ident!r}"
    if not isinstance(name, str) or not name.strip():
        raise ApplianceConfigError(f"{where}: 'name' must be a non-empty string")
    if kind not in KINDS:
        raise ApplianceConfigError(f"{where}: 'kind' must be one of {sorted(KINDS)}")
    subject, issuer = _patterns(entry, "subject", where), _patterns(entry, "issuer", where)
    if not subject and not issuer:
        raise ApplianceConfigError(f"{where}: needs at least one subject or issuer pattern")
    return Appliance(ident, name.strip(), str(kind), subject, issuer)


def load_appliances(path: Path | None = None) -> tuple[Appliance, ...]:
    """Read and validate the signature table; raises ApplianceConfigError with a clear reason."""
    path = path or DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ApplianceConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ApplianceConfigError(f"{path.name}: {exc}") from exc
    if data.get("schema") != 1:
        raise ApplianceConfigError(f"{path.name}: 'schema = 1' expected")
    unknown = set(data) - {"schema", "appliance"}
    if unknown:
        raise ApplianceConfigError(f"{path.name}: unknown keys {sorted(unknown)}")
    entries = data.get("appliance")
    if not isinstance(entries, list) or not entries:
        raise ApplianceConfigError(f"{path.name}: no [[appliance]] entries")
    appliances = tuple(_appliance(e, n, path) for n, e in enumerate(entries, start=1))
    ids = [a.id for a in appliances]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ApplianceConfigError(f"{path.name}: duplicate ids {duplicates}")
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
