"""A scripted probe for tests of the Slack plumbing itself (acks, dedupe, fallbacks, buttons,
watch bookkeeping); the diagnosis engine here is the real one. Tests of what the bot says about
real servers (tests/integration/test_slack_live.py) use the real probe too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.core.check.findings import describe_evidence
from bot.core.check.verdicts import CheckVerdict, check_verdict
from bot.core.evidence import AttemptEvidence, CheckEvidence, HostEvidence, MxSource
from bot.core.models import Finding, Fix, Severity
from bot.diagnosis import diagnose_text
from bot.slack.engines import CheckProgress, CheckResult, CheckSpec, Engines, domain_normalise
from tests.fakes.certs import CertFactory


@dataclass(frozen=True)
class FakeReport:
    evidence: CheckEvidence
    findings: tuple[Finding, ...]
    elapsed_ms: float = 12.0

    @property
    def verdict(self) -> CheckVerdict:
        return check_verdict(self.evidence, self.findings)

    @property
    def has_errors(self) -> bool:
        return self.verdict.has_errors


def _evidence(spec: CheckSpec, healthy: bool) -> CheckEvidence:
    factory = CertFactory()
    if healthy:
        root = factory.root_ca()
        chain = (factory.leaf(root, [spec.target]).der,)
    else:
        chain = (factory.self_signed("SERVER1").der,)
    attempt = AttemptEvidence(
        host=f"mail.{spec.target}", ip="192.0.2.10", port=25, attempt=1, banner="220 mail ESMTP",
        starttls_offered=True, tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", chain=chain,
    )  # fmt: skip
    host = HostEvidence(f"mail.{spec.target}", 10, ("192.0.2.10",), attempts=(attempt,))
    return describe_evidence(CheckEvidence(spec.target, spec.target, MxSource.MX, (host,)))


def report_for(spec: CheckSpec, *, healthy: bool) -> FakeReport:
    findings: tuple[Finding, ...] = ()
    if not healthy:
        findings = (
            Finding(
                "cert.self_signed", Severity.ERROR, "mail presents the self-signed CN=SERVER1",
                host=f"mail.{spec.target}", ip="192.0.2.10",
                fixes=(Fix("Enable the right certificate", "Enable-ExchangeCertificate"),),
            ),
        )  # fmt: skip
    return FakeReport(_evidence(spec, healthy), findings)


@dataclass
class ScriptedCheck:
    """Targets in `broken` report cert.self_signed; `hang` makes every check wait forever
    (like a tarpit), `delay` slows each one down."""

    broken: set[str] = field(default_factory=lambda: {"contoso.com"})
    delay: float = 0.0
    hang: bool = False
    error: Exception | None = None
    calls: list[CheckSpec] = field(default_factory=list)

    def __call__(self, spec: CheckSpec) -> AsyncIterator[CheckProgress | CheckResult]:
        return self._run(spec)

    async def _run(self, spec: CheckSpec) -> AsyncIterator[CheckProgress | CheckResult]:
        self.calls.append(spec)
        yield CheckProgress(0, 1, "resolving")
        if self.error is not None:
            raise self.error
        if self.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        yield CheckProgress(1, 1, "done")
        yield report_for(spec, healthy=spec.target not in self.broken)


def scripted_engines(check: ScriptedCheck | None = None) -> Engines:
    return Engines(
        diagnose=diagnose_text, check=check or ScriptedCheck(), normalise=domain_normalise
    )
