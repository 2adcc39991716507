"""Plain data shared by every layer: findings, fixes, diagnoses.

Everything here is immutable and free of I/O so that core, probe, render and Slack code can pass
it around without copying or locking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

# A fact extracted from evidence: a string, or a list of strings (SANs, recipients, ...).
FieldValue = str | int | tuple[str, ...]


class Severity(StrEnum):
    """How bad a finding is; ordering is by `rank`, most severe first."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

# Sisimai's bounce-reason vocabulary: the only values allowed in Finding.reason.
BOUNCE_REASONS = frozenset(
    {
        "authfailure", "badreputation", "blocked", "contenterror", "delivered", "exceedlimit",
        "expired", "failedstarttls", "feedback", "filtered", "hasmoved", "hostunknown",
        "mailboxfull", "mailererror", "mesgtoobig", "networkerror", "norelaying", "notaccept",
        "notcompliantrfc", "onhold", "policyviolation", "ratelimited", "rejected", "requireptr",
        "securityerror", "spamdetected", "speeding", "suppressed", "suspend", "syntaxerror",
        "systemerror", "systemfull", "toomanyconn", "undefined", "userunknown", "vacation",
        "virusdetected",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fix:
    """One step of a remedy. `powershell` is a ready-to-paste script built by
    bot.core.powershell (`shell` a POSIX shell command), or None when the step is not a command
    (for example "install the certificate on the appliance"). `stage` orders the steps: verify
    (inspect first), fix (the change that remedies), validate (prove it worked). `missing` lists
    the placeholders shown in place of facts the input did not hold, each with how to get it."""

    title: str
    powershell: str | None = None
    stage: str = "fix"
    shell: str | None = None
    missing: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "title": self.title,
            "powershell": self.powershell,
            "stage": self.stage,
        }
        if self.shell is not None:
            out["shell"] = self.shell
        if self.missing:
            out["missing"] = [{"placeholder": p, "how": how} for p, how in self.missing]
        return out


def _frozen_fields(values: Mapping[str, FieldValue] | None) -> Mapping[str, FieldValue]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True, eq=True)
class Finding:
    """A diagnosed problem (or an informative observation).

    `mailflow diagnose` fills status/reply_code/reason/probe; `mailflow check` fills host/ip.
    The JSON renderers pick the keys each command's contract names.
    """

    id: str
    severity: Severity
    summary: str
    explanation: str = ""
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    fixes: tuple[Fix, ...] = ()
    status: str | None = None
    reply_code: str | None = None
    reason: str | None = None
    probe: str | None = None
    host: str | None = None
    ip: str | None = None
    # Input lines the finding rests on: (1-based line number, the line's text), a few at most.
    evidence: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if self.reason is not None and self.reason not in BOUNCE_REASONS:
            raise ValueError(f"unknown bounce reason {self.reason!r}")
        object.__setattr__(self, "fields", _frozen_fields(self.fields))

    def __hash__(self) -> int:
        return hash((self.id, self.severity, self.summary, self.host, self.ip, self.status))

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        return (self.severity.rank, self.id, self.host or "", self.ip or "")


def most_severe_first(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    """Stable sort: errors, then warnings, then info; original order kept within a severity."""
    return sorted(findings, key=lambda f: f.severity.rank)


def fields_to_json(values: Mapping[str, FieldValue]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


@dataclass(frozen=True, slots=True)
class InputInfo:
    """What `mailflow diagnose` was given: the detected kind of text and its size in bytes."""

    kind: str
    bytes: int


@dataclass(frozen=True, slots=True)
class Diagnosis:
    input: InputInfo
    findings: tuple[Finding, ...]

    @property
    def recognised(self) -> bool:
        return bool(self.findings)
