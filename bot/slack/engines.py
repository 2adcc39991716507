"""The engines the Slack side calls, behind one small seam.

`Engines.real(settings)` wires the diagnosis core (`bot.diagnosis`) and the live probe
(`bot.check`); tests and the benchmark pass their own (slow, hanging, scripted) engines to
`build_app`. Handlers only ever see the types in this module.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.check import CheckReport, iter_check
from bot.core.check.verdicts import CheckVerdict
from bot.core.domain import InvalidTarget, normalise_target
from bot.core.evidence import CheckEvidence
from bot.core.models import Diagnosis, Finding
from bot.diagnosis import diagnose_bytes, diagnose_case, diagnose_text
from bot.probe.engine import AttemptFinished, CheckRequest, DnsResolved
from bot.settings import Settings
from bot.slack.files import MAX_FILE_BYTES

MAX_EXPECTED_NAMES = 5


class InvalidTargetError(ValueError):
    """The user's target is not a domain, e-mail address or host name. str() is for the user."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """What to check: a mail domain (its MX hosts) or, with host_mode, one host directly."""

    target: str
    host_mode: bool = False
    expected_names: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        base = f"host={self.target}" if self.host_mode else self.target
        if self.expected_names:
            base += " expect=" + ",".join(self.expected_names)
        return base

    def key(self, channel: str) -> str:
        """Identity of "the same check in the same channel" (at most one runs at a time)."""
        return f"{channel}|{self.label}"

    def to_json(self) -> str:
        return json.dumps(
            {"t": self.target, "h": self.host_mode, "e": list(self.expected_names)},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> CheckSpec:
        data = json.loads(raw)
        expected = data.get("e") or []
        if not isinstance(data.get("t"), str) or not isinstance(expected, list):
            raise ValueError("malformed check spec")  # noqa: TRY004 (bad JSON is a value error)
        return cls(str(data["t"]), bool(data.get("h")), tuple(str(n) for n in expected))


@dataclass(frozen=True, slots=True)
class CheckProgress:
    """One address finished (or a DNS step): `done` of `total` units of work."""

    done: int
    total: int | None
    note: str = ""


class CheckResult(Protocol):
    """The probe's final report; `bot.check.CheckReport` satisfies this structurally."""

    @property
    def evidence(self) -> CheckEvidence: ...

    @property
    def findings(self) -> tuple[Finding, ...]: ...

    @property
    def elapsed_ms(self) -> float: ...

    @property
    def verdict(self) -> CheckVerdict: ...

    @property
    def has_errors(self) -> bool: ...


CheckStream = AsyncIterator[CheckProgress | CheckResult]
DiagnoseFn = Callable[[str], Diagnosis]
DiagnoseFileFn = Callable[[bytes, str], Diagnosis]
CheckFn = Callable[[CheckSpec], CheckStream]
# The pieces of an incident case file: (kind, content); a "paste" is chat text, the rest bytes.
CasePieces = Sequence[tuple[str, bytes]]
DiagnoseCaseFn = Callable[[CasePieces], Diagnosis]
NormaliseFn = Callable[[str, bool], str]  # (text, host_mode) -> A-label


def diagnose_upload(data: bytes, name: str) -> Diagnosis:
    """An uploaded file through the CLI's decoder (UTF-8, or UTF-16 with a BOM as Windows
    PowerShell writes it) and the diagnosis core, streamed in chunks."""
    return diagnose_bytes(data, name, max_bytes=MAX_FILE_BYTES)


def diagnose_pieces(pieces: CasePieces) -> Diagnosis:
    """A thread's case file judged as one case: pastes as chat text, uploads and probes as
    files (bounded by the store's case limits)."""
    inputs: list[str | list[bytes]] = [
        content.decode("utf-8", "replace") if kind == "paste" else [content]
        for kind, content in pieces
    ]
    return diagnose_case(inputs)


@dataclass(frozen=True, slots=True)
class Engines:
    diagnose: DiagnoseFn  # sync and pure; the app runs it in a worker thread
    check: CheckFn
    normalise: NormaliseFn  # user text -> canonical target (A-label); raises InvalidTargetError
    diagnose_file: DiagnoseFileFn = diagnose_upload  # (bytes, file name) -> Diagnosis
    diagnose_case: DiagnoseCaseFn = diagnose_pieces  # a thread's case file -> one Diagnosis

    @classmethod
    def real(cls, settings: Settings) -> Engines:
        return cls(
            diagnose=diagnose_text,
            check=_RealCheck(settings),
            normalise=domain_normalise,
        )


def domain_normalise(text: str, host_mode: bool = False) -> str:
    """bot.core.domain's normalisation (IDN, e-mail addresses, Slack links, IP literals for
    host mode), with its error as InvalidTargetError."""
    try:
        return normalise_target(text, host_mode=host_mode).name
    except InvalidTarget as exc:
        raise InvalidTargetError(str(exc)) from None


class _RealCheck:
    """bot.check.iter_check (probe + analysis) streamed as CheckProgress, then CheckReport."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, spec: CheckSpec) -> CheckStream:
        return self._stream(spec)

    def request(self, spec: CheckSpec) -> CheckRequest:
        return CheckRequest(
            target=normalise_target(spec.target, host_mode=spec.host_mode),
            host_mode=spec.host_mode,
            port=self._settings.probe_port,
            step_timeout=self._settings.probe_timeout,
            nameservers=self._settings.nameservers,
            allow_nets=self._settings.allow_nets,
            expected_names=spec.expected_names,
            dnssec_resolver=self._settings.dnssec_resolver,
            trust_anchor=Path(self._settings.trust_anchor) if self._settings.trust_anchor else None,
            ca_file=Path(self._settings.ca_file) if self._settings.ca_file else None,
        )

    async def _stream(self, spec: CheckSpec) -> CheckStream:
        ca_file = Path(self._settings.ca_file) if self._settings.ca_file else None
        async for update in iter_check(self.request(spec), ca_file=ca_file):
            if isinstance(update, DnsResolved):
                hosts = len(update.evidence.hosts)
                note = f"DNS: {hosts} mail host{'s' if hosts != 1 else ''}"
                yield CheckProgress(0, update.planned_attempts, note)
            elif isinstance(update, AttemptFinished):
                yield CheckProgress(update.done, update.planned, _attempt_note(update))
            elif isinstance(update, CheckReport):
                yield update


def _attempt_note(update: AttemptFinished) -> str:
    attempt = update.attempt
    outcome = attempt.tls_version or (attempt.failure.value if attempt.failure else "done")
    return f"{attempt.host} {attempt.ip}: {outcome}"
