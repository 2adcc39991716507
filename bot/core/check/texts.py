"""Texts of the `mailflow check` findings and fixes (config/check_findings.toml), validated at load.

Finding texts use `{fact}` placeholders filled with plain values (never re-parsed, so a stranger's
certificate subject cannot inject placeholders). Fix scripts use the PowerShell builder's
`{{value}}` placeholders, which become quoted literals. The loader checks that every finding id of
the contract has a text, that no unknown id or fix is present, and that every placeholder names a
fact the analysis provides.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.core import powershell
from bot.core.models import Fix, Severity
from bot.core.paths import config_dir

CONFIG_DIR = config_dir()
DEFAULT_PATH = CONFIG_DIR / "check_findings.toml"

# Facts every check finding can use.
COMMON_FACTS = frozenset({"host", "ip", "where", "domain", "target", "attempts"})
_CERT = frozenset({"subject", "issuer", "thumbprint", "not_after", "names", "detail"})

# The finding ids are a contract (issue 3), in the order the README lists them, with the extra
# facts each one provides.
FINDING_FACTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "dns.nxdomain": frozenset(),
        "dns.null_mx": frozenset(),
        "dns.no_mx": frozenset({"addresses"}),
        "dns.no_address": frozenset({"error"}),
        "dns.lookup_failed": frozenset({"error"}),
        "mx.exchange_online": frozenset(),
        "target.blocked": frozenset({"addresses"}),
        "target.capped": frozenset({"count", "total", "probed"}),
        "smtp.connect_failed": frozenset({"step", "error"}),
        "smtp.timeout": frozenset({"step", "error"}),
        "smtp.rejected": frozenset({"step", "reply"}),
        "smtp.starttls_missing": frozenset({"missing", "total"}),
        "smtp.inspection": frozenset({"evidence"}),
        "smtp.protocol_violation": frozenset({"before", "sent", "bytes"}),
        "smtp.starttls_injection": frozenset({"step", "error", "sent"}),
        "tls.handshake_failed": frozenset({"error"}),
        "tls.protocol_outdated": frozenset({"version"}),
        "cert.subject_mismatch": _CERT | {"missing", "sans"},
        "cert.expired": _CERT,
        "cert.not_yet_valid": _CERT | {"not_before"},
        "cert.expiring_soon": _CERT | {"days"},
        "cert.self_signed": _CERT,
        "cert.untrusted": _CERT,
        "cert.chain_incomplete": _CERT | {"missing_issuer"},
        "cert.weak_key": _CERT,
        "cert.weak_signature": _CERT,
        "cert.inconsistent": frozenset({"count", "presented", "names"}),
        "cert.appliance": _CERT | {"vendor"},
    }
)
FINDING_IDS = tuple(FINDING_FACTS)


@dataclass(frozen=True, slots=True)
class FixContract:
    title_facts: frozenset[str]  # `{fact}` placeholders allowed in the title
    values: frozenset[str]  # `{{value}}` placeholders of the script (all required), or empty
    script: bool  # whether the fix carries a PowerShell script


def _fix(title: set[str], values: set[str] | None = None, *, script: bool = True) -> FixContract:
    return FixContract(frozenset(title) | COMMON_FACTS, frozenset(values or ()), script)


# Fixes the analysis can attach; `values` are exactly the script's placeholders.
FIX_CONTRACTS: Mapping[str, FixContract] = MappingProxyType(
    {
        "exchange_bind_by_thumbprint": _fix(
            {"thumbprint", "healthy_ip", "targets"}, {"thumbprint"}
        ),
        "exchange_bind_by_name": _fix({"name", "targets"}, {"name"}),
        "exchange_renew": _fix({"name", "names"}, {"name", "names"}),
        "hybrid_configuration": _fix({"name"}, {"name"}),
        "exchange_online_connector": _fix({"name"}, {"host", "name"}),
        "exchange_intermediate": _fix({"issuer"}, {"issuer"}),
        "postfix_chain": _fix({"issuer"}, script=False),
        "appliance_certificate": _fix({"vendor", "names"}, script=False),
        "cloud_filter": _fix({"vendor"}, script=False),
        "disable_inspection": _fix(set(), script=False),
        "single_greeting": _fix(set()),
        "smtp_proxy": _fix(set(), script=False),
        "starttls_injection": _fix(set(), script=False),
        "exchange_starttls": _fix({"name"}, {"name"}),
        "enable_tls12": _fix(set()),
        "check_listener": _fix(set()),
        "firewall_port25": _fix(set(), script=False),
        "smtp_reply": _fix({"reply"}, script=False),
        "dns_publish_mx": _fix(set(), script=False),
        "dns_null_mx": _fix(set(), script=False),
        "dns_host_address": _fix(set(), script=False),
        "dns_retry": _fix({"error"}, script=False),
        "probe_smart_host": _fix(set()),
        "allow_net": _fix({"addresses"}, script=False),
        "private_ca": _fix({"name"}, script=False),
        "probe_address": _fix({"name", "address"}, script=False),
    }
)
NOTE_FACTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "tls_name": frozenset({"tls_certificate_name"}),
        "chain_capped": frozenset({"presented", "examined"}),
        "appliance": frozenset({"vendor"}),
        "issuer_url": frozenset({"issuer_url"}),
    }
)


class CheckTextsError(ValueError):
    """config/check_findings.toml is missing or does not honour the contract."""


@dataclass(frozen=True, slots=True)
class FindingText:
    id: str
    severity: Severity
    summary: str
    explanation: str


@dataclass(frozen=True, slots=True)
class FixText:
    key: str
    title: str
    powershell: str | None


def _fields(template: str, where: str) -> set[str]:
    """The `{name}` placeholders of a text template; rejects anything but plain names."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CheckTextsError(f"{where}: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise CheckTextsError(f"{where}: placeholder {{{name}}} must be a plain fact name")
        names.add(name)
    return names


def fill(template: str, facts: Mapping[str, object]) -> str:
    """Substitute `{fact}` placeholders; values are inserted verbatim, never parsed again."""
    parts: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(str(facts.get(name, "")))
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class CheckTexts:
    findings: Mapping[str, FindingText]
    fixes: Mapping[str, FixText]
    notes: Mapping[str, str]

    def severity(self, finding_id: str) -> Severity:
        return self.findings[finding_id].severity

    def summary(self, finding_id: str, facts: Mapping[str, object]) -> str:
        return fill(self.findings[finding_id].summary, facts)

    def explanation(self, finding_id: str, facts: Mapping[str, object]) -> str:
        return fill(self.findings[finding_id].explanation, facts)

    def note(self, key: str, facts: Mapping[str, object]) -> str:
        return fill(self.notes[key], facts)

    def fix(
        self,
        key: str,
        facts: Mapping[str, object],
        values: Mapping[str, powershell.ScriptValue] | None = None,
    ) -> Fix:
        """A Fix whose script has every value quoted by bot.core.powershell."""
        text = self.fixes[key]
        script = None
        if text.powershell is not None:
            script = powershell.render(text.powershell, values or {})
        return Fix(title=fill(text.title, facts), powershell=script)


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CheckTextsError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _finding(finding_id: str, table: object) -> FindingText:
    where = f"finding {finding_id!r}"
    if not isinstance(table, dict):
        raise CheckTextsError(f"{where}: must be a table")
    unknown = set(table) - {"severity", "summary", "explanation"}
    if unknown:
        raise CheckTextsError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        severity = Severity(str(table.get("severity")))
    except ValueError as exc:
        raise CheckTextsError(f"{where}: severity must be error, warning or info") from exc
    summary, explanation = _text(table, "summary", where), _text(table, "explanation", where)
    if "\n" in summary:
        raise CheckTextsError(f"{where}: the summary must be one line")
    allowed = COMMON_FACTS | FINDING_FACTS[finding_id]
    for name, template in (("summary", summary), ("explanation", explanation)):
        unknown_facts = _fields(template, f"{where} {name}") - allowed
        if unknown_facts:
            raise CheckTextsError(f"{where} {name}: unknown placeholders {sorted(unknown_facts)}")
    return FindingText(finding_id, severity, summary, explanation)


def _fix_text(key: str, table: object) -> FixText:
    where = f"fix {key!r}"
    contract = FIX_CONTRACTS[key]
    if not isinstance(table, dict):
        raise CheckTextsError(f"{where}: must be a table")
    unknown = set(table) - {"title", "powershell"}
    if unknown:
        raise CheckTextsError(f"{where}: unknown keys {sorted(unknown)}")
    title = _text(table, "title", where)
    unknown_facts = _fields(title, f"{where} title") - contract.title_facts
    if unknown_facts:
        raise CheckTextsError(f"{where} title: unknown placeholders {sorted(unknown_facts)}")
    script = table.get("powershell")
    if not contract.script:
        if script is not None:
            raise CheckTextsError(f"{where}: this fix is not a command; remove 'powershell'")
        return FixText(key, title, None)
    if not isinstance(script, str) or not script.strip():
        raise CheckTextsError(f"{where}: 'powershell' must be a non-empty script")
    used = powershell.placeholders(script)
    if used != contract.values:
        raise CheckTextsError(
            f"{where}: script placeholders {sorted(used)} must be exactly {sorted(contract.values)}"
        )
    return FixText(key, title, script.strip() + "\n")


def _section(data: dict[str, Any], name: str, expected: set[str], path: Path) -> dict[str, Any]:
    section = data.get(name)
    if not isinstance(section, dict):
        raise CheckTextsError(f"{path.name}: missing [{name}] tables")
    missing = sorted(expected - set(section))
    unknown = sorted(set(section) - expected)
    if missing:
        raise CheckTextsError(f"{path.name}: no text for {name} {missing}")
    if unknown:
        raise CheckTextsError(f"{path.name}: unknown {name} {unknown}")
    return section


def load_check_texts(path: Path | None = None) -> CheckTexts:
    path = path or DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CheckTextsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CheckTextsError(f"{path.name}: {exc}") from exc
    if data.get("schema") != 1:
        raise CheckTextsError(f"{path.name}: 'schema = 1' expected")
    unknown = set(data) - {"schema", "finding", "fix", "note"}
    if unknown:
        raise CheckTextsError(f"{path.name}: unknown keys {sorted(unknown)}")
    findings = _section(data, "finding", set(FINDING_IDS), path)
    fixes = _section(data, "fix", set(FIX_CONTRACTS), path)
    notes = _section(data, "note", set(NOTE_FACTS), path)
    note_texts: dict[str, str] = {}
    for key, text in notes.items():
        if not isinstance(text, str) or not text.strip():
            raise CheckTextsError(f"note {key!r}: must be a non-empty string")
        unknown_facts = _fields(text, f"note {key!r}") - NOTE_FACTS[key]
        if unknown_facts:
            raise CheckTextsError(f"note {key!r}: unknown placeholders {sorted(unknown_facts)}")
        note_texts[key] = text.strip()
    return CheckTexts(
        findings=MappingProxyType({i: _finding(i, findings[i]) for i in FINDING_IDS}),
        fixes=MappingProxyType({k: _fix_text(k, fixes[k]) for k in FIX_CONTRACTS}),
        notes=MappingProxyType(note_texts),
    )


@lru_cache(maxsize=1)
def default_check_texts() -> CheckTexts:
    return load_check_texts(DEFAULT_PATH)
