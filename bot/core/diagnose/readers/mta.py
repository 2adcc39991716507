"""Bounce readers described by data: one config/readers/<mta>.toml per MTA or provider.

Most MTAs differ only in how they are recognised, where their report starts and ends, how a
recipient line looks and which of their sentences mean which reason. That is data; this module is
the one engine that reads it (config/readers/README.md describes every key). An MTA whose format
needs code (Gmail's state numbers, Exchange's NDR subcodes, SES's JSON) subclasses `MtaReader`
and registers under the same name in `registry.HOOKS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from bot.core.diagnose.causes import regex_problem
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.decode.mime import Headers
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.bounce import (
    ADDRESS_ALONE,
    ADDRESS_COLON,
    ANGLE_LINE,
    INDENTED_ADDRESS,
    ORIGINAL_MARKERS,
    Block,
    Layout,
    block_fact,
    failed_recipients,
    known_recipient_blocks,
    original_headers,
    recipient_blocks,
    squeeze,
)
from bot.core.diagnose.readers.common import address_in
from bot.core.models import BOUNCE_REASONS
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml, toml_files

_LAYOUTS = {
    "angle": ANGLE_LINE,
    "address_colon": ADDRESS_COLON,
    "indented": INDENTED_ADDRESS,
    "alone": ADDRESS_ALONE,
}
_HEADER_TESTS = ("subject", "from", "message_id", "received", "content_type", "to", "reply_to")
_MAX_REPORT = 200_000


class ReaderSpecError(ConfigError):
    """config/readers is broken; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Test:
    header: str
    patterns: tuple[re.Pattern[str], ...] = ()  # empty: the header only has to be present


@dataclass(frozen=True, slots=True)
class Table:
    value: str  # a reason or a command
    contains: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()
    aligned: tuple[tuple[str, ...], ...] = ()

    def match(self, text: str, lowered: str) -> bool:
        return (
            any(word in lowered for word in self.contains)
            or any(p.search(text) for p in self.patterns)
            or any(_in_order(lowered, parts) for parts in self.aligned)
        )


def _in_order(text: str, parts: Sequence[str]) -> bool:
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


@dataclass(frozen=True, slots=True)
class MtaSpec:
    name: str
    score: int
    tests: tuple[Test, ...]
    minimum: int
    vetoes: tuple[Test, ...]
    body: tuple[str, ...]
    not_body: tuple[str, ...]
    start: tuple[str, ...]
    end: tuple[str, ...]
    layouts: tuple[Layout, ...]
    whole_report: bool
    messages: tuple[Table, ...]
    commands: tuple[Table, ...]
    cut_diagnostic: tuple[str, ...] = field(default=())
    original_to: bool = False
    delayed: tuple[str, ...] = ()  # texts that make the whole report a delay notice
    # A per-recipient field of the delivery-status part in which this MTA names the bounce
    # category itself, and category -> reason (read by the RFC 3464 reader).
    dsn_field: tuple[str, Mapping[str, str]] | None = None


class HeaderTestIndex:
    """Every header test and veto of a set of specs, numbered. A message's headers are tested
    for all specs at once: one pattern per header name (the union of its tests' patterns) rules
    out most tests with one search, and only the tests of a header whose union matched run."""

    def __init__(self, specs: Sequence[MtaSpec]) -> None:
        self.ids: dict[Test, int] = {}
        groups: dict[str, list[tuple[int, Test]]] = {}
        for spec in specs:
            for test in (*spec.tests, *spec.vetoes):
                if test not in self.ids:
                    self.ids[test] = len(self.ids)
                    groups.setdefault(test.header, []).append((self.ids[test], test))
        # spec name -> the numbers of its tests and of its vetoes
        self.numbers = {
            spec.name: (
                tuple(self.ids[test] for test in spec.tests),
                tuple(self.ids[test] for test in spec.vetoes),
            )
            for spec in specs
        }
        self._groups = tuple((name, _union(tests), tuple(tests)) for name, tests in groups.items())

    def evaluate(self, headers: Headers) -> list[bool]:
        results = [False] * len(self.ids)
        for name, union, tests in self._groups:
            values = headers.values(name)
            if not values:
                continue
            matched = union is not None and any(union.search(value) for value in values)
            for index, test in tests:
                if not test.patterns:
                    results[index] = True
                elif matched:
                    results[index] = any(p.search(v) for v in values for p in test.patterns)
        return results


def _union(tests: Sequence[tuple[int, Test]]) -> re.Pattern[str] | None:
    patterns = [pattern.pattern for _, test in tests for pattern in test.patterns]
    if not patterns:
        return None
    # Every test pattern is compiled with IGNORECASE and has no back-references (see _compile).
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


class HeaderTests:
    """The header tests of the message last looked at, shared by the MTA readers: evaluated
    once per message. The memo is one (headers, results) pair, replaced whole, so readers
    shared between threads never see one message's headers with another's results."""

    def __init__(self, index: HeaderTestIndex) -> None:
        self.index = index
        self._memo: tuple[Headers, list[bool]] | None = None

    def results(self, headers: Headers) -> list[bool]:
        memo = self._memo
        if memo is None or memo[0] is not headers:
            memo = self._memo = (headers, self.index.evaluate(headers))
        return memo[1]


class MtaReader(Reader):
    """The engine for one MtaSpec; `hook` methods let subclasses refine the facts. Keeps no
    state of an input: one instance serves every diagnosis (registry.new_readers)."""

    first_window_only = True

    def __init__(self, spec: MtaSpec, tests: HeaderTests | None = None) -> None:
        self.spec = spec
        self.name = spec.name  # type: ignore[misc]
        self.tests = tests or HeaderTests(HeaderTestIndex((spec,)))
        self._test_ids, self._veto_ids = self.tests.index.numbers[spec.name]

    def detect(self, document: Document) -> int:
        message = document.message
        if message is None:
            return self._pasted_body(document)
        results = self.tests.results(message.headers)
        spec = self.spec
        for index in self._veto_ids:
            if results[index]:
                return 0
        if spec.not_body and any(marker in document.text for marker in spec.not_body):
            return 0
        hits = 0
        for index in self._test_ids:
            hits += results[index]
        if spec.body and any(marker in document.text for marker in spec.body):
            hits += 1
        return spec.score if hits >= spec.minimum and hits > 0 else 0

    def _pasted_body(self, document: Document) -> int:
        """The bounce's text pasted without its headers: the MTA's own sentence must be there,
        and its report must start (a header test cannot count)."""
        text = document.text
        if not self.spec.body or not any(marker in text for marker in self.spec.body):
            return 0
        if self.spec.not_body and any(marker in text for marker in self.spec.not_body):
            return 0
        if self.spec.start and _first(text[:_MAX_REPORT], self.spec.start) < 0:
            return 0
        return self.spec.score

    def parse(self, document: Document) -> list[Fact]:
        segments = self.report(document)
        blocks = self.blocks(document, segments)
        facts = [self.fact(block, document) for block in blocks]
        return [fact for fact in facts if fact.recipient]

    # -- steps subclasses may refine -------------------------------------------------------

    def report(self, document: Document) -> list[Segment]:
        """The report's text: each text segment from its start marker to the original."""
        out: list[Segment] = []
        for segment in document.segments:
            part = segment.part
            if part is not None and part.content_type.endswith(
                ("delivery-status", "feedback-report")
            ):
                continue
            text = segment.text[:_MAX_REPORT]
            begin = 0
            if self.spec.start:
                found = _first(text, self.spec.start)
                if found < 0:
                    continue
                begin = text.find("\n", found)
                begin = len(text) if begin < 0 else begin + 1
                if self.spec.whole_report:
                    begin = text.rfind("\n", 0, found) + 1
            end = _first(text, self.spec.end, begin) if self.spec.end else -1
            generic = ORIGINAL_MARKERS.search(text, begin)
            stops = [x for x in (end, generic.start() if generic else -1) if x >= 0]
            stop = min(stops) if stops else len(text)
            if self.spec.end and end >= 0:
                stop = end
            out.append(Segment(text[begin:stop], segment.line(begin), segment.exact, part))
        return out

    def blocks(self, document: Document, segments: Sequence[Segment]) -> list[Block]:
        for layout in self.spec.layouts:
            found = [
                b for b in recipient_blocks(segments, layout) if b.lines or self.spec.whole_report
            ]
            if found:
                if self.spec.whole_report:
                    return [_whole(block, segments) for block in found]
                return found
        message = document.message
        known = failed_recipients(message.headers) if message is not None else []
        if not known and self.spec.original_to:
            to = address_in(original_headers(document).get("to"))
            known = [to] if to else []
        if known:
            if not (self.spec.whole_report or self.spec.original_to):
                named = known_recipient_blocks(segments, known)
                if named:
                    return named
            # The report does not name them (Exim's "save to ..." for a local delivery): the
            # whole report is about each recipient the headers list.
            return [_whole(Block(r, (), 0, 0), segments) for r in known]
        return []

    def fact(self, block: Block, document: Document) -> Fact:
        fact = block_fact(block, self.name)
        text = fact.diagnostic
        for marker in self.spec.cut_diagnostic:
            position = text.find(marker)
            if position >= 0:
                text = text[position + len(marker) :].strip()
        lowered = text.lower()
        changes: dict[str, object] = {"diagnostic": text} if text != fact.diagnostic else {}
        if self.spec.delayed and any(m in document.text[:_MAX_REPORT] for m in self.spec.delayed):
            changes["action"] = "delayed"  # still being retried: a warning, not a failure
        for table in self.spec.messages:
            if table.match(text, lowered):
                changes["reason"] = table.value
                break
        for table in self.spec.commands:
            if table.match(text, lowered):
                changes["command"] = table.value
                break
        return fact.with_(**changes) if changes else fact


def _whole(block: Block, segments: Sequence[Segment]) -> Block:
    lines = tuple(line for segment in segments for line in segment.text.split("\n"))
    first = segments[0].first_line if segments else block.first_line
    end = segments[-1].first_line + segments[-1].text.count("\n") if segments else first
    # The whole report is this recipient's diagnostic, so its lines are the fact's lines too.
    return Block(block.recipient, lines, block.first_line or first, max(block.last_line, end))


def _first(text: str, markers: Sequence[str], start: int = 0) -> int:
    found = [text.find(marker, start) for marker in markers]
    hits = [position for position in found if position >= 0]
    return min(hits) if hits else -1


# ------------------------------------------------------------------------------------------
# Loading


def load_specs(directory: Path | None = None) -> tuple[MtaSpec, ...]:
    if directory is None:
        return _default()
    return _load(directory)


@cache
def _default() -> tuple[MtaSpec, ...]:
    return _load(config_dir() / "readers")


def _load(directory: Path) -> tuple[MtaSpec, ...]:
    specs = []
    for path in toml_files(directory, ReaderSpecError):
        entry = Entry(load_toml(path, ReaderSpecError), f"readers/{path.name}", ReaderSpecError)
        specs.append(_spec(entry))
        entry.done()
    names = [spec.name for spec in specs]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ReaderSpecError(f"config/readers: reader names used twice: {sorted(duplicates)}")
    return tuple(specs)


def _spec(entry: Entry) -> MtaSpec:
    name = entry.string("name")
    entry.string("description")
    detect = entry.table("detect")
    tests = tuple(_header_tests(detect))
    vetoes = tuple(_header_tests(detect, prefix="not_"))
    minimum = detect.integer("min", 1)
    body = detect.strings("body", ())
    not_body = detect.strings("not_body", ())
    detect.done()
    report = entry.table("report", {})
    block_end = report.strings("block_end", ())
    blank_ends_block = report.boolean("blank_ends_block", True)
    ends = re.compile("|".join(re.escape(marker) for marker in block_end)) if block_end else None
    layouts = tuple(
        _layout(report, value, ends, blank_ends_block)
        for value in report.strings("recipient", ("angle",))
    )
    spec = MtaSpec(
        name=name,
        score=entry.integer("score", 30),
        tests=tests,
        minimum=minimum,
        vetoes=vetoes,
        body=body,
        not_body=not_body,
        start=report.strings("start", ()),
        end=report.strings("end", ()),
        layouts=layouts,
        whole_report=report.boolean("whole_report", False),
        messages=tuple(_table(item, "reason") for item in entry.tables("message")),
        commands=tuple(_table(item, "command") for item in entry.tables("command")),
        cut_diagnostic=report.strings("cut_diagnostic", ()),
        original_to=report.boolean("original_to", False),
        delayed=report.strings("delayed", ()),
        dsn_field=_dsn_field(entry),
    )
    report.done()
    return spec


def _dsn_field(entry: Entry) -> tuple[str, Mapping[str, str]] | None:
    if not entry.has("dsn_field"):
        return None
    table = entry.table("dsn_field")
    name = table.string("name").strip().lower()
    reasons = table.mapping("reasons", lambda category, reason: (category, reason))
    mapping: dict[str, str] = {}
    for category, reason in reasons.values():
        if not isinstance(reason, str) or reason not in BOUNCE_REASONS:
            raise table.fail(f"reasons.{category}: {reason!r} is not a bounce reason")
        mapping[category.strip().lower()] = reason
    table.done()
    if not name.startswith("x-") or not mapping:
        raise table.fail("needs an X- field name and at least one category")
    return name, MappingProxyType(mapping)


@cache
def dsn_field_reasons() -> Mapping[str, Mapping[str, str]]:
    """Field name (lower case) -> category -> reason, over every shipped reader."""
    return {spec.dsn_field[0]: spec.dsn_field[1] for spec in load_specs() if spec.dsn_field}


def _header_tests(detect: Entry, prefix: str = "") -> list[Test]:
    tests = []
    for key in _HEADER_TESTS:
        if detect.has(prefix + key):
            header = key.replace("_", "-")
            tests.append(Test(header, _patterns(detect, prefix + key)))
    if detect.has(prefix + "headers"):
        tests.extend(Test(name.lower()) for name in detect.strings(prefix + "headers"))
    for name, patterns in detect.mapping(prefix + "header", lambda n, v: (n, v)).values():
        values = [patterns] if isinstance(patterns, str) else patterns
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise detect.fail(f"{prefix}header.{name} must be a list of patterns")
        tests.append(Test(name.lower(), tuple(_compile(detect, v) for v in values)))
    return tests


def _patterns(entry: Entry, key: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile(entry, value) for value in entry.strings(key))


def _compile(entry: Entry, pattern: str) -> re.Pattern[str]:
    problem = regex_problem(pattern)
    if problem is not None:
        raise entry.fail(f"pattern {pattern!r}: {problem}")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise entry.fail(f"pattern {pattern!r} does not compile: {exc}") from None


def _layout(
    entry: Entry, value: str, ends: re.Pattern[str] | None, blank_ends_block: bool
) -> Layout:
    if value in _LAYOUTS:
        pattern = _LAYOUTS[value].recipient
    else:
        pattern = _compile(entry, value)
        if "address" not in pattern.groupindex:
            raise entry.fail(f"recipient pattern {value!r} needs a group (?P<address>...)")
    return Layout(pattern, ends, blank_ends_block)


def _table(entry: Entry, key: str) -> Table:
    value = entry.string(key)
    if key == "reason" and value not in BOUNCE_REASONS:
        raise entry.fail(f"unknown reason {value!r}")
    aligned = entry.raw("aligned", [])
    if not isinstance(aligned, list) or not all(
        isinstance(parts, list) and parts and all(isinstance(p, str) and p for p in parts)
        for parts in aligned
    ):
        raise entry.fail("aligned must be a list of lists of strings")
    result = Table(
        value.upper() if key == "command" else value,
        tuple(word.lower() for word in entry.strings("contains", ())),
        tuple(_compile(entry, pattern) for pattern in entry.strings("pattern", ())),
        tuple(tuple(p.lower() for p in parts) for parts in aligned),
    )
    entry.done()
    if not (result.contains or result.patterns or result.aligned):
        raise entry.fail("needs contains, pattern or aligned")
    return result


def squeeze_text(text: str) -> str:
    return squeeze(text)


def address(text: str) -> str | None:
    return address_in(text)
