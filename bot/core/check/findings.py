"""Probe evidence -> findings for `mailflow check` (pure: no network, no clock).

One finding per (id, host, address): the same problem seen on several attempts is counted in
`fields["attempts"]`, not repeated. Certificates are judged by bot.core.certs for the MX host
name plus every expected name; texts and fix templates come from config/check_findings.toml.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core import certs, powershell
from bot.core.appliances import Appliance, find_appliance
from bot.core.certs import ChainAssessment, ChainProblem, TrustStore, assess_chain
from bot.core.check.policies import policy_findings
from bot.core.check.texts import CheckTexts, default_check_texts
from bot.core.check.verdicts import (
    PROTOCOL_VIOLATION,
    CheckVerdict,
    check_verdict,
    early_talk,
    failure_finding_id,
)
from bot.core.evidence import (
    AttemptEvidence,
    CertInfo,
    CheckEvidence,
    FailureKind,
    HostEvidence,
    MxSource,
    Step,
)
from bot.core.models import FieldValue, Finding, Fix, Severity, most_severe_first
from bot.core.names import canonical
from bot.core.untrusted import one_line

EXCHANGE_ONLINE_SUFFIX = ".mail.protection.outlook.com"
EXCHANGE_ONLINE_DANE_SUFFIX = ".mx.microsoft"  # the MX of a domain with inbound DANE enabled
OUTDATED_TLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1"})
MAX_FACT_CHARS = 300  # untrusted text (replies, errors, subjects) in one-line summaries
MAX_SANS_SHOWN = 20
MAX_PRESENTED_SHOWN = 20
_MASKED_KEYWORD = re.compile(r"X{3,}[A-Z0-9]?")  # Cisco ESMTP inspection: STARTTLS -> XXXXXXXA
_MASKED_BANNER = "*" * 10  # PIX/ASA "fixup smtp" replaces the banner text with asterisks
_CERT_FIX_PROBLEMS = frozenset(
    {
        certs.SUBJECT_MISMATCH, certs.SELF_SIGNED, certs.UNTRUSTED, certs.EXPIRED,
        certs.NOT_YET_VALID, certs.WEAK_KEY, certs.WEAK_SIGNATURE,
    }
)  # fmt: skip


def _clean(value: object, limit: int = MAX_FACT_CHARS) -> str:
    """One line of untrusted text (non-printable characters shown escaped), length capped."""
    text = one_line(str(value)[:limit]).strip(" ")
    return text if len(text) < limit else text[: limit - 1] + "…"


def _where(host: str, ip: str | None) -> str:
    return f"{host} ({ip})" if ip else host


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


@dataclass
class _Pending:
    id: str
    host: str | None
    ip: str | None
    facts: dict[str, str]
    fields: dict[str, FieldValue]
    fixes: list[Fix]
    notes: list[str] = field(default_factory=list)
    attempts: int = 1
    severity: Severity | None = None


class _Collector:
    """Aggregates findings per (id, host, ip) in the order they were first seen."""

    def __init__(self, texts: CheckTexts, evidence: CheckEvidence) -> None:
        self.texts = texts
        self.common = {"domain": evidence.domain, "target": evidence.target}
        self.items: dict[tuple[str, str | None, str | None], _Pending] = {}

    def seen(self, finding_id: str, host: str | None, ip: str | None) -> bool:
        return (finding_id, host, ip) in self.items

    def add(  # noqa: PLR0917 - call sites read as (id, host, ip, facts, fields, fixes)
        self,
        finding_id: str,
        host: str | None,
        ip: str | None,
        facts: Mapping[str, str] | None = None,
        fields: Mapping[str, FieldValue] | None = None,
        fixes: Iterable[Fix] = (),
        *,
        notes: Iterable[str] = (),
        attempts: int | None = None,
        severity: Severity | None = None,
    ) -> None:
        key = (finding_id, host, ip)
        if key in self.items:
            self.items[key].attempts += 1
            return
        all_facts = dict(self.common)
        all_facts.update(
            host=host or self.common["domain"], ip=ip or "", where=_where(host or "", ip)
        )
        all_facts.update(facts or {})
        all_facts = {name: one_line(value) for name, value in all_facts.items()}
        self.items[key] = _Pending(
            finding_id, host, ip, all_facts, dict(fields or {}), list(fixes), list(notes),
            attempts if attempts is not None else 1, severity,
        )  # fmt: skip

    def fix(
        self,
        key: str,
        facts: Mapping[str, str],
        values: Mapping[str, powershell.ScriptValue] | None = None,
    ) -> Fix:
        merged = dict(self.common)
        merged.update(facts)
        return self.texts.fix(key, {k: one_line(v) for k, v in merged.items()}, values)

    def note(self, key: str, facts: Mapping[str, str]) -> str:
        return self.texts.note(key, {k: one_line(v) for k, v in facts.items()})

    def findings(self) -> list[Finding]:
        result: list[Finding] = []
        for item in self.items.values():
            facts = dict(item.facts, attempts=str(item.attempts))
            fields = dict(item.fields)
            fields.setdefault("attempts", item.attempts)
            explanation = self.texts.explanation(item.id, facts)
            if item.notes:
                explanation = explanation + "\n\n" + "\n".join(item.notes)
            result.append(
                Finding(
                    id=item.id,
                    severity=item.severity or self.texts.severity(item.id),
                    summary=_clean(self.texts.summary(item.id, facts), 500),
                    explanation=explanation,
                    fields=fields,
                    fixes=tuple(item.fixes),
                    host=item.host,
                    ip=item.ip,
                )
            )
        return result


# --- DNS ----------------------------------------------------------------------------------------


def _dns_findings(evidence: CheckEvidence, out: _Collector) -> None:
    domain = evidence.domain
    if evidence.source is MxSource.NXDOMAIN:
        out.add("dns.nxdomain", domain, None, fields={"domain": domain})
    elif evidence.source is MxSource.NULL_MX:
        out.add("dns.null_mx", domain, None, fields={"domain": domain},
                fixes=[out.fix("dns_null_mx", {})])  # fmt: skip
    elif evidence.source is MxSource.FAILED:
        error = _clean(evidence.dns_error or "no answer")
        out.add(
            "dns.lookup_failed", domain, None, {"error": error},
            {"domain": domain, "error": error}, [out.fix("dns_retry", {"error": error})],
        )  # fmt: skip
    elif evidence.source is MxSource.IMPLICIT:
        addresses = tuple(dict.fromkeys(a for h in evidence.hosts for a in h.addresses))
        out.add(
            "dns.no_mx", domain, None, {"addresses": ", ".join(addresses) or "none"},
            {"domain": domain, "addresses": addresses}, [out.fix("dns_publish_mx", {})],
        )  # fmt: skip


def _partial_dns_finding(host: HostEvidence, out: _Collector) -> None:
    """A failed A or AAAA lookup next to a working one: senders that ask the failing type defer."""
    failed = [w for w in host.dns_warnings if w.startswith(("A:", "AAAA:"))]
    if not failed:
        return
    error = _clean("; ".join(failed))
    out.add(
        "dns.lookup_failed", host.name, None, {"error": error},
        {"error": error, "addresses": tuple(host.addresses)},
        [out.fix("dns_retry", {"error": error})], severity=Severity.WARNING,
    )  # fmt: skip


def _host_dns_findings(evidence: CheckEvidence, host: HostEvidence, out: _Collector) -> None:
    if host.addresses or host.blocked or host.attempts:
        _partial_dns_finding(host, out)
        return
    error = _clean(host.dns_error or "no A/AAAA record")
    lowered = error.lower()
    fields: dict[str, FieldValue] = {"error": error}
    if host.cname_chain:
        fields["cname_chain"] = tuple(host.cname_chain)
    if "nxdomain" in lowered and evidence.source is MxSource.HOST:
        out.add("dns.nxdomain", host.name, None, fields=fields)
    elif any(word in lowered for word in ("servfail", "timeout", "timed out", "refused", "fail")):
        out.add("dns.lookup_failed", host.name, None, {"error": error}, fields,
                [out.fix("dns_retry", {"error": error})])  # fmt: skip
    else:
        out.add("dns.no_address", host.name, None, {"error": error}, fields,
                [out.fix("dns_host_address", {})])  # fmt: skip


# --- SMTP and TLS -------------------------------------------------------------------------------


def _step(attempt: AttemptEvidence) -> str:
    return (attempt.failed_step or Step.CONNECT).value


def _failure_finding(host: HostEvidence, attempt: AttemptEvidence, out: _Collector) -> None:
    finding_id = failure_finding_id(attempt)
    if finding_id is None:
        return
    step = _step(attempt)
    error = _clean(attempt.error or (attempt.failure.value if attempt.failure else "failed"))
    fields: dict[str, FieldValue] = {"step": step, "error": error}
    if attempt.failure is not None:
        fields["failure"] = attempt.failure.value
    if attempt.banner:
        fields["banner"] = _clean(attempt.banner)
    facts = {"step": step, "error": error, "reply": error}
    injected = [u for u in attempt.unsolicited if u.before is Step.HANDSHAKE]
    if injected:
        facts["sent"] = fields["sent"] = _clean(injected[0].text)
        fields["bytes"] = injected[0].size
    if out.seen(finding_id, host.name, attempt.ip):
        out.add(finding_id, host.name, attempt.ip)
        return
    fixes: list[Fix]
    if finding_id in {"smtp.connect_failed", "smtp.timeout"}:
        fixes = [out.fix("firewall_port25", {}), out.fix("check_listener", {})]
    elif finding_id == "smtp.starttls_injection":
        fixes = [out.fix("starttls_injection", {}), out.fix("disable_inspection", {})]
    elif finding_id == "smtp.rejected":
        fixes = [out.fix("smtp_reply", {"reply": error})]
        if attempt.failed_step is Step.STARTTLS:
            fixes.append(out.fix("exchange_starttls", {"name": host.name}, {"name": host.name}))
    else:
        fixes = [
            out.fix("exchange_starttls", {"name": host.name}, {"name": host.name}),
            out.fix("disable_inspection", {}),
        ]
    out.add(finding_id, host.name, attempt.ip, facts, fields, fixes)


def _early_talk_finding(host: HostEvidence, attempt: AttemptEvidence, out: _Collector) -> None:
    early = early_talk(attempt)
    if not early:
        return
    first = early[0]
    sent = _clean(first.text)
    before = first.before.value.upper()
    facts = {"before": before, "sent": sent, "bytes": str(first.size)}
    fields: dict[str, FieldValue] = {"before": before, "sent": sent, "bytes": first.size}
    fixes = [out.fix("single_greeting", {}), out.fix("smtp_proxy", {})]
    out.add(PROTOCOL_VIOLATION, host.name, attempt.ip, facts, fields, fixes)


def _inspection_evidence(attempt: AttemptEvidence) -> str | None:
    masked = []
    for line in attempt.ehlo_lines[:100]:
        keyword = line[:64].split(" ", 1)[0].upper()
        if _MASKED_KEYWORD.fullmatch(keyword):
            masked.append(keyword)
    if masked:
        return "EHLO keyword " + ", ".join(masked[:5])
    if attempt.banner and _MASKED_BANNER in attempt.banner[:4096]:
        return "banner masked with asterisks"
    return None


@dataclass
class _StartTls:
    missing: int = 0
    total: int = 0


def _protocol_findings(
    host: HostEvidence, attempt: AttemptEvidence, out: _Collector, starttls: dict[str, _StartTls]
) -> None:
    if attempt.ehlo_code is not None and 200 <= attempt.ehlo_code < 300:
        evidence = _inspection_evidence(attempt)
        if evidence is not None:
            ehlo = tuple(_clean(line, 100) for line in attempt.ehlo_lines[:30])
            out.add(
                "smtp.inspection", host.name, attempt.ip, {"evidence": evidence},
                {"evidence": evidence, "ehlo": ehlo},
                [out.fix("disable_inspection", {})],
            )  # fmt: skip
        if attempt.starttls_offered is not None:
            counts = starttls.setdefault(attempt.ip, _StartTls())
            counts.total += 1
            counts.missing += 0 if attempt.starttls_offered else 1
    version = attempt.tls_version
    if version and version in OUTDATED_TLS:
        out.add(
            "tls.protocol_outdated", host.name, attempt.ip, {"version": version},
            {"tls_version": version, "cipher": attempt.cipher or ""}, [out.fix("enable_tls12", {})],
        )  # fmt: skip


def _starttls_findings(host: HostEvidence, starttls: dict[str, _StartTls], out: _Collector) -> None:
    for ip, counts in starttls.items():
        if not counts.missing or out.seen("smtp.inspection", host.name, ip):
            continue
        facts = {"missing": str(counts.missing), "total": str(counts.total)}
        fixes = [
            out.fix("exchange_starttls", {"name": host.name}, {"name": host.name}),
            out.fix("disable_inspection", {}),
        ]
        fields: dict[str, FieldValue] = {"missing": counts.missing, "total": counts.total}
        out.add("smtp.starttls_missing", host.name, ip, facts, fields, fixes,
                attempts=counts.missing)  # fmt: skip


# --- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Presented:
    ip: str
    attempt: int
    assessment: ChainAssessment

    @property
    def leaf(self) -> CertInfo:
        leaf = self.assessment.leaf
        assert leaf is not None  # only chains with a parsed leaf are kept
        return leaf


@dataclass(frozen=True, slots=True)
class _Healthy:
    cert: CertInfo
    ip: str

    @property
    def tls_name(self) -> str:
        return powershell.tls_certificate_name(self.cert.issuer_windows, self.cert.subject_windows)


def _cert_fields(assessment: ChainAssessment, names: Sequence[str]) -> dict[str, FieldValue]:
    leaf = assessment.leaf
    assert leaf is not None
    fields: dict[str, FieldValue] = {
        "subject": leaf.subject,
        "subject_windows": leaf.subject_windows,
        "issuer": leaf.issuer,
        "issuer_windows": leaf.issuer_windows,
        "thumbprint": leaf.sha1,
        "sha256": leaf.sha256,
        "serial": leaf.serial,
        "not_before": leaf.not_before.isoformat(),
        "not_after": leaf.not_after.isoformat(),
        "sans": leaf.sans[:MAX_SANS_SHOWN],
        "sans_total": len(leaf.sans),
        "key": f"{leaf.key_type} {leaf.key_bits}",
        "signature_algorithm": leaf.signature_algorithm,
        "self_signed": "yes" if leaf.self_signed else "no",
        "tls_certificate_name": powershell.tls_certificate_name(
            leaf.issuer_windows, leaf.subject_windows
        ),
        "expected_names": tuple(names),
        "chain": tuple(c.subject_windows for c in assessment.certs),
        "problems": tuple(p.detail for p in assessment.problems),
    }
    if assessment.presented > len(assessment.certs):
        fields["chain_presented"] = assessment.presented
    return fields


def _cert_facts(
    assessment: ChainAssessment, names: Sequence[str], now: dt.datetime
) -> dict[str, str]:
    leaf = assessment.leaf
    assert leaf is not None
    sans = ", ".join(leaf.sans[:10]) or "no subject alternative names"
    if len(leaf.sans) > 10:
        sans += f" and {len(leaf.sans) - 10} more"
    return {
        "subject": _clean(leaf.subject_windows),
        "issuer": _clean(leaf.issuer_windows),
        "thumbprint": leaf.sha1,
        "not_after": _date(leaf.not_after),
        "not_before": _date(leaf.not_before),
        "days": str(max(0, (leaf.not_after - now).days)),
        "names": ", ".join(names),
        "missing": ", ".join(assessment.mismatched),
        "sans": _clean(sans),
        "missing_issuer": _clean(assessment.missing_issuer or leaf.issuer_windows),
    }


def _renew_fixes(out: _Collector, name: str, names: Sequence[str], targets: str) -> list[Fix]:
    return [
        out.fix(
            "exchange_renew",
            {"name": name, "names": ", ".join(names)},
            {"name": name, "names": tuple(names)},
        ),
        out.fix("exchange_bind_by_name", {"name": name, "targets": targets}, {"name": name}),
    ]


def _bind_fix(out: _Collector, healthy: _Healthy, targets: str) -> Fix:
    thumbprint = powershell.thumbprint(healthy.cert.sha1)
    facts = {"thumbprint": thumbprint, "healthy_ip": healthy.ip, "targets": targets}
    return out.fix("exchange_bind_by_thumbprint", facts, {"thumbprint": thumbprint})


def _appliance_fix(appliance: Appliance, names: Sequence[str], out: _Collector) -> Fix:
    facts = {"vendor": appliance.name, "names": ", ".join(names)}
    return out.fix("cloud_filter" if appliance.kind == "cloud" else "appliance_certificate", facts)


def _cert_fixes(
    problem: ChainProblem,
    presented: _Presented,
    names: Sequence[str],
    *,
    healthy: _Healthy | None,
    appliance: Appliance | None,
    out: _Collector,
) -> list[Fix]:
    name = names[0]
    if appliance is not None:
        return [_appliance_fix(appliance, names, out)]
    if problem.id == certs.CHAIN_INCOMPLETE:
        issuer = presented.assessment.missing_issuer or presented.leaf.issuer_windows
        return [
            out.fix("exchange_intermediate", {"issuer": _clean(issuer)}, {"issuer": issuer}),
            out.fix("postfix_chain", {"issuer": _clean(issuer)}),
        ]
    if healthy is not None and problem.id in _CERT_FIX_PROBLEMS:
        # Another address of this host already presents a good certificate: use that one.
        return [_bind_fix(out, healthy, presented.ip)]
    fixes: list[Fix] = []
    if problem.id != certs.NOT_YET_VALID:
        fixes.extend(_renew_fixes(out, name, names, presented.ip))
    if problem.id in {certs.SUBJECT_MISMATCH, certs.EXPIRED, certs.EXPIRING_SOON_ID}:
        fixes.append(out.fix("hybrid_configuration", {"name": name}, {"name": name}))
    if problem.id == certs.SUBJECT_MISMATCH:
        fixes.append(
            out.fix("exchange_online_connector", {"name": name}, {"host": name, "name": name})
        )
    if problem.id == certs.UNTRUSTED:
        fixes.append(out.fix("private_ca", {"name": name}))
    return fixes


def _problem_notes(
    problem: ChainProblem, assessment: ChainAssessment, out: _Collector
) -> tuple[list[str], dict[str, FieldValue]]:
    """Notes and fields of one problem only: where a missing issuer can be downloaded."""
    if problem.id != certs.CHAIN_INCOMPLETE or problem.cert_index >= len(assessment.certs):
        return [], {}
    urls = assessment.certs[problem.cert_index].ca_issuers
    if not urls:
        return [], {}
    shown = _clean(", ".join(urls))
    return [out.note("issuer_url", {"issuer_url": shown})], {"issuer_url": urls}


def _cert_findings(
    host: HostEvidence,
    names: Sequence[str],
    presented: Sequence[_Presented],
    *,
    healthy: _Healthy | None,
    now: dt.datetime,
    out: _Collector,
) -> None:
    for item in presented:
        assessment = item.assessment
        appliance = find_appliance(item.leaf)
        ids = [p.id for p in assessment.problems] + (["cert.appliance"] if appliance else [])
        if all(out.seen(i, host.name, item.ip) for i in ids):
            for finding_id in ids:
                out.add(finding_id, host.name, item.ip)  # another attempt, same problem
            continue
        facts = _cert_facts(assessment, names, now)
        fields = _cert_fields(assessment, names)
        notes: list[str] = []
        if assessment.presented > len(assessment.certs):
            notes.append(
                out.note(
                    "chain_capped",
                    {
                        "presented": str(assessment.presented),
                        "examined": str(len(assessment.certs)),
                    },
                )
            )
        if healthy is not None and healthy.cert.sha1 != item.leaf.sha1:
            fields["healthy_thumbprint"] = healthy.cert.sha1
            fields["healthy_ip"] = healthy.ip
            fields["expected_tls_certificate_name"] = healthy.tls_name
            notes.append(out.note("tls_name", {"tls_certificate_name": healthy.tls_name}))
        if appliance is not None:
            notes.append(out.note("appliance", {"vendor": appliance.name}))
        for problem in assessment.problems:
            fixes = _cert_fixes(problem, item, names, healthy=healthy, appliance=appliance, out=out)
            extra_notes, extra_fields = _problem_notes(problem, assessment, out)
            out.add(
                problem.id, host.name, item.ip, dict(facts, detail=_clean(problem.detail)),
                dict(fields, detail=problem.detail, **extra_fields), fixes,
                notes=[*notes, *extra_notes],
            )  # fmt: skip
        if appliance is not None:
            severity = None if assessment.ok else Severity.WARNING
            out.add(
                "cert.appliance", host.name, item.ip,
                dict(facts, vendor=appliance.name, detail=""),
                dict(fields, vendor=appliance.name, appliance_kind=appliance.kind),
                [_appliance_fix(appliance, names, out)],
                severity=severity,
            )  # fmt: skip


def _healthy(presented: Sequence[_Presented]) -> _Healthy | None:
    good = [p for p in presented if p.assessment.ok]
    if not good:
        return None
    thumbprint, _ = Counter(p.leaf.sha1 for p in good).most_common(1)[0]
    first = next(p for p in good if p.leaf.sha1 == thumbprint)
    return _Healthy(first.leaf, first.ip)


def _verdict(assessment: ChainAssessment) -> str:
    if assessment.ok:
        return "good"
    return ", ".join(
        sorted(i.removeprefix("cert.") for i in assessment.problem_ids - certs.WARNING_PROBLEMS)
    )


def _inconsistent_finding(
    host: HostEvidence,
    names: Sequence[str],
    presented: Sequence[_Presented],
    healthy: _Healthy | None,
    out: _Collector,
) -> None:
    thumbprints = {p.leaf.sha1 for p in presented}
    if len(thumbprints) < 2 or all(p.assessment.ok for p in presented):
        return
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for p in presented:
        if (p.ip, p.leaf.sha1) in seen:
            continue
        seen.add((p.ip, p.leaf.sha1))
        subject = _clean(p.leaf.subject_windows, 120)
        lines.append(f"{p.ip}: {p.leaf.sha1} {subject} ({_verdict(p.assessment)})")
    bad_ips = sorted({p.ip for p in presented if not p.assessment.ok})
    targets = ", ".join(bad_ips)
    fields: dict[str, FieldValue] = {
        "presented": tuple(lines[:MAX_PRESENTED_SHOWN]),
        "thumbprints": tuple(sorted(thumbprints)),
        "unhealthy_addresses": tuple(bad_ips),
        "expected_names": tuple(names),
    }
    notes: list[str] = []
    fixes: list[Fix]
    if healthy is not None:
        fields["healthy_thumbprint"] = healthy.cert.sha1
        fields["healthy_ip"] = healthy.ip
        fields["expected_tls_certificate_name"] = healthy.tls_name
        notes.append(out.note("tls_name", {"tls_certificate_name": healthy.tls_name}))
        fixes = [_bind_fix(out, healthy, targets)]
    else:
        fixes = _renew_fixes(out, names[0], names, targets)
    facts = {
        "count": str(len(thumbprints)),
        "presented": _clean("; ".join(lines[:5]), 1000),
        "names": ", ".join(names),
    }
    out.add("cert.inconsistent", host.name, None, facts, fields, fixes, notes=notes,
            attempts=len(presented))  # fmt: skip


# --- per host -----------------------------------------------------------------------------------


def _is_exchange_online(name: str) -> bool:
    return canonical(name).endswith((EXCHANGE_ONLINE_SUFFIX, EXCHANGE_ONLINE_DANE_SUFFIX))


def _names_for(host: HostEvidence, evidence: CheckEvidence) -> tuple[str, ...]:
    """The MX host name plus the expected names. Expected names describe the on-premises side
    (smart host, connector TlsDomain), so Microsoft's own MX hosts are held to their name only."""
    expected = () if _is_exchange_online(host.name) else evidence.expected_names
    names: list[str] = []
    for name in (host.name, *expected):
        cleaned = canonical(name)
        if cleaned and cleaned not in names:
            names.append(cleaned)
    return tuple(names[: certs.MAX_NAMES])


def _blocked_finding(host: HostEvidence, out: _Collector) -> None:
    blocked = list(dict.fromkeys(
        [*host.blocked, *(a.ip for a in host.attempts if a.failure is FailureKind.BLOCKED)]
    ))  # fmt: skip
    if not blocked:
        return
    why = dict(zip(host.blocked, host.blocked_reasons, strict=False))
    reasons = tuple(f"{ip} ({why[ip]})" if why.get(ip) else ip for ip in blocked)
    out.add(
        "target.blocked", host.name, blocked[0] if len(blocked) == 1 else None,
        {"addresses": _clean(", ".join(reasons))},
        {"addresses": tuple(blocked), "reasons": reasons},
        [out.fix("allow_net", {"addresses": ", ".join(blocked)})],
    )  # fmt: skip


def _capped_finding(host: HostEvidence, out: _Collector) -> None:
    """More allowed addresses than the per-host limit: say how many were left out."""
    if not host.capped:
        return
    allowed = len(host.addresses) - len(host.blocked)
    probed = allowed - len(host.capped)
    facts = {"count": str(len(host.capped)), "total": str(allowed), "probed": str(probed)}
    fields: dict[str, FieldValue] = {
        "not_probed": len(host.capped),
        "probed": probed,
        "left_out": tuple(host.capped[:MAX_PRESENTED_SHOWN]),
    }
    fix = out.fix("probe_address", {"name": host.name, "address": host.capped[0]})
    out.add("target.capped", host.name, None, facts, fields, [fix])


def _unprobed_findings(host: HostEvidence, out: _Collector) -> None:
    """Addresses the overall deadline left untouched: say so rather than stay silent."""
    skipped = {*(a.ip for a in host.attempts), *host.blocked, *host.capped}
    error = "the overall deadline was reached before this address was probed"
    for ip in host.addresses:
        if ip not in skipped:
            out.add(
                "smtp.timeout", host.name, ip, {"step": "deadline", "error": error},
                {"step": "deadline", "error": error}, [out.fix("firewall_port25", {})], attempts=0,
            )  # fmt: skip


def _host_findings(
    evidence: CheckEvidence,
    host: HostEvidence,
    trust: TrustStore,
    now: dt.datetime,
    out: _Collector,
) -> None:
    if _is_exchange_online(host.name):
        out.add("mx.exchange_online", host.name, None, fields={"mx": host.name},
                fixes=[out.fix("probe_smart_host", {})])  # fmt: skip
    _host_dns_findings(evidence, host, out)
    _blocked_finding(host, out)
    _capped_finding(host, out)
    names = _names_for(host, evidence)
    starttls: dict[str, _StartTls] = {}
    assessed: dict[tuple[tuple[bytes, ...], int], ChainAssessment] = {}
    presented: list[_Presented] = []
    for attempt in host.attempts:
        if attempt.failure is FailureKind.BLOCKED:
            continue
        _failure_finding(host, attempt, out)
        _early_talk_finding(host, attempt, out)
        _protocol_findings(host, attempt, out, starttls)
        if attempt.chain:
            key = (tuple(attempt.chain), attempt.chain_presented)
            if key not in assessed:
                assessed[key] = assess_chain(
                    key[0], names, trust, now, presented=attempt.chain_presented
                )
            if assessed[key].leaf is not None:
                presented.append(_Presented(attempt.ip, attempt.attempt, assessed[key]))
            else:
                for problem in assessed[key].problems:
                    out.add(problem.id, host.name, attempt.ip, {"detail": _clean(problem.detail),
                            "subject": "unreadable certificate", "issuer": "unknown"},
                            {"detail": problem.detail})  # fmt: skip
    _starttls_findings(host, starttls, out)
    if evidence.deadline_hit:
        _unprobed_findings(host, out)
    healthy = _healthy(presented)
    _cert_findings(host, names, presented, healthy=healthy, now=now, out=out)
    _inconsistent_finding(host, names, presented, healthy, out)


def analyse(
    evidence: CheckEvidence,
    *,
    trust: TrustStore,
    now: dt.datetime,
    texts: CheckTexts | None = None,
) -> tuple[Finding, ...]:
    """Every finding of one check, most severe first."""
    now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now
    out = _Collector(texts or default_check_texts(), evidence)
    _dns_findings(evidence, out)
    for host in evidence.hosts:
        _host_findings(evidence, host, trust, now, out)
    policy_findings(evidence, trust=trust, now=now, out=out)
    return tuple(most_severe_first(out.findings()))


def describe_evidence(evidence: CheckEvidence) -> CheckEvidence:
    """The evidence with every presented chain described (`AttemptEvidence.certs`), once, so
    that renderers read certificate facts and never parse DER."""
    hosts = tuple(
        dataclasses.replace(
            host,
            attempts=tuple(
                a if a.certs or not a.chain else dataclasses.replace(
                    a, certs=certs.describe_presented(a.chain)
                )
                for a in host.attempts
            ),
        )
        for host in evidence.hosts
    )  # fmt: skip
    return dataclasses.replace(evidence, hosts=hosts)


@dataclass(frozen=True, slots=True)
class Judgement:
    """One check judged: the evidence (chains described), its findings and the verdicts."""

    evidence: CheckEvidence
    findings: tuple[Finding, ...]
    verdict: CheckVerdict


def judge(
    evidence: CheckEvidence,
    *,
    trust: TrustStore,
    now: dt.datetime,
    texts: CheckTexts | None = None,
) -> Judgement:
    described = describe_evidence(evidence)
    findings = analyse(described, trust=trust, now=now, texts=texts)
    return Judgement(described, findings, check_verdict(described, findings))
