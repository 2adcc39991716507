"""Live check = probe (bot.probe.engine, I/O) + judgement (bot.core.check.findings, pure).

Both the CLI and the Slack handlers call this module; it adds the analysis step to the
engine's stream so callers can show progress and then the final report.

The judgement's stack (cryptography, the trust store, the texts and appliance tables) is loaded
in a worker thread while the probe waits on the network, not before the first packet is sent:
for a single `mailflow check` process that is a large part of the time to the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.check.verdicts import CheckVerdict
from bot.core.evidence import CheckEvidence
from bot.core.models import Finding
from bot.probe.engine import CheckFinished, CheckRequest, ProbeUpdate
from bot.probe.engine import iter_check as iter_probe

if TYPE_CHECKING:
    from bot.core.certs import TrustStore
    from bot.core.check.findings import Judgement

_CA_SNIFF_BYTES = 64 * 1024


class CaFileError(ValueError):
    """The CA file cannot be used; str() is one line for the user."""


def check_ca_file(path: Path) -> None:
    """Cheap checks of a CA file before any probe (readable, a file, PEM or DER at first
    sight); it is parsed in full while the probe runs (CaFileError then)."""
    try:
        info = path.stat()
        with path.open("rb") as handle:
            head = handle.read(_CA_SNIFF_BYTES)
    except OSError as exc:
        raise CaFileError(f"cannot read CA file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CaFileError(f"cannot read CA file {path}: not a regular file")
    if b"-----BEGIN CERTIFICATE-----" not in head and not head.startswith(b"\x30"):
        raise CaFileError(f"CA file {path}: no PEM or DER certificate found")
    if not os.access(path, os.R_OK):
        raise CaFileError(f"cannot read CA file {path}: permission denied")


@dataclass(frozen=True, slots=True)
class _Judge:
    trust: TrustStore

    def __call__(self, evidence: CheckEvidence, now: datetime) -> Judgement:
        from bot.core.check.findings import judge  # noqa: PLC0415 - loaded by _prepare

        return judge(evidence, trust=self.trust, now=now)


def _prepare(ca_file: Path | None) -> _Judge:
    """Runs in a worker thread: import the judgement's stack, load the trust store and the
    tables it reads, so that judging the evidence costs only the judging."""
    from bot.core.appliances import default_appliances  # noqa: PLC0415 - see the module doc
    from bot.core.certs import TrustStoreError, load_trust_store  # noqa: PLC0415
    from bot.core.check.texts import default_check_texts  # noqa: PLC0415

    default_check_texts()
    default_appliances()
    try:
        return _Judge(load_trust_store(ca_file))
    except TrustStoreError as exc:
        raise CaFileError(str(exc)) from None


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
    """Yield the engine's progress updates as they happen, then one CheckReport. A CA file
    that turns out not to parse raises CaFileError."""
    prepared = asyncio.ensure_future(asyncio.to_thread(_prepare, ca_file))
    try:
        async with contextlib.aclosing(iter_probe(request)) as updates:
            async for update in updates:
                if isinstance(update, CheckFinished):
                    judge = await prepared
                    judged = judge(update.evidence, now or datetime.now(UTC))
                    yield CheckReport(
                        judged.evidence, judged.findings, judged.verdict,
                        update.evidence.elapsed_ms,
                    )  # fmt: skip
                else:
                    yield update
    finally:
        if not prepared.done():  # the consumer stopped early: nothing waits for it
            prepared.cancel()
        elif not prepared.cancelled():
            prepared.exception()  # retrieved: a CA file error nobody awaited is not logged


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
