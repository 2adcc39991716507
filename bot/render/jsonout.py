"""The JSON contracts of `mailflow diagnose --json` and `mailflow check --json`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.core.check.verdicts import CheckVerdict
from bot.core.evidence import AttemptEvidence, CertInfo, HostEvidence, PresentedCert
from bot.core.models import Diagnosis, Finding, fields_to_json
from bot.core.policy_evidence import DnsAnswer, PolicyEvidence

if TYPE_CHECKING:
    from bot.check import CheckReport


def finding_for_diagnose(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "severity": finding.severity.value,
        "status": finding.status,
        "reply_code": finding.reply_code,
        "reason": finding.reason,
        "summary": finding.summary,
        "explanation": finding.explanation,
        "fields": fields_to_json(finding.fields),
        "fixes": [fix.to_dict() for fix in finding.fixes],
        "probe": finding.probe,
        "evidence": [{"line": line, "text": text} for line, text in finding.evidence],
    }


def finding_for_check(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "severity": finding.severity.value,
        "host": finding.host,
        "ip": finding.ip,
        "summary": finding.summary,
        "explanation": finding.explanation,
        "fields": fields_to_json(finding.fields),
        "fixes": [fix.to_dict() for fix in finding.fixes],
    }


def diagnosis_to_json(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "input": {"kind": diagnosis.input.kind, "bytes": diagnosis.input.bytes},
        "findings": [finding_for_diagnose(f) for f in diagnosis.findings],
    }


def dumps(document: dict[str, Any]) -> str:
    # ensure_ascii keeps the output safe for any terminal or pipe; it stays valid JSON.
    return json.dumps(document, indent=2, ensure_ascii=True)


def dumps_line(document: dict[str, Any]) -> str:
    """One JSON Lines record (batch mode): the same document on one line."""
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def cert_to_json(info: CertInfo) -> dict[str, Any]:
    return {
        "subject": info.subject,
        "subject_windows": info.subject_windows,
        "issuer": info.issuer,
        "issuer_windows": info.issuer_windows,
        "sans": list(info.sans),
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "thumbprint": info.sha1,
        "sha256": info.sha256,
        "serial": info.serial,
        "key_type": info.key_type,
        "key_bits": info.key_bits,
        "signature_algorithm": info.signature_algorithm,
        "self_signed": info.self_signed,
        "ca": info.is_ca,
        "ca_issuers": list(info.ca_issuers),
    }


def chain_to_json(certs: tuple[PresentedCert, ...]) -> list[dict[str, Any]]:
    return [
        cert_to_json(cert)
        if isinstance(cert, CertInfo)
        else {"error": cert.error, "sha256": cert.sha256}
        for cert in certs
    ]


def attempt_to_json(attempt: AttemptEvidence, verdict: CheckVerdict) -> dict[str, Any]:
    return {
        "host": attempt.host,
        "ip": attempt.ip,
        "port": attempt.port,
        "attempt": attempt.attempt,
        "banner": attempt.banner,
        "banner_code": attempt.banner_code,
        "ehlo_code": attempt.ehlo_code,
        "ehlo": list(attempt.ehlo_lines),
        "starttls_offered": attempt.starttls_offered,
        "starttls_reply": attempt.starttls_reply,
        "tls_version": attempt.tls_version,
        "cipher": attempt.cipher,
        "chain": chain_to_json(attempt.certs),
        "chain_presented": attempt.chain_presented,
        "failed_step": attempt.failed_step.value if attempt.failed_step else None,
        "failure": attempt.failure.value if attempt.failure else None,
        "error": attempt.error,
        "unsolicited": [
            {"before": u.before.value, "text": u.text, "bytes": u.size} for u in attempt.unsolicited
        ],
        "timings_ms": {k: round(v, 1) for k, v in attempt.timings_ms.items()},
        "verdict": verdict.of(attempt).word,
        "dane": verdict.of(attempt).dane,
    }


def host_to_json(host: HostEvidence, verdict: CheckVerdict) -> dict[str, Any]:
    return {
        "host": host.name,
        "preference": host.preference,
        "addresses": list(host.addresses),
        "blocked": list(host.blocked),
        "blocked_reasons": list(host.blocked_reasons),
        "capped": list(host.capped),
        "cname_chain": list(host.cname_chain),
        "dns_error": host.dns_error,
        "dns_warnings": list(host.dns_warnings),
        "attempts": [attempt_to_json(a, verdict) for a in host.attempts],
    }


def check_to_json(report: CheckReport) -> dict[str, Any]:
    return {
        "target": report.evidence.target,
        "mx": [host_to_json(h, report.verdict) for h in report.evidence.hosts],
        "findings": [finding_for_check(f) for f in report.findings],
        "policies": policies_to_json(report.evidence.policies),
        "elapsed_ms": round(report.elapsed_ms, 1),
    }


def _answer(answer: DnsAnswer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "name": answer.name,
        "type": answer.rtype,
        "values": list(answer.values),
        "dnssec": answer.status.value,
        "error": answer.error,
        "detail": answer.detail,
    }


def policies_to_json(policies: PolicyEvidence | None) -> dict[str, Any] | None:
    """The policy evidence (None with --no-policies): how DNSSEC was judged, the MX RRset's
    status, each host's TLSA answer, the MTA-STS record and fetch, the TLS-RPT record."""
    if policies is None:
        return None
    fetch = policies.policy
    return {
        "dnssec_validation": policies.validation,
        "mx": _answer(policies.mx),
        "tlsa": [
            {"host": t.host, "tried": list(t.tried), **(_answer(t.answer) or {})}
            for t in policies.tlsa
        ],
        "mta_sts": _answer(policies.mta_sts),
        "mta_sts_policy": None if fetch is None else {
            "url": fetch.url, "ip": fetch.ip, "status": fetch.status,
            "content_type": fetch.content_type, "body": fetch.body, "location": fetch.location,
            "error": fetch.error, "error_kind": fetch.error_kind, "blocked": list(fetch.blocked),
        },
        "tlsrpt": _answer(policies.tlsrpt),
        "elapsed_ms": policies.elapsed_ms,
    }  # fmt: skip
