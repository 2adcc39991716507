"""Merge what several readers said about one thing into one fact.

Two facts are about the same thing when they name the same recipient, or when neither names one
and their input lines overlap (a log line both a Postfix and a generic reader understood). The
fact of the surer reader (higher detect score) wins field by field; what it lacks comes from the
others, so a DSN's Status and a Postfix text's "(in reply to RCPT TO command)" end up together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields

from bot.core.diagnose.fact import Fact, FactKind

_SCALARS = tuple(
    f.name
    for f in dataclass_fields(Fact)
    if f.name
    not in {"source", "kind", "replies", "diagnostic", "extra", "lines", "count", "status"}
)


def merge_facts(facts: list[Fact], scores: Mapping[str, int]) -> list[Fact]:
    if len(facts) < 2:
        return facts
    ordered = sorted(enumerate(facts), key=lambda item: (-scores.get(item[1].source, 0), item[0]))
    merged: list[Fact] = []
    by_recipient: dict[tuple[FactKind, str], int] = {}
    for _, fact in ordered:
        index = _same_as(fact, merged, by_recipient, scores)
        if index is None:
            index = len(merged)
            merged.append(fact)
        else:
            merged[index] = _combine(merged[index], fact)
        recipient = merged[index].recipient
        if recipient:
            by_recipient.setdefault((fact.kind, recipient.lower()), index)
    order = {id(fact): position for position, fact in enumerate(facts)}
    return sorted(merged, key=lambda fact: (fact.lines[0] or 10**12, order.get(id(fact), 0)))


_GENERIC_SCORE = 2  # the generic readers (text, bounce): their recipient is a guess


def _same_as(
    fact: Fact,
    merged: list[Fact],
    by_recipient: dict[tuple[FactKind, str], int],
    scores: Mapping[str, int],
) -> int | None:
    if fact.recipient:
        found = by_recipient.get((fact.kind, fact.recipient.lower()))
        if found is not None:
            return found
    if fact.lines[0] and scores.get(fact.source, 0) <= _GENERIC_SCORE:
        for index, other in enumerate(merged):
            if (
                scores.get(other.source, 0) > _GENERIC_SCORE
                and _overlap(fact, other)
                and _compatible(fact.status, other.status)
            ):
                return index  # a surer reader read these lines: the generic guess adds to it
    if not fact.lines[0]:
        return None
    for index, other in enumerate(merged):
        if (
            other.source != fact.source
            and not (fact.recipient and other.recipient)
            and (not fact.recipient or other.kind == fact.kind)
            and _overlap(fact, other)
            and _compatible(fact.status, other.status)
        ):
            return index  # the same lines, and at most one of the two names a recipient
    return None


def _compatible(one: str | None, other: str | None) -> bool:
    return not one or not other or one == other


def _overlap(one: Fact, other: Fact) -> bool:
    return (
        bool(other.lines[0]) and one.lines[0] <= other.lines[1] and other.lines[0] <= one.lines[1]
    )


def _combine(base: Fact, other: Fact) -> Fact:
    """`base` (the surer reader's) completed with what `other` knows."""
    changes: dict[str, object] = {}
    for name in _SCALARS:
        if getattr(base, name) in (None, "", ()) and getattr(other, name) not in (None, "", ()):
            changes[name] = getattr(other, name)
    status = _better_status(base.status, other.status)
    if status != base.status:
        changes["status"] = status
    diagnostic = _better_text(base.diagnostic, other.diagnostic)
    if diagnostic != base.diagnostic:
        changes["diagnostic"] = diagnostic
    if not base.replies and other.replies:
        changes["replies"] = other.replies
    extra = {**other.extra, **base.extra}
    if extra != dict(base.extra):
        changes["extra"] = extra
    first = (
        min(x for x in (base.lines[0], other.lines[0]) if x)
        if (base.lines[0] or other.lines[0])
        else 0
    )
    last = max(base.lines[1], other.lines[1])
    if (first, last) != base.lines:
        changes["lines"] = (first, last)
    return base.with_(**changes) if changes else base


def _better_status(one: str | None, other: str | None) -> str | None:
    """The more specific of two codes: a detail beats X.0.0 (`5.0.0` vs `5.1.1`)."""
    if not one:
        return other
    if not other or one == other:
        return one
    if _vague(one) and not _vague(other) and one[0] == other[0]:
        return other
    return one


def _vague(status: str) -> bool:
    parts = status.split(".")
    return len(parts) == 3 and parts[1] == "0" and parts[2] == "0"


def _better_text(one: str, other: str) -> str:
    if not one:
        return other
    if other and len(other) > len(one) and one.lower() in other.lower():
        return other
    return one
