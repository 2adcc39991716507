"""Merge what several readers said about one thing into one fact.

Two facts are about the same thing when they name the same recipient, or when neither names one
and their input lines overlap (a log line both a Postfix and a generic reader understood). The
fact of the surer reader (higher detect score) wins field by field; what it lacks comes from the
others, so a DSN's Status and a Postfix text's "(in reply to RCPT TO command)" end up together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields

from bot.core.diagnose.fact import FREE_TEXT_SOURCE, TRACE_STATUS_TEXT, Fact, FactKind

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
    by_lines = _LineIndex()
    for _, fact in ordered:
        index = _same_as(fact, merged, by_recipient, by_lines, scores)
        if index is None:
            index = len(merged)
            merged.append(fact)
        else:
            merged[index] = _combine(merged[index], fact)
        by_lines.add(index, merged[index].lines)
        recipient = merged[index].recipient
        if recipient:
            by_recipient.setdefault((fact.kind, recipient.lower()), index)
    merged = _report_and_reply(merged)
    order = {id(fact): position for position, fact in enumerate(facts)}
    return sorted(merged, key=lambda fact: (fact.lines[0] or 10**12, order.get(id(fact), 0)))


def _report_and_reply(merged: list[Fact]) -> list[Fact]:
    """A pasted report whose only recipient has no server reply, and one free-text reply with no
    recipient (a Sendmail transcript's "<<< 550 ..." above its DSN fields): one failure."""
    silent = [
        f for f in merged if f.recipient and not f.diagnostic and f.source != FREE_TEXT_SOURCE
    ]
    replies = [f for f in merged if f.source == FREE_TEXT_SOURCE and not f.recipient]
    if len(silent) != 1 or len(replies) != 1:
        return merged
    report, reply = silent[0], replies[0]
    combined = _combine(report, reply).with_(status=reply.status or report.status)
    return [combined if f is report else f for f in merged if f is not reply]


_GENERIC_SCORE = 2  # the generic readers (text, bounce): their recipient is a guess


class _LineIndex:
    """Which merged facts' input lines may overlap a span: facts are filed under the blocks of
    `_BLOCK` lines they cover (a fact wider than `_WIDE` blocks is always a candidate), so that
    merging many facts costs time linear in their number, not quadratic."""

    def __init__(self) -> None:
        self._blocks: dict[int, set[int]] = {}
        self._wide: set[int] = set()

    def add(self, index: int, lines: tuple[int, int]) -> None:
        if not lines[0]:
            return
        first, last = lines[0] // _BLOCK, max(lines) // _BLOCK
        if last - first > _WIDE:
            self._wide.add(index)
            return
        for block in range(first, last + 1):
            self._blocks.setdefault(block, set()).add(index)

    def candidates(self, lines: tuple[int, int]) -> list[int]:
        """The merged facts that may overlap `lines`, in merge order."""
        first, last = lines[0] // _BLOCK, max(lines) // _BLOCK
        found = set(self._wide)
        if last - first > _WIDE:
            for indexes in self._blocks.values():
                found.update(indexes)
        else:
            for block in range(first, last + 1):
                found.update(self._blocks.get(block, ()))
        return sorted(found)


_BLOCK = 64
_WIDE = 16


def _same_as(
    fact: Fact,
    merged: list[Fact],
    by_recipient: dict[tuple[FactKind, str], int],
    by_lines: _LineIndex,
    scores: Mapping[str, int],
) -> int | None:
    if fact.recipient:
        found = by_recipient.get((fact.kind, fact.recipient.lower()))
        if found is not None:
            return found
    if not fact.lines[0]:
        return None
    nearby = [(index, merged[index]) for index in by_lines.candidates(fact.lines)]
    if scores.get(fact.source, 0) <= _GENERIC_SCORE:
        for index, other in nearby:
            if (
                scores.get(other.source, 0) > _GENERIC_SCORE
                and _overlap(fact, other)
                and _compatible(fact, other)
            ):
                return index  # a surer reader read these lines: the generic guess adds to it
    for index, other in nearby:
        if (
            other.source != fact.source
            and not (fact.recipient and other.recipient)
            and (not fact.recipient or other.kind == fact.kind)
            and _overlap(fact, other)
            and _compatible(fact, other)
        ):
            return index  # the same lines, and at most one of the two names a recipient
    return None


def _compatible(one: Fact, other: Fact) -> bool:
    """Can the two be one thing: the same status (or one has none), or one's status is a reply
    nested in the other's text (an NDR's "550 4.4.7 ... [Last Error: 451 4.4.0 ...]" and the
    queue reader's 4.4.0 of the same lines)."""
    first, second = one.status, other.status
    if not first or not second or first == second:
        return True
    return _nested(first, other.diagnostic) or _nested(second, one.diagnostic)


def _nested(status: str, text: str) -> bool:
    return f" {status} " in text


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
    # The free-text reader's line (with its "LastError :" label and trace braces) completes a
    # format reader's text only when that had none.
    diagnostic = (
        base.diagnostic or other.diagnostic
        if other.source == FREE_TEXT_SOURCE and base.source != FREE_TEXT_SOURCE
        else _better_text(base.diagnostic, other.diagnostic)
    )
    if diagnostic.startswith(TRACE_STATUS_TEXT) and other.diagnostic:
        diagnostic = other.diagnostic  # a trace row's status, and the detail of its Fail event
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
    """`other` when it says all `one` says and more; blanks do not count (a DSN's
    Diagnostic-Code and the notification's paragraph wrap the same reply differently, and
    Gmail's replies hold a double space that one of the wraps may fold)."""
    if not one:
        return other
    if other and len(other) > len(one) and _words(one) in _words(other):
        return other
    return one


def _words(text: str) -> str:
    return " ".join(text.lower().split())
