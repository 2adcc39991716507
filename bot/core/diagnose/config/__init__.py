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
from bot.core.diagnose.config.rules import ConfigSet, cross_check, hybrid_names
from bot.core.diagnose.fact import Fact, FactKind
from bot.core.diagnose.findings import looks_like_host, parse_time
from bot.core.models import Finding, most_severe_first

CHECKED_ID = "config.checked"
MAX_NAMES = 16
# Trace findings a configuration finding explains, and the configuration findings that do, in
# the order they are preferred as the one story.
_RECEIVE_SIDE = (
    "config.receive.no_certificate", "config.connector.certificate_not_found",
    "config.certificate.self_signed", "config.probe.presented_other_certificate",
    "config.certificate.expired", "config.certificate.name_not_covered",
    "config.certificate.status", "config.certificate.not_smtp", "config.exo.outbound_tls_domain",
)  # fmt: skip
_SEND_SIDE = (
    "config.exo.inbound_certificate_mismatch", "config.exo.certificate_domain_not_accepted",
    "config.connector.certificate_not_found", "config.certificate.expired",
    "config.certificate.status", "config.certificate.not_smtp", "config.send.tls_settings",
)  # fmt: skip
EXPLAINED: dict[str, tuple[str, ...]] = {
    "exo.tls.subject_mismatch": _RECEIVE_SIDE,
    "exo.tls.untrusted_chain": _RECEIVE_SIDE,
    "exo.tls.certificate_expired": _RECEIVE_SIDE,
    "exo.tls.certificate_validation_failed": _RECEIVE_SIDE,
    "exo.tls.certificate_revoked": _RECEIVE_SIDE,
    "exo.connector.tenant_attribution": _SEND_SIDE,
    "exo.connector.certificate_domain_not_accepted": _SEND_SIDE,
}
EXPLAINS = frozenset((*_RECEIVE_SIDE, *_SEND_SIDE))


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
            "names": tuple(hybrid_names(config, sorted(observer.names))),
        },
    )
    return [checked, *facts]


def join_findings(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """A trace finding about a name that a configuration finding explains is told once: as the
    configuration finding (it carries the fix for the right server), with the trace's evidence.
    It explains the trace when it is about the same name (its fqdn), or names none and the
    trace's name is one Exchange Online connects to in this configuration."""
    config = [f for f in findings if f.id in EXPLAINS]
    if not config:
        return findings
    checked = next((f for f in findings if f.id == CHECKED_ID), None)
    raw = checked.fields.get("names", ()) if checked is not None else ()
    known = {names.canonical(str(n)) for n in (raw if isinstance(raw, tuple) else (raw,))}
    merged: dict[int, Finding] = {}
    absorbed: set[int] = set()
    for position, finding in enumerate(findings):
        explainers = EXPLAINED.get(finding.id)
        if explainers is None:
            continue
        target = _explaining(finding, config, explainers, known)
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


def _explaining(
    trace: Finding, config: list[Finding], explainers: tuple[str, ...], known: set[str]
) -> Finding | None:
    name = names.canonical(str(trace.fields.get("remote_host") or trace.fields.get("fqdn") or ""))
    candidates = []
    for finding in config:
        if finding.id not in explainers:
            continue
        fqdn = names.canonical(str(finding.fields.get("fqdn") or ""))
        if (name and fqdn == name) or (not fqdn and (not name or name in known)):
            candidates.append(finding)
    if not candidates:
        return None
    return min(candidates, key=lambda f: (explainers.index(f.id), f.severity.rank))


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
