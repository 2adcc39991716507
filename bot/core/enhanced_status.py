"""RFC 3463 enhanced status codes: parsing, ranges, and the class/subject/detail meaning.

The meanings themselves are data (config/knowledge/rfc3463.toml, loaded by bot.core.knowledge);
this module only knows the shape of a code and how to look one up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

# class.subject.detail: class 2/4/5, subject and detail 1-3 digits (RFC 3463 section 2).
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
# A pattern in the knowledge base: "4.7.320", "5.7.606-649", "x.7.321-325" (x: class 4 or 5).
_PATTERN = re.compile(r"([245xX])\.(\d{1,3})\.(\d{1,3})(?:-(\d{1,3}))?")


@dataclass(frozen=True, slots=True, order=True)
class EnhancedStatus:
    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"


@lru_cache(maxsize=4096)
def parse(value: str | None) -> EnhancedStatus | None:
    """Parse an exact code such as "4.7.320"; None for anything else."""
    if not value:
        return None
    match = _STATUS.fullmatch(value.strip())
    if match is None:
        return None
    return EnhancedStatus(int(match.group(1)), int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True, slots=True)
class StatusPattern:
    """One code or a range of details within one class and subject; klass None means 4 or 5."""

    klass: int | None
    subject: int
    low: int
    high: int

    def matches(self, status: EnhancedStatus) -> bool:
        if self.klass is None:
            if status.klass not in (4, 5):
                return False
        elif status.klass != self.klass:
            return False
        return status.subject == self.subject and self.low <= status.detail <= self.high

    @property
    def exact(self) -> bool:
        return self.klass is not None and self.low == self.high

    @property
    def width(self) -> int:
        return (self.high - self.low + 1) * (1 if self.klass is not None else 2)

    def __str__(self) -> str:
        klass = "x" if self.klass is None else str(self.klass)
        detail = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return f"{klass}.{self.subject}.{detail}"


def parse_pattern(value: str) -> StatusPattern:
    """Parse "5.7.606-649" style patterns; ValueError with a short reason otherwise."""
    match = _PATTERN.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an enhanced status code or range like 5.7.606-649")
    klass_text, subject, low, high = match.groups()
    klass = None if klass_text in "xX" else int(klass_text)
    low_n = int(low)
    high_n = int(high) if high is not None else low_n
    if high_n < low_n:
        raise ValueError(f"{value!r}: the range ends before it starts")
    return StatusPattern(klass, int(subject), low_n, high_n)


@dataclass(frozen=True, slots=True)
class DetailMeaning:
    title: str  # the registry's short name, e.g. "Bad destination mailbox address"
    meaning: str  # our own explanation
    reason: str | None = None  # Sisimai reason, when the detail alone decides it


@dataclass(frozen=True, slots=True)
class SubjectMeaning:
    title: str
    meaning: str
    reason: str


@dataclass(frozen=True, slots=True)
class StatusTable:
    """RFC 3463 class, subject and detail meanings (IANA registry, incl. later RFCs)."""

    classes: Mapping[int, str]
    subjects: Mapping[int, SubjectMeaning]
    details: Mapping[tuple[int, int], DetailMeaning]

    @staticmethod
    def build(
        classes: Mapping[int, str],
        subjects: Mapping[int, SubjectMeaning],
        details: Mapping[tuple[int, int], DetailMeaning],
    ) -> StatusTable:
        return StatusTable(
            MappingProxyType(dict(classes)),
            MappingProxyType(dict(subjects)),
            MappingProxyType(dict(details)),
        )

    def describe(self, status: EnhancedStatus) -> StatusDescription:
        klass = self.classes.get(status.klass, "Unknown class")
        subject = self.subjects.get(status.subject)
        detail = self.details.get((status.subject, status.detail))
        subject_title = subject.title if subject else "Unknown subject"
        if detail is not None:
            detail_title, detail_meaning = detail.title, detail.meaning
        elif status.detail == 0 and subject is not None:
            detail_title = (
                "No more specific detail"
                if subject_title.lower().startswith("other")
                else f"Other or undefined {subject_title.lower()} status"
            )
            detail_meaning = "The server gave no more specific detail."
        else:
            detail_title = "Detail not defined by the standards (vendor-specific)"
            detail_meaning = ""
        reason = (detail.reason if detail else None) or (subject.reason if subject else None)
        if status.klass == 2:
            reason = "delivered"
        return StatusDescription(
            status=status,
            class_meaning=klass,
            subject_meaning=subject_title,
            subject_explanation=subject.meaning if subject else "",
            detail_meaning=detail_title,
            detail_explanation=detail_meaning,
            reason=reason or "undefined",
            standard=detail is not None,
        )


@dataclass(frozen=True, slots=True)
class StatusDescription:
    status: EnhancedStatus
    class_meaning: str
    subject_meaning: str
    subject_explanation: str
    detail_meaning: str
    detail_explanation: str
    reason: str
    standard: bool  # the detail is registered (not vendor-specific)

    @property
    def meaning(self) -> str:
        """One line: "Permanent failure; addressing: bad destination mailbox address"."""
        return f"{self.class_meaning}; {self.subject_meaning}: {self.detail_meaning}"
