"""Texts of the `mailflow check` findings and fixes (config/check_findings.toml), validated at load.

Finding texts use `{fact}` placeholders filled with plain values by the kernel's template filler
(bot.core.tables: never re-parsed, so a stranger's certificate subject cannot inject
placeholders). Fix scripts use the PowerShell builder's `{{value}}` placeholders, which become
inert expressions. The loader (the kernel's one TOML loader) checks that every finding id of the
contract has a text, that no unknown id, fix or key is present, and that every placeholder names
a fact the analysis provides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from bot.core import powershell, tables
from bot.core.models import Fix, Severity
from bot.core.paths import ConfigError, config_dir

CONFIG_DIR = config_dir()
DEFAULT_PATH = CONFIG_DIR / "check_findings.toml"

# Facts every check finding can use.
COMMON_FACTS = frozenset({"host", "ip", "where", "domain", "target", "attempts"})
_CERT = frozenset({"subject", "issuer", "thumbprint", "not_after", "names", "detail"})
_DANE = frozenset({"name", "validation"})  # the TLSA owner name, how DNSSEC was judged

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
        "dane.none": _DANE,
        "dane.unsigned": _DANE | {"records", "detail"},
        "dane.bogus": _DANE | {"detail"},
        "dane.mismatch": _DANE | {"records", "thumbprint", "expected", "subject", "detail"},
        "dane.usage_unsuitable": _DANE | {"records"},
        "dane.rollover_incomplete": _DANE | {"records"},
        "dane.ok": _DANE | {"records"},
        "mtasts.none": frozenset(),
        "mtasts.record_invalid": frozenset({"detail"}),
        "mtasts.policy_unreachable": frozenset({"url", "detail"}),
        "mtasts.policy_invalid": frozenset({"url", "detail"}),
        "mtasts.mx_not_in_policy": frozenset({"mode", "patterns"}),
        "mtasts.certificate_invalid": frozenset({"mode", "detail", "thumbprint", "subject"}),
        "mtasts.ok": frozenset({"mode", "max_age", "id"}),
        "tlsrpt.none": frozenset(),
        "tlsrpt.invalid": frozenset({"detail"}),
        "tlsrpt.ok": frozenset({"rua"}),
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
        "publish_tlsa": _fix({"name", "record"}, script=False),
        "tlsa_replace_unsuitable": _fix({"name", "record"}, script=False),
        "tlsa_next_key": _fix({"name"}, script=False),
        "dnssec_sign": _fix({"name"}, script=False),
        "dnssec_repair": _fix({"name"}, script=False),
        "exo_dane_inbound": _fix({"name"}, {"domain"}),
        "exo_outbound_modes": _fix({"name"}, {"name"}),
        "mtasts_publish_record": _fix({"id"}, script=False),
        "mtasts_publish_policy": _fix({"url", "policy"}, script=False),
        "mtasts_certificate": _fix({"name"}, script=False),
        "tlsrpt_publish": _fix(set(), script=False),
    }
)
FIX_STAGES = ("verify", "fix", "validate")  # Fix.stage: inspect first, remedy, then prove it
NOTE_FACTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "tls_name": frozenset({"tls_certificate_name"}),
        "chain_capped": frozenset({"presented", "examined"}),
        "appliance": frozenset({"vendor"}),
        "issuer_url": frozenset({"issuer_url"}),
        "exo_no_dane": frozenset(),
        "exo_dane": frozenset(),
    }
)


class CheckTextsError(ConfigError):
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
    stage: str = "fix"


def _check_template(template: str, allowed: frozenset[str], where: str) -> None:
    problem = tables.template_problem(template, allowed)
    if problem is not None:
        raise CheckTextsError(f"{where} {problem}")


def _facts(facts: Mapping[str, object]) -> dict[str, str]:
    return {name: str(value) for name, value in facts.items()}


@dataclass(frozen=True, slots=True)
class CheckTexts:
    findings: Mapping[str, FindingText]
    fixes: Mapping[str, FixText]
    notes: Mapping[str, str]

    def severity(self, finding_id: str) -> Severity:
        return self.findings[finding_id].severity

    def summary(self, finding_id: str, facts: Mapping[str, object]) -> str:
        return tables.fill(self.findings[finding_id].summary, _facts(facts), missing="")

    def explanation(self, finding_id: str, facts: Mapping[str, object]) -> str:
        return tables.fill(self.findings[finding_id].explanation, _facts(facts), missing="")

    def note(self, key: str, facts: Mapping[str, object]) -> str:
        return tables.fill(self.notes[key], _facts(facts), missing="")

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
        title = tables.fill(text.title, _facts(facts), missing="")
        return Fix(title=title, powershell=script, stage=text.stage)


def _finding(finding_id: str, entry: tables.Entry) -> FindingText:
    severity = Severity(entry.choice("severity", [s.value for s in Severity]))
    summary, explanation = entry.string("summary"), entry.string("explanation")
    entry.done()
    if "\n" in summary:
        raise entry.fail("the summary must be one line")
    allowed = COMMON_FACTS | FINDING_FACTS[finding_id]
    _check_template(summary, allowed, f"{entry.where}: summary")
    _check_template(explanation, allowed, f"{entry.where}: explanation")
    return FindingText(finding_id, severity, summary, explanation)


def _fix_text(key: str, entry: tables.Entry) -> FixText:
    contract = FIX_CONTRACTS[key]
    title = entry.string("title")
    stage = entry.choice("stage", FIX_STAGES, "fix")
    _check_template(title, contract.title_facts, f"{entry.where}: title")
    if not contract.script:
        if entry.has("powershell"):
            raise entry.fail("this fix is not a command; remove 'powershell'")
        entry.done()
        return FixText(key, title, None, stage)
    script = entry.string("powershell")
    entry.done()
    used = powershell.placeholders(script)
    if used != contract.values:
        raise entry.fail(
            f"script placeholders {sorted(used)} must be exactly {sorted(contract.values)}"
        )
    return FixText(key, title, script + "\n", stage)


def _section(root: tables.Entry, name: str, expected: set[str]) -> tables.Entry:
    section = root.table(name)
    present = set(section.keys())
    missing, unknown = sorted(expected - present), sorted(present - expected)
    if missing:
        raise root.fail(f"no text for {name} {missing}")
    if unknown:
        raise root.fail(f"unknown {name} {unknown}")
    return section


def load_check_texts(path: Path | None = None) -> CheckTexts:
    """The texts, read through the kernel's one TOML loader (bot.core.tables) and checked
    against the contract above; any problem raises CheckTextsError naming file and key."""
    path = path or DEFAULT_PATH
    root = tables.Entry(tables.load_toml(path, CheckTextsError), path.name, CheckTextsError)
    if root.raw("schema", None) != 1:
        raise root.fail("'schema = 1' expected")
    findings = _section(root, "finding", set(FINDING_IDS))
    fixes = _section(root, "fix", set(FIX_CONTRACTS))
    notes = _section(root, "note", set(NOTE_FACTS))
    root.done()
    note_texts: dict[str, str] = {}
    for key in NOTE_FACTS:
        text = notes.string(key)
        _check_template(text, NOTE_FACTS[key], f"{notes.where}: {key}")
        note_texts[key] = text
    notes.done()
    finding_texts = {i: _finding(i, findings.table(i)) for i in FINDING_IDS}
    fix_texts = {k: _fix_text(k, fixes.table(k)) for k in FIX_CONTRACTS}
    findings.done()
    fixes.done()
    return CheckTexts(
        findings=MappingProxyType(finding_texts),
        fixes=MappingProxyType(fix_texts),
        notes=MappingProxyType(note_texts),
    )


@lru_cache(maxsize=1)
def default_check_texts() -> CheckTexts:
    return load_check_texts(DEFAULT_PATH)
