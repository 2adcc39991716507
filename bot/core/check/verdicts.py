"""What the reports say per attempt and overall, decided once here so that the terminal, Slack
and JSON agree: the verdict of each attempt (which findings concern it), the status word and
the counts. Pure and light (no certificate parsing): renderers read these and only render.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from bot.core.evidence import AttemptEvidence, CheckEvidence, FailureKind, Step, Unsolicited
from bot.core.models import Finding, Severity

STATUS_OK = "ok"

# The finding each kind of failed attempt yields (bot.core.check.findings reports it).
_FAILURE_IDS: Mapping[FailureKind, str] = MappingProxyType(
    {
        FailureKind.TIMEOUT: "smtp.timeout",
        FailureKind.DEADLINE: "smtp.timeout",
        FailureKind.TLS: "tls.handshake_failed",
        FailureKind.REJECTED: "smtp.rejected",
        FailureKind.INJECTION: "smtp.starttls_injection",
    }
)


def failure_finding_id(attempt: AttemptEvidence) -> str | None:
    """The finding id of a failed attempt, None when it did not fail."""
    failure = attempt.failure
    if failure is None:
        return None
    if failure in _FAILURE_IDS:
        return _FAILURE_IDS[failure]
    if attempt.failed_step is Step.HANDSHAKE:
        return "tls.handshake_failed"
    return "smtp.connect_failed"  # refused, unreachable, reset, not SMTP at all


PROTOCOL_VIOLATION = "smtp.protocol_violation"


def early_talk(attempt: AttemptEvidence) -> tuple[Unsolicited, ...]:
    """Replies the server sent before our command (the injection after STARTTLS is a
    failure of its own)."""
    return tuple(u for u in attempt.unsolicited if u.before is not Step.HANDSHAKE)


def status_of(findings: Iterable[Finding]) -> Severity | None:
    """ERROR or WARNING when a finding has it; None when all is well (info only)."""
    severities = {finding.severity for finding in findings}
    for severity in (Severity.ERROR, Severity.WARNING):
        if severity in severities:
            return severity
    return None


def status_word(findings: Iterable[Finding]) -> str:
    """ "error", "warning" or "ok" (a workflow step's `status` output)."""
    status = status_of(findings)
    return status.value if status else STATUS_OK


@dataclass(frozen=True, slots=True)
class Counts:
    errors: int
    warnings: int

    @property
    def text(self) -> str:
        """ "2 errors, 1 warning", or "no problems found"."""
        parts = [
            f"{count} {noun}{'s' if count != 1 else ''}"
            for count, noun in ((self.errors, "error"), (self.warnings, "warning"))
            if count
        ]
        return ", ".join(parts) or "no problems found"


def counts(findings: Iterable[Finding]) -> Counts:
    listed = list(findings)
    return Counts(
        errors=sum(1 for f in listed if f.severity is Severity.ERROR),
        warnings=sum(1 for f in listed if f.severity is Severity.WARNING),
    )


@dataclass(frozen=True, slots=True)
class AttemptVerdict:
    """The judgement of one attempt: the error/warning findings that concern it, most severe
    first, and how it failed when it did."""

    finding_ids: tuple[str, ...] = ()
    severity: Severity | None = None  # of the first finding; None when none concerns it
    failure: str | None = None  # e.g. "timeout at banner"
    tls_ok: bool = False  # TLS established and a chain captured
    dane: str | None = None  # this attempt's DANE verdict (dane_word); None: not checked

    @property
    def ok(self) -> bool:
        return self.tls_ok and not self.finding_ids and self.failure is None

    @property
    def word(self) -> str:
        """One word for a table cell: the most severe finding id, the failure, "ok" or "-"."""
        if self.finding_ids:
            return self.finding_ids[0]
        if self.failure is not None:
            return self.failure
        return STATUS_OK if self.tls_ok else "-"


AttemptKey = tuple[str, str, int]  # (host, ip, attempt number)
BLOCKED = AttemptVerdict(("target.blocked",), Severity.ERROR)


def attempt_key(attempt: AttemptEvidence) -> AttemptKey:
    return attempt.host, attempt.ip, attempt.attempt


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    status: Severity | None
    counts: Counts
    attempts: Mapping[AttemptKey, AttemptVerdict]

    @property
    def status_word(self) -> str:
        return self.status.value if self.status else STATUS_OK

    @property
    def has_errors(self) -> bool:
        return self.status is Severity.ERROR

    def of(self, attempt: AttemptEvidence) -> AttemptVerdict:
        return self.attempts.get(attempt_key(attempt), AttemptVerdict())


def _leaf_thumbprint(attempt: AttemptEvidence) -> str | None:
    return attempt.certs[0].sha1 if attempt.certs else None


def _concerns(finding: Finding, attempt: AttemptEvidence) -> bool:
    """Whether a finding of this address describes this attempt: attempts of one address may
    differ (a load balancer, a failure on one try), and findings are aggregated per address."""
    if finding.severity is Severity.INFO:
        return False
    if "failure" in finding.fields:  # a failed attempt's finding
        return failure_finding_id(attempt) == finding.id
    shown = finding.fields.get("thumbprint")
    if shown is not None and shown != _leaf_thumbprint(attempt):
        return False  # a certificate this attempt was not shown
    if finding.id == "smtp.starttls_missing":
        return attempt.starttls_offered is False
    if finding.id == PROTOCOL_VIOLATION:
        return bool(early_talk(attempt))
    return True


def _failure_text(attempt: AttemptEvidence) -> str | None:
    if attempt.failure is None:
        return None
    step = attempt.failed_step.value if attempt.failed_step else "?"
    return f"{attempt.failure.value} at {step}"


def attempt_verdict(
    attempt: AttemptEvidence,
    address_findings: Sequence[Finding],
    host_findings: Sequence[Finding] = (),
) -> AttemptVerdict:
    """`address_findings`: the findings of the attempt's (host, address), most severe first;
    `host_findings`: every finding of the host (all its addresses and the host itself)."""
    concerning = [f for f in address_findings if _concerns(f, attempt)]
    concerning.sort(key=lambda f: f.severity.rank)  # stable: ties keep the report's order
    return AttemptVerdict(
        finding_ids=tuple(dict.fromkeys(f.id for f in concerning)),
        severity=concerning[0].severity if concerning else None,
        failure=_failure_text(attempt),
        tls_ok=attempt.tls_ok,
        dane=dane_word(attempt, address_findings, host_findings),
    )


# The host-level DANE findings and the word an address's attempt shows for each.
_DANE_HOST_WORDS = (
    ("dane.bogus", "bogus"), ("dane.unsigned", "unsigned"), ("dane.none", "none"),
)  # fmt: skip


def dane_word(
    attempt: AttemptEvidence, address_findings: Sequence[Finding], host_findings: Sequence[Finding]
) -> str | None:
    """ "match", "mismatch", "bogus", "unsigned", "none", "-" (no certificate to match), or
    None when DANE was not checked for the host."""
    thumbprint = _leaf_thumbprint(attempt)
    for finding in address_findings:
        if finding.id == "dane.mismatch" and finding.fields.get("thumbprint") == thumbprint:
            return "mismatch"
    for finding in host_findings:
        if finding.id in ("dane.ok", "dane.mismatch"):
            matched = finding.fields.get("matched_thumbprints", ())
            ok = isinstance(matched, tuple) and thumbprint in matched
            return "match" if ok else "-"
    ids = {finding.id for finding in host_findings}
    for finding_id, word in _DANE_HOST_WORDS:
        if finding_id in ids:
            return word
    if "dane.usage_unsuitable" in ids:
        return "unusable"
    return None


def check_verdict(evidence: CheckEvidence, findings: Sequence[Finding]) -> CheckVerdict:
    by_address: dict[tuple[str | None, str | None], list[Finding]] = {}
    by_host: dict[str | None, list[Finding]] = {}
    for finding in findings:
        by_address.setdefault((finding.host, finding.ip), []).append(finding)
        by_host.setdefault(finding.host, []).append(finding)
    attempts = {
        attempt_key(attempt): attempt_verdict(
            attempt,
            by_address.get((host.name, attempt.ip), []),
            by_host.get(host.name, []),
        )
        for host in evidence.hosts
        for attempt in host.attempts
    }
    return CheckVerdict(status_of(findings), counts(findings), MappingProxyType(attempts))
