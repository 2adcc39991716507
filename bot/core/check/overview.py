"""One line per transport-security policy (DNSSEC, DANE per MX host, MTA-STS, TLS-RPT) for the
reports: what was looked up and its verdict, the finding ids. Light (no certificate code), so that
the renderers import it freely; the judgement itself is bot.core.check.policies."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.evidence import CheckEvidence
from bot.core.models import Finding


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _worst(findings: Sequence[Finding], prefix: str, host: str | None = None) -> str:
    """The most severe finding id of a family (for one host, when given), or "-"."""
    chosen = [f for f in findings if f.id.startswith(prefix) and (host is None or f.host == host)]
    chosen.sort(key=lambda f: f.severity.rank)
    return ", ".join(dict.fromkeys(f.id for f in chosen)) if chosen else "-"


def policy_overview(
    evidence: CheckEvidence, findings: Sequence[Finding]
) -> tuple[tuple[str, str], ...]:
    """(label, one line) per policy, for the terminal and Slack: what was looked up and the
    verdict (the finding ids). Empty when the policy checks were not run."""
    policies = evidence.policies
    if policies is None:
        return ()
    lines: list[tuple[str, str]] = []
    mx = f"; MX RRset {policies.mx.status.value}" if policies.mx is not None else ""
    lines.append(("DNSSEC", f"{policies.validation}{mx}"))
    for lookup in policies.tlsa:
        answer = lookup.answer
        what = (f"{len(answer.values)} TLSA record(s) at {answer.name}, {answer.status.value}"
                if answer.values else f"no TLSA at {answer.name}")  # fmt: skip
        lines.append((f"DANE {lookup.host}", f"{_worst(findings, 'dane.', lookup.host)}: {what}"))
    if policies.mta_sts is not None:
        fetch = policies.policy
        where = ""
        if fetch is not None:
            where = f"; policy {fetch.url}" + (f" from {fetch.ip}" if fetch.ip else "")
        verdict = _worst(findings, "mtasts.")
        lines.append(("MTA-STS", f"{verdict}{where}"))
    if policies.tlsrpt is not None:
        lines.append(("TLS-RPT", _worst(findings, "tlsrpt.")))
    return tuple((label, _short(text, 400)) for label, text in lines)
