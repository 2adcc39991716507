"""Configuration cross-check: pasted or collected Exchange configuration -> ConfigSet ->
rules -> Facts for the cause stage (config/causes/exchange_config.toml), joined with the
trace and log findings of the same case.

    reader = ExchangeConfigReader()            # bot.core.diagnose.readers.exchange_config
    observer.see(fact)                         # every other fact of the case (times, names)
    facts = case_facts(reader.config, observer)
    findings = join_findings(findings)         # one story told once
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core import names
from bot.core.diagnose.config.rules import ConfigSet, cross_check
from bot.core.diagnose.fact import Fact, FactKind
from bot.core.diagnose.findings import looks_like_host, parse_time
from bot.core.models import Finding, most_severe_first

CHECKED_ID = "config.checked"
MAX_NAMES = 16
# Trace findings a configuration finding explains, and the configuration findings that do, in
# the order they are preferred as the one story.
EXPLAINED = frozenset(
    {
        "exo.tls.subject_mismatch", "exo.tls.untrusted_chain", "exo.tls.certificate_expired",
        "exo.tls.certificate_validation_failed", "exo.tls.certificate_revoked",
        "exo.connector.tenant_attribution",
    }
)  # fmt: skip
EXPLAINS = (
    "config.receive.no_certificate", "config.connector.certificate_not_found",
    "config.certificate.self_signed", "config.probe.presented_other_certificate",
    "config.certificate.expired", "config.certificate.name_not_covered",
    "config.certificate.status", "config.certificate.not_smtp",
    "config.exo.inbound_certificate_mismatch", "config.exo.outbound_tls_domain",
)  # fmt: skip


@dataclass
class CaseObserver:
    """What the other facts of a case tell the cross-check: the latest time they were written
    (certificate expiry is judged then) and the names Exchange Online failed to validate."""

    latest: datetime | None = None
    names: set[str] = field(default_factory=set)

    def see(self, fact: Fact) -> None:
        if fact.kind is FactKind.CONFIG:
            return
        stamp = fact.timestamp or fact.extra.get("last_seen")
        if isinstance(stamp, str):
            when = parse_time(stamp)
            if when is not None and (self.latest is None or when > self.latest):
                self.latest = when
        tls = (fact.status or "").endswith(".7.320") or fact.source == "message_trace"
        name = fact.remote_host or fact.fqdn
        if tls and name and len(self.names) < MAX_NAMES:
            canonical = names.canonical(name)
            if looks_like_host(canonical):
                self.names.add(canonical)


def case_facts(config: ConfigSet, observer: CaseObserver) -> list[Fact]:
    """The cross-check's facts plus one that says what was read."""
    if config.empty and not config.probes:
        return []
    facts = cross_check(config, observer.latest, sorted(observer.names))
    if config.empty:
        return facts
    checked = Fact(
        source="exchange_config",
        kind=FactKind.CONFIG,
        extra={
            "config_rule": CHECKED_ID,
            "pieces": config.pieces(),
            "servers": tuple(config.servers()),
        },
    )
    return [*facts, checked]


def join_findings(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """A trace finding about a name that a configuration finding explains is told once: as the
    configuration finding (it carries the fix for the right server), with the trace's evidence."""
    config = [f for f in findings if f.id in EXPLAINS]
    if not config:
        return findings
    merged: dict[int, Finding] = {}
    absorbed: set[int] = set()
    for position, finding in enumerate(findings):
        if finding.id not in EXPLAINED:
            continue
        target = _explaining(finding, config)
        if target is None:
            continue
        index = findings.index(target)
        merged[index] = _join(merged.get(index, target), finding)
        absorbed.add(position)
    kept = [
        merged.get(position, finding)
        for position, finding in enumerate(findings)
        if position not in absorbed
    ]
    return tuple(most_severe_first(kept))


def _explaining(trace: Finding, config: list[Finding]) -> Finding | None:
    name = names.canonical(str(trace.fields.get("remote_host") or trace.fields.get("fqdn") or ""))
    candidates = []
    for finding in config:
        fqdn = names.canonical(str(finding.fields.get("fqdn") or ""))
        about_name = not name or not fqdn or fqdn == name
        if about_name:
            candidates.append(finding)
    if not candidates:
        return None
    return min(candidates, key=lambda f: (EXPLAINS.index(f.id), f.severity.rank))


def _join(config: Finding, trace: Finding) -> Finding:
    fields = dict(config.fields)
    earlier = fields.get("joined", ())
    fields["joined"] = (*(earlier if isinstance(earlier, tuple) else ()), trace.id)
    for name in ("remote_host", "message", "timestamp"):
        if name in trace.fields and name not in fields:
            fields[name] = trace.fields[name]
    evidence = tuple(dict.fromkeys((*trace.evidence, *config.evidence)))[:8]
    said = f"{trace.status} " if trace.status else ""
    summary = f"{config.summary} (this explains the {said}{trace.id} failure of the same case)"
    return replace(
        config,
        summary=summary,
        fields=fields,
        evidence=evidence,
        status=config.status or trace.status,
        reply_code=config.reply_code or trace.reply_code,
        probe=config.probe or trace.probe,
    )
