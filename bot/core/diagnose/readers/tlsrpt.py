"""TLS-RPT aggregate reports (RFC 8460 §4): the JSON a sender mails or posts daily about the TLS
sessions it tried with the domain's MX hosts.

    {"organization-name": "Company-X", "date-range": {...}, "report-id": "...",
     "policies": [{"policy": {"policy-type": "sts", "policy-domain": "company-y.example",
                              "mx-host": ["*.mail.company-y.example"]},
                   "summary": {"total-successful-session-count": 5326,
                               "total-failure-session-count": 303},
                   "failure-details": [{"result-type": "certificate-expired",
                                        "sending-mta-ip": "2001:db8:abcd:0012::1",
                                        "receiving-mx-hostname": "mx1.mail.company-y.example",
                                        "failed-session-count": 100}, ...]}]}

One fact per failure-details entry (the receiving MX and address, the sending MTA, the session
counts, the policy), one notice per policy without failures. gzip-compressed reports
(`.json.gz`) are decompressed by the input layer. A report that announces itself but is not
valid JSON becomes one `tlsrpt.report.unreadable` fact naming where the JSON breaks; the rest of
the input is still read by the other readers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import Fact, FactKind, clip
from bot.core.diagnose.readers import Reader
from bot.core.models import FieldValue

_MARKERS = ('"policies"',)
_IDENTITY = ('"report-id"', '"organization-name"')
_MAX_POLICIES = 1000
_MAX_DETAILS = 1000
RESULT_TYPES = frozenset(
    {
        "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
        "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
        "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
    }
)  # fmt: skip


class TlsRptReader(Reader):
    name = "tlsrpt"
    first_window_only = True

    def detect(self, document: Document) -> int:
        head = document.text[:200_000]
        if all(m in head for m in _MARKERS) and any(m in head for m in _IDENTITY):
            return 70
        return 0

    def parse(self, document: Document) -> list[Fact]:
        text = document.text
        start = text.find("{")
        if start < 0:
            return []
        try:
            report, _ = json.JSONDecoder().raw_decode(text, start)
        except (ValueError, RecursionError) as exc:
            return [_unreadable(document, str(exc))]
        if not isinstance(report, dict) or not isinstance(report.get("policies"), list):
            return [_unreadable(document, "no 'policies' list at the top level")]
        return list(_facts(report, document))


def _unreadable(document: Document, error: str) -> Fact:
    message = clip(error.split("\n", maxsplit=1)[0], 200)
    return Fact(
        source=TlsRptReader.name, kind=FactKind.NOTICE, diagnostic=f"TLS-RPT report: {message}",
        lines=(1, 1), extra={"result_type": "unreadable", "tlsrpt_error": message},
    )  # fmt: skip


def _text(value: object, limit: int = 300) -> str:
    return clip(str(value), limit) if isinstance(value, str | int) else ""


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _facts(report: Mapping[str, Any], document: Document) -> Iterator[Fact]:
    dates = _table(report.get("date-range"))
    base_extra: dict[str, FieldValue] = {
        "organization": _text(report.get("organization-name")),
        "report_id": _text(report.get("report-id")),
        "date_range": " to ".join(
            x for x in (_text(dates.get("start-datetime")), _text(dates.get("end-datetime"))) if x
        ),
    }
    contact = _text(report.get("contact-info"))
    for item in report["policies"][:_MAX_POLICIES]:
        entry = _table(item)
        policy = _table(entry.get("policy"))
        summary = _table(entry.get("summary"))
        mx = policy.get("mx-host")
        patterns = tuple(_text(m) for m in mx[:20]) if isinstance(mx, list) else ()
        extra: dict[str, FieldValue] = dict(
            base_extra,
            policy_type=_text(policy.get("policy-type")) or "unknown",
            policy_domain=_text(policy.get("policy-domain")).lower().rstrip("."),
            successful_sessions=_count(summary.get("total-successful-session-count")),
            failed_sessions=_count(summary.get("total-failure-session-count")),
        )
        if patterns:
            extra["mx_patterns"] = patterns
        details = entry.get("failure-details")
        listed = [d for d in details[:_MAX_DETAILS] if isinstance(d, dict)] if isinstance(
            details, list) else []  # fmt: skip
        if not listed:
            yield Fact(
                source=TlsRptReader.name, kind=FactKind.NOTICE, reporting_mta=contact or None,
                diagnostic=f"TLS-RPT: {extra['successful_sessions']} successful sessions",
                lines=(1, 1), extra=dict(extra, result_type="success"),
            )  # fmt: skip
            continue
        for detail in listed:
            yield _detail_fact(detail, extra, contact, document)


def _detail_fact(
    detail: Mapping[str, Any], extra: dict[str, FieldValue], contact: str, document: Document
) -> Fact:
    result = _text(detail.get("result-type"), 60).lower() or "unknown"
    failed = _count(detail.get("failed-session-count"))
    values: dict[str, FieldValue] = dict(
        extra, result_type=result if result in RESULT_TYPES else "other",
        reported_result=result, detail_failed_sessions=failed,
        sending_mta_ip=_text(detail.get("sending-mta-ip"), 60),
        receiving_mx_helo=_text(detail.get("receiving-mx-helo"), 200),
        additional_information=_text(detail.get("additional-information"), 300),
        failure_reason_code=_text(detail.get("failure-reason-code"), 200),
    )  # fmt: skip
    host = _text(detail.get("receiving-mx-hostname"), 255).lower().rstrip(".") or None
    ip = _text(detail.get("receiving-ip"), 60) or None
    line = _line_of(document, host or result)
    return Fact(
        source=TlsRptReader.name,
        kind=FactKind.DELIVERY,
        action="failed",
        remote_host=host,
        ip=ip,
        reporting_mta=contact or None,
        diagnostic=f"TLS-RPT {values['policy_type']} {result}: {failed} failed session(s)",
        lines=(line, line),
        count=max(failed, 1),
        extra={k: v for k, v in values.items() if v not in ("", None)},
    )


def _line_of(document: Document, needle: str) -> int:
    offset = document.text.find(needle)
    return document.text.count("\n", 0, offset) + 1 if offset >= 0 else 1
