"""DANE, MTA-STS and TLS-RPT judgement for `mailflow check` (pure: evidence in, findings out).

DANE is judged per MX host (its TLSA RRset and the DNSSEC status of it and of the MX RRset) and
per address: every chain an address presented is matched against every TLSA record, so one
address of a pool that kept an old certificate shows up on its own. MTA-STS is judged per domain
(record, policy), per MX host (is it listed) and, in enforce and testing mode, per address (is the
certificate valid for the MX name). Records and fixes are computed from what was presented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.certs import WARNING_PROBLEMS, ChainAssessment, TrustStore, assess_chain
from bot.core.check.policy_records import (
    PKIX_USAGES,
    StsPolicy,
    Tlsa,
    dane_ee_record,
    match_chain,
    mx_matches,
    parse_sts_policy,
    parse_sts_record,
    parse_tlsa_records,
    parse_tlsrpt_record,
    policy_text,
    sts_records,
)
from bot.core.evidence import CheckEvidence, HostEvidence, MxSource
from bot.core.models import FieldValue, Fix, Severity
from bot.core.names import canonical
from bot.core.policy_evidence import (
    FETCH_REDIRECT,
    FETCH_TOO_LARGE,
    DnsAnswer,
    DnssecStatus,
    PolicyEvidence,
    PolicyFetch,
    TlsaLookup,
)

if TYPE_CHECKING:
    from bot.core.check.findings import _Collector

EXO_LEGACY_SUFFIX = ".mail.protection.outlook.com"
EXO_DANE_SUFFIX = ".mx.microsoft"
MAX_RECORDS_SHOWN = 10
_MIN_POLICY_ID = "20250101000000"


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Chain:
    ip: str
    chain: tuple[bytes, ...]
    thumbprint: str
    subject: str


def _chains(host: HostEvidence) -> list[_Chain]:
    """Each distinct chain an address presented (attempts that agree count once)."""
    seen: set[tuple[str, tuple[bytes, ...]]] = set()
    out: list[_Chain] = []
    for attempt in host.attempts:
        if not attempt.chain or (attempt.ip, attempt.chain) in seen:
            continue
        seen.add((attempt.ip, attempt.chain))
        leaf = attempt.certs[0] if attempt.certs else None
        out.append(
            _Chain(
                attempt.ip,
                tuple(attempt.chain),
                leaf.sha1 if leaf else "",
                getattr(leaf, "subject_windows", "unreadable certificate") if leaf else "",
            )
        )
    return out


def _is_exo(name: str) -> bool:
    host = canonical(name)
    return host.endswith(EXO_LEGACY_SUFFIX) or host.endswith(EXO_DANE_SUFFIX)


# --- DANE -------------------------------------------------------------------------------------


def _records_text(records: Sequence[Tlsa]) -> str:
    shown = ", ".join(r.short for r in records[:MAX_RECORDS_SHOWN])
    more = len(records) - MAX_RECORDS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _exo_fixes(host: HostEvidence, out: _Collector) -> list[Fix]:
    domain = out.common["domain"]
    return [out.fix("exo_dane_inbound", {"name": host.name}, {"domain": domain})]


def _connector_fix(out: _Collector, host: str) -> Fix:
    return out.fix("exo_outbound_modes", {"name": host}, {"name": host})


def _dane_host(
    host: HostEvidence, lookup: TlsaLookup, policies: PolicyEvidence, now: dt.datetime,
    out: _Collector,
) -> None:  # fmt: skip
    answer = lookup.answer
    name = answer.name
    facts = {"name": name, "validation": policies.validation}
    base: dict[str, FieldValue] = {"tlsa_name": name, "validation": policies.validation,
                                   "dnssec": answer.status.value}  # fmt: skip
    if lookup.tried[1:]:
        base["tried"] = lookup.tried
    chains = _chains(host)
    if answer.status is DnssecStatus.BOGUS or (answer.error and not answer.nxdomain):
        detail = _short(answer.detail or f"TLSA lookup failed: {answer.error}")
        out.add("dane.bogus", host.name, None, dict(facts, detail=detail),
                dict(base, detail=detail), [out.fix("dnssec_repair", {"name": name})])  # fmt: skip
        return
    if answer.no_data:
        fixes: list[Fix] = []
        notes: list[str] = []
        if canonical(host.name).endswith(EXO_LEGACY_SUFFIX):
            notes.append(out.note("exo_no_dane", {}))
            fixes = _exo_fixes(host, out)
        elif chains:
            record = dane_ee_record(chains[0].chain[0]) or ""
            fixes = [out.fix("publish_tlsa", {"name": name, "record": record})]
        out.add("dane.none", host.name, None, facts, base, fixes, notes=notes)
        return
    records = parse_tlsa_records(answer.values)
    text = _records_text(records)
    base["records"] = tuple(r.text for r in records[:MAX_RECORDS_SHOWN])
    if answer.status is not DnssecStatus.SECURE:
        detail = _short(answer.detail or "the answer is not signed")
        out.add("dane.unsigned", host.name, None, dict(facts, records=text, detail=detail),
                dict(base, detail=detail), [out.fix("dnssec_sign", {"name": name})])  # fmt: skip
        return
    unsuitable = [r for r in records if r.usage in PKIX_USAGES]
    usable = [r for r in records if r.usable]
    if unsuitable:
        record = (dane_ee_record(chains[0].chain[0]) if chains else None) or "3 1 1 <sha256>"
        fix = out.fix("tlsa_replace_unsuitable", {"name": name, "record": record})
        out.add(
            "dane.usage_unsuitable", host.name, None,
            dict(facts, records=_records_text(unsuitable)),
            dict(base, unsuitable=tuple(r.text for r in unsuitable[:MAX_RECORDS_SHOWN])), [fix],
        )  # fmt: skip
    if not usable:
        return
    _dane_addresses(host, name, usable, chains, facts=facts, base=base, now=now, out=out)


def _dane_addresses(
    host: HostEvidence, name: str, usable: Sequence[Tlsa], chains: Sequence[_Chain], *,
    facts: dict[str, str], base: dict[str, FieldValue], now: dt.datetime, out: _Collector,
) -> None:  # fmt: skip
    names = [host.name, *(host.cname_chain[-1:] if host.cname_chain else ())]
    matched_records: set[Tlsa] = set()
    matched_thumbprints: list[str] = []
    failed: list[tuple[_Chain, str]] = []
    for item in chains:
        match, why = match_chain(usable, item.chain, names, now)
        if match is None:
            failed.append((item, why))
        else:
            matched_records.add(match.record)
            matched_thumbprints.append(item.thumbprint)
    matched_fields = tuple(dict.fromkeys(matched_thumbprints))
    for item, why in failed:
        record = dane_ee_record(item.chain[0]) or ""
        fixes = [out.fix("publish_tlsa", {"name": name, "record": record})]
        if not _is_exo(host.name):
            fixes.append(_connector_fix(out, host.name))
        out.add(
            "dane.mismatch", host.name, item.ip,
            dict(facts, records=_records_text(usable), thumbprint=item.thumbprint,
                 expected=record, subject=_short(item.subject), detail=_short(why)),
            dict(base, thumbprint=item.thumbprint, expected_record=record, detail=why,
                 matched_thumbprints=matched_fields),
            fixes,
        )  # fmt: skip
    mismatched = bool(failed)
    if mismatched or not matched_records:
        return
    notes = [out.note("exo_dane", {})] if _is_exo(host.name) else []
    ok_fields = dict(base, matched_thumbprints=matched_fields,
                     matched=tuple(r.text for r in matched_records))  # fmt: skip
    out.add("dane.ok", host.name, None, dict(facts, records=_records_text(usable)), ok_fields,
            notes=notes)  # fmt: skip
    spare = [r for r in usable if r not in matched_records]
    if not spare and all(r.usage == 3 for r in usable) and not _is_exo(host.name):
        out.add("dane.rollover_incomplete", host.name, None,
                dict(facts, records=_records_text(usable)), ok_fields,
                [out.fix("tlsa_next_key", {"name": name})])  # fmt: skip


def _dane_findings(evidence: CheckEvidence, policies: PolicyEvidence, now: dt.datetime,
                   out: _Collector) -> None:  # fmt: skip
    mx = policies.mx
    if mx is not None and mx.status is DnssecStatus.BOGUS:
        detail = _short(mx.detail or "validation failed")
        out.add("dane.bogus", evidence.domain, None,
                {"name": mx.name, "validation": policies.validation, "detail": detail},
                {"mx_dnssec": mx.status.value, "detail": detail},
                [out.fix("dnssec_repair", {"name": mx.name})])  # fmt: skip
    lookups = {canonical(t.host): t for t in policies.tlsa}
    for host in evidence.hosts:
        lookup = lookups.get(canonical(host.name))
        if lookup is not None:
            _dane_host(host, lookup, policies, now, out)


# --- MTA-STS ----------------------------------------------------------------------------------


def _fetch_problem(fetch: PolicyFetch) -> tuple[str, str] | None:
    """(finding id, detail) when the policy could not be used."""
    if fetch.error_kind == FETCH_TOO_LARGE:
        return "mtasts.policy_invalid", fetch.error or "larger than 64 KiB"
    if fetch.error_kind == FETCH_REDIRECT:
        where = f" to {fetch.location}" if fetch.location else ""
        return "mtasts.policy_unreachable", f"HTTP {fetch.status} redirect{where} (not followed)"
    if fetch.error:
        return "mtasts.policy_unreachable", fetch.error
    if fetch.status != 200:
        return "mtasts.policy_unreachable", f"HTTP status {fetch.status}"
    media = (fetch.content_type or "").split(";")[0].strip().lower()
    if media != "text/plain":
        return "mtasts.policy_invalid", f"Content-Type {media or 'missing'}, not text/plain"
    return None


def _mx_hosts(evidence: CheckEvidence) -> list[HostEvidence]:
    return [h for h in evidence.hosts if evidence.source in (MxSource.MX, MxSource.IMPLICIT)]


def _mode_severity(policy: StsPolicy) -> Severity:
    return Severity.ERROR if policy.mode == "enforce" else Severity.WARNING


def _sts_policy_fix(evidence: CheckEvidence, mode: str, out: _Collector, url: str) -> Fix:
    text = policy_text(mode if mode != "none" else "testing",
                       [h.name for h in _mx_hosts(evidence)])  # fmt: skip
    return out.fix("mtasts_publish_policy", {"url": url, "policy": text})


def _mta_sts_findings(
    evidence: CheckEvidence, policies: PolicyEvidence, trust: TrustStore, now: dt.datetime,
    out: _Collector,
) -> None:  # fmt: skip
    answer = policies.mta_sts
    if answer is None:
        return
    domain = evidence.domain
    record_fix = out.fix("mtasts_publish_record", {"id": now.strftime("%Y%m%d%H%M%S")})
    if answer.error and not answer.nxdomain:
        detail = f"TXT lookup of {answer.name} failed: {answer.error}"
        out.add("mtasts.record_invalid", domain, None, {"detail": detail}, {"detail": detail},
                [out.fix("dns_retry", {"error": answer.error})])  # fmt: skip
        return
    if not sts_records(answer.values):
        out.add("mtasts.none", domain, None, fields={"record_name": answer.name},
                fixes=[record_fix])  # fmt: skip
        return
    record = parse_sts_record(answer.values)
    if isinstance(record, str):
        out.add("mtasts.record_invalid", domain, None, {"detail": record},
                {"detail": record, "records": tuple(_short(v) for v in answer.values[:5])},
                [record_fix])  # fmt: skip
        return
    fetch = policies.policy
    if fetch is None:
        return
    url_facts = {"url": fetch.url}
    problem = _fetch_problem(fetch)
    if problem is not None:
        finding_id, detail = problem
        fields: dict[str, FieldValue] = {"url": fetch.url, "detail": detail}
        if fetch.ip:
            fields["ip"] = fetch.ip
        if fetch.blocked:
            fields["blocked"] = fetch.blocked
        out.add(finding_id, domain, None, dict(url_facts, detail=_short(detail)), fields,
                [_sts_policy_fix(evidence, "testing", out, fetch.url)])  # fmt: skip
        return
    policy = parse_sts_policy(fetch.body or "")
    if isinstance(policy, str):
        out.add("mtasts.policy_invalid", domain, None, dict(url_facts, detail=policy),
                {"url": fetch.url, "detail": policy},
                [_sts_policy_fix(evidence, "testing", out, fetch.url)])  # fmt: skip
        return
    problems = _policy_checks(evidence, policy, fetch, trust=trust, now=now, out=out)
    mode_fields: dict[str, FieldValue] = {"mode": policy.mode, "max_age": policy.max_age,
                                          "mx_patterns": policy.mx, "id": record.id}  # fmt: skip
    if not problems:
        out.add("mtasts.ok", domain, None,
                {"mode": policy.mode, "max_age": str(policy.max_age), "id": record.id},
                mode_fields)  # fmt: skip


def _policy_checks(
    evidence: CheckEvidence, policy: StsPolicy, fetch: PolicyFetch, *, trust: TrustStore,
    now: dt.datetime, out: _Collector,
) -> int:  # fmt: skip
    if policy.mode == "none":
        return 0
    problems = 0
    severity = _mode_severity(policy)
    patterns = ", ".join(policy.mx)
    for host in _mx_hosts(evidence):
        if not any(mx_matches(p, host.name) for p in policy.mx):
            problems += 1
            out.add("mtasts.mx_not_in_policy", host.name, None,
                    {"mode": policy.mode, "patterns": patterns},
                    {"mode": policy.mode, "mx_patterns": policy.mx},
                    [_sts_policy_fix(evidence, policy.mode, out, fetch.url)],
                    severity=severity)  # fmt: skip
        problems += _sts_certificates(host, policy, trust, now, out)
    return problems


def _sts_certificates(
    host: HostEvidence, policy: StsPolicy, trust: TrustStore, now: dt.datetime, out: _Collector
) -> int:
    problems = 0
    assessed: dict[tuple[bytes, ...], ChainAssessment] = {}
    for item in _chains(host):
        if item.chain not in assessed:
            assessed[item.chain] = assess_chain(item.chain, (host.name,), trust, now)
        assessment = assessed[item.chain]
        bad = [p for p in assessment.problems if p.id not in WARNING_PROBLEMS]
        if assessment.certs and not bad:
            continue
        problems += 1
        detail = _short("; ".join(p.detail for p in bad) or "the certificate cannot be read")
        out.add(
            "mtasts.certificate_invalid", host.name, item.ip,
            {"mode": policy.mode, "detail": detail, "thumbprint": item.thumbprint,
             "subject": _short(item.subject)},
            {"mode": policy.mode, "thumbprint": item.thumbprint, "detail": detail,
             "problems": tuple(p.id for p in bad)},
            [out.fix("mtasts_certificate", {"name": host.name})],
            severity=_mode_severity(policy),
        )  # fmt: skip
    return problems


# --- TLS-RPT ----------------------------------------------------------------------------------


def _tlsrpt_findings(evidence: CheckEvidence, answer: DnsAnswer | None, out: _Collector) -> None:
    if answer is None:
        return
    domain = evidence.domain
    record_fix = out.fix("tlsrpt_publish", {})
    if answer.error and not answer.nxdomain:
        detail = f"TXT lookup of {answer.name} failed: {answer.error}"
        out.add("tlsrpt.invalid", domain, None, {"detail": detail}, {"detail": detail},
                [record_fix])  # fmt: skip
        return
    parsed = parse_tlsrpt_record(answer.values)
    if isinstance(parsed, tuple):
        out.add("tlsrpt.ok", domain, None, {"rua": ", ".join(parsed)}, {"rua": parsed})
    elif not any(v.startswith("v=TLSRPTv1") for v in answer.values):
        out.add("tlsrpt.none", domain, None, fields={"record_name": answer.name},
                fixes=[record_fix])  # fmt: skip
    else:
        out.add("tlsrpt.invalid", domain, None, {"detail": parsed}, {"detail": parsed},
                [record_fix])  # fmt: skip


def policy_findings(
    evidence: CheckEvidence, *, trust: TrustStore, now: dt.datetime, out: _Collector
) -> None:
    policies = evidence.policies
    if policies is None:
        return
    _dane_findings(evidence, policies, now, out)
    _mta_sts_findings(evidence, policies, trust, now, out)
    _tlsrpt_findings(evidence, policies.tlsrpt, out)
