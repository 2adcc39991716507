"""Live check = probe (bot.probe.engine, I/O) + judgement (bot.core.check.findings, pure).

Both the CLI and the Slack handlers call this module; it adds the analysis step to the
engine's stream so callers can show progress and then the final report.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.core.certs import load_trust_store
from bot.core.check.findings import judge
from bot.core.check.verdicts import CheckVerdict
from bot.core.evidence import CheckEvidence
from bot.core.models import Finding
from bot.probe.engine import CheckFinished, CheckRequest, ProbeUpdate
from bot.probe.engine import iter_check as iter_probe


@dataclass(frozen=True, slots=True)
class CheckReport:
    evidence: CheckEvidence  # chains described (AttemptEvidence.certs)
    findings: tuple[Finding, ...]
    verdict: CheckVerdict
    elapsed_ms: float

    @property
    def has_errors(self) -> bool:
        return self.verdict.has_errors


async def iter_check(
    request: CheckRequest, *, ca_file: Path | None = None, now: datetime | None = None
) -> AsyncGenerator[ProbeUpdate | CheckReport, None]:
    """Yield the engine's progress updates as they happen, then one CheckReport."""
    trust = await asyncio.to_thread(load_trust_store, ca_file)
    async with contextlib.aclosing(iter_probe(request)) as updates:
        async for update in updates:
            if isinstance(update, CheckFinished):
                judged = judge(update.evidence, trust=trust, now=now or datetime.now(UTC))
                yield CheckReport(
                    judged.evidence, judged.findings, judged.verdict, update.evidence.elapsed_ms
                )
            else:
                yield update


async def run_check(
    request: CheckRequest,
    *,
    ca_file: Path | None = None,
    now: datetime | None = None,
    on_progress: Callable[[ProbeUpdate], None] | None = None,
) -> CheckReport:
    """The final report; `on_progress` sees each engine update as it happens."""
    # Closed explicitly: returning from inside `async for` leaves the generator suspended, and
    # on a loop that lives on its finaliser would run later as a stray task.
    async with contextlib.aclosing(iter_check(request, ca_file=ca_file, now=now)) as updates:
        async for update in updates:
            if isinstance(update, CheckReport):
                return update
            if on_progress is not None:
                on_progress(update)
    raise RuntimeError("probe engine ended without a result")  # it always ends with one
