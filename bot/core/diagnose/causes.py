"""Cause rules (config/causes/*.toml): which cause an enriched, classified fact points at.

A cause rule names a finding (id, severity, summary, explanation) and the conditions under which a
fact is evidence of it: codes, words, the classified reason, the provider, the reader, the kind of
fact, the facts it must carry, a named check. Rules are tried most specific first; the first that
holds decides the fact's cause, and facts with the same cause and the same key facts become one
finding (see bot.core.diagnose.findings). Remedies live apart, in playbooks, per cause.

    [[cause]]
    id = "exo.tls.subject_mismatch"      # stable, dotted; (id, variant) unique
    variant = "with_name"                # optional: alternative texts for the same id
    severity = "error"                   # error | warning | info
    severity_by_class = {"4" = "warning"}
    summary = "{remote_host|The server} ..."   # {field} or {field|fallback}
    explanation = "..."
    probe = ["remote_host"]              # facts naming a host worth probing live
    group_by = ["remote_host", "message"]
    priority = 0                         # added to the computed specificity
    [cause.when]                         # every condition given must hold
    status = ["4.7.320", "5.7.606-649", "x.7.321"]
    reply_code = ["450"]
    text = ["SubjectMismatch"]           # case-insensitive simple regexes, any of
    not_text = ["..."]
    reason = ["failedstarttls"]          # the classified reason, any of
    provider = ["microsoft"]
    kind = ["delivery"]                  # FactKind values
    source = ["message_trace"]           # reader names
    requires = ["remote_host"]
    check = "self_signed"                # a named check (see KNOWN_CHECKS)
    exchange = true                      # the fact comes from Exchange (on-premises or Online):
                                         # its readers, or a Microsoft server answered
    field = {issuer = "barracuda"}       # regex on one fact's value
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypedDict

from bot.core.diagnose.fact import FactKind
from bot.core.diagnose.meanings import load_meanings
from bot.core.enhanced_status import EnhancedStatus, StatusPattern, StatusTable, parse_pattern
from bot.core.models import BOUNCE_REASONS, Severity
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml, template_problem, toml_files

# Facts a template or condition may name: the canonical fact fields plus what findings derive.
FACT_FIELDS = frozenset(
    {
        "sender", "recipient", "action", "remote_host", "ip", "reporting_mta", "server",
        "connector", "fqdn", "command", "timestamp", "subject", "issuer", "thumbprint", "sans",
        "not_before", "not_after", "self_signed", "serial", "message", "led", "session",
        "remote_ip", "local_ip", "tls_domain", "capabilities", "direction", "queue", "domain",
        "text", "tls_error", "remote_ehlo", "log_type", "exchange_online", "first_seen",
        "last_seen", "next_hop_domain", "chain_status", "original_recipient", "message_id",
        "message_subject", "event_id", "source_name", "source_context", "provider", "diagnostic",
        "queue_id", "program",
        "inner_status",
        "last_attempted_server_name", "connector_id", "count", "local_port", "remote_port",
        "config_rule", "connector_kind", "servers", "configured", "expected", "property",
        "tls_sender_certificate_name", "expected_thumbprint",
        "source_server", "pieces", "joined", "names", "sending_ip", "trace_status",
        "queue_status", "message_count",
        # TLS-RPT reports (bot.core.diagnose.readers.tlsrpt)
        "result_type", "reported_result", "policy_type", "policy_domain", "successful_sessions",
        "failed_sessions", "detail_failed_sessions", "sending_mta_ip", "receiving_mx_helo",
        "additional_information", "failure_reason_code", "organization", "report_id",
        "date_range", "mx_patterns", "tlsrpt_error",
    }
)  # fmt: skip
DERIVED_FIELDS = frozenset(
    {
        "status", "reply_code", "reason", "occurrences", "last_timestamp", "expected_name",
        "tls_certificate_name", "common_name", "meaning", "class_meaning", "subject_meaning",
        "detail_meaning", "detail_explanation", "subject_explanation", "recipient_domain",
        "sender_domain", "x500_address", "mailbox", "reason_meaning",
        "unix_mta",  # postfix, exim, ...: the user's side runs that MTA (findings._unix_mta)
        "outside_exchange",  # the recipient's mailbox is no Exchange organisation's own
    }
)  # fmt: skip
KNOWN_FIELDS = FACT_FIELDS | DERIVED_FIELDS
KNOWN_CHECKS = frozenset(
    {"self_signed", "expired", "name_not_covered", "capability_missing", "any_status", "overflow"}
)
READER_NAMES = frozenset(
    {
        "rfc3464", "bounce", "message_trace", "exchange_ndr", "queue", "protocol_log",
        "postfix_log", "exim_log", "text", "ehlo", "postfix", "exim", "sendmail", "qmail",
        "courier", "gmail", "googlegroups", "outlook", "yahoo", "amazonses", "sendgrid",
        "mimecast", "barracuda", "proofpoint", "tracking_log", "event_log", "arf", "rfc3834",
        "message_trace_csv", "notes", "exchange2003", "mta_log", "exchange_config", "tlsrpt",
        "webhooks", "qmail_log", "postfix_queue",
    }
)  # fmt: skip
_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
# Readers of Exchange's own texts: a fact from one of them is about Exchange.
EXCHANGE_SOURCES = frozenset(
    {
        "exchange_ndr", "message_trace", "queue", "tracking_log", "event_log", "protocol_log",
        "exchange2003", "exchange2007", "office365", "outlook",
    }
)  # fmt: skip
_MAX_PATTERN = 300
_MAX_TEMPLATE = 4000
_DEFAULT_GROUP_BY = (
    "remote_host", "server", "connector", "thumbprint", "subject", "issuer", "message",
    "recipient",
)  # fmt: skip
_CAUSE_KEYS_OPTIONAL = ("variant", "severity_by_class", "probe", "group_by", "priority")


class CauseError(ConfigError):
    """config/causes is broken; the message names the file, the cause and the key."""


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    severity: Severity
    summary: str
    explanation: str
    variant: str = ""
    severity_by_class: dict[int, Severity] = field(default_factory=dict)
    probe: tuple[str, ...] = ()
    group_by: tuple[str, ...] = _DEFAULT_GROUP_BY
    priority: int = 0
    statuses: tuple[StatusPattern, ...] = ()
    reply_codes: frozenset[str] = frozenset()
    text: re.Pattern[str] | None = None
    not_text: re.Pattern[str] | None = None
    reasons: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    kinds: frozenset[FactKind] = frozenset()
    sources: frozenset[str] = frozenset()
    requires: tuple[str, ...] = ()
    check: str | None = None
    field_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    exchange: bool = False
    origin: str = ""

    @property
    def specificity(self) -> int:
        """Higher wins: words beat checks beat exact codes beat ranges beat kinds."""
        score = self.priority
        if self.text is not None:
            score += 1000
        if self.check is not None or self.field_patterns:
            score += 500
        if self.statuses:
            if all(p.exact for p in self.statuses):
                score += 300
            else:
                score += 200 - min(max(p.width for p in self.statuses), 100)
        if self.reply_codes:
            score += 50
        score += 40 * bool(self.reasons) + 20 * bool(self.providers) + 20 * self.exchange
        score += 10 * len(self.requires) + 5 * bool(self.kinds) + 5 * bool(self.sources)
        return score

    def matches_status(self, status: EnhancedStatus | None) -> bool:
        if not self.statuses:
            return True
        return status is not None and any(p.matches(status) for p in self.statuses)

    def severity_for(
        self, status: EnhancedStatus | None, *, delayed: bool = False, reply_code: str | None = None
    ) -> Severity:
        """The severity for this code (a class-4 code or a delayed delivery counts as class 4;
        without an enhanced code, the reply code's first digit is the class)."""
        klass = status.klass if status is not None else (4 if delayed else None)
        if klass is None and reply_code and reply_code[:1] in "245":
            klass = int(reply_code[0])
        if klass is not None and klass in self.severity_by_class:
            return self.severity_by_class[klass]
        return self.severity


@dataclass(frozen=True)
class CauseBook:
    causes: tuple[Cause, ...]  # most specific first
    meanings: StatusTable
    _by_status: dict[EnhancedStatus | None, tuple[Cause, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cause.id for cause in self.causes))

    @property
    def pattern_fields(self) -> tuple[str, ...]:
        """Facts whose values some cause tests with a regex (`when.field`)."""
        return tuple(sorted({name for c in self.causes for name, _ in c.field_patterns}))

    def cause(self, cause_id: str, variant: str = "") -> Cause:
        for cause in self.causes:
            if cause.id == cause_id and cause.variant == variant:
                return cause
        raise KeyError(cause_id)

    def candidates(self, status: EnhancedStatus | None) -> tuple[Cause, ...]:
        found = self._by_status.get(status)
        if found is None:
            found = tuple(cause for cause in self.causes if cause.matches_status(status))
            if len(self._by_status) > 4096:
                self._by_status.clear()
            self._by_status[status] = found
        return found


def load_causes(directory: Path | None = None, meanings: StatusTable | None = None) -> CauseBook:
    if directory is None and meanings is None:
        return _default_causes()
    return _load(directory or config_dir() / "causes", meanings or load_meanings())


@cache
def _default_causes() -> CauseBook:
    return _load(config_dir() / "causes", load_meanings())


def _load(directory: Path, meanings: StatusTable) -> CauseBook:
    causes: list[Cause] = []
    for path in toml_files(directory, CauseError):
        document = Entry(load_toml(path, CauseError), path.name, CauseError)
        for index, entry in enumerate(document.tables("cause"), 1):
            causes.append(_cause(path.name, index, entry))
        document.done()
    _check_unique(causes)
    ordered = sorted(enumerate(causes), key=lambda pair: (-pair[1].specificity, pair[0]))
    return CauseBook(tuple(cause for _, cause in ordered), meanings)


def _check_unique(causes: Sequence[Cause]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for cause in causes:
        key = (cause.id, cause.variant)
        if key in seen:
            raise CauseError(f"{seen[key]} and {cause.origin}: cause {cause.id!r} twice")
        seen[key] = cause.origin


def _cause(origin: str, index: int, entry: Entry) -> Cause:
    name = entry.raw("id", "")
    if isinstance(name, str) and name:
        entry.where = f"{origin}: cause {name!r}"
    cause_id = entry.string("id")
    if not _ID.fullmatch(cause_id):
        raise entry.fail("id must be dotted lower-case words, e.g. exo.tls.subject_mismatch")
    severity = _severity(entry, entry.string("severity"))
    result = Cause(
        id=cause_id,
        variant=entry.string("variant", ""),
        severity=severity,
        severity_by_class=_severity_by_class(entry),
        summary=_template(entry, "summary"),
        explanation=_template(entry, "explanation"),
        probe=_names(entry, "probe", ()),
        group_by=_names(entry, "group_by", _DEFAULT_GROUP_BY),
        priority=entry.integer("priority", 0),
        origin=origin,
        **_conditions(entry.table("when")),
    )
    entry.done()
    return result


class _Conditions(TypedDict):
    statuses: tuple[StatusPattern, ...]
    reply_codes: frozenset[str]
    text: re.Pattern[str] | None
    not_text: re.Pattern[str] | None
    reasons: frozenset[str]
    providers: frozenset[str]
    kinds: frozenset[FactKind]
    sources: frozenset[str]
    requires: tuple[str, ...]
    check: str | None
    field_patterns: tuple[tuple[str, re.Pattern[str]], ...]
    exchange: bool


def _conditions(entry: Entry) -> _Conditions:
    statuses = tuple(_pattern(entry, value) for value in entry.strings("status", ()))
    reply_codes = frozenset(entry.strings("reply_code", ()))
    for code in reply_codes:
        if not re.fullmatch(r"[2-5]\d\d", code):
            raise entry.fail(f"reply_code {code!r} is not a three-digit SMTP reply code")
    kinds = frozenset(FactKind(v) for v in entry.choices("kind", [k.value for k in FactKind], ()))
    sources = frozenset(entry.choices("source", READER_NAMES, ()))
    reasons = frozenset(entry.choices("reason", BOUNCE_REASONS, ()))
    providers = frozenset(entry.strings("provider", ()))
    requires = _names(entry, "requires", ())
    check = entry.string("check", "") or None
    if check is not None and check not in KNOWN_CHECKS:
        raise entry.fail(f"unknown check {check!r}; known: {sorted(KNOWN_CHECKS)}")
    patterns = entry.mapping("field", lambda name, value: (name, value))
    field_patterns: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in patterns.values():
        if name not in KNOWN_FIELDS:
            raise entry.fail(f"field names unknown fact {name!r}")
        field_patterns.append((name, _regex(entry, [pattern], f"field.{name}")))
    text_patterns = entry.strings("text", ())
    text = _regex(entry, text_patterns, "text") if text_patterns else None
    not_text_patterns = entry.strings("not_text", ())
    not_text = _regex(entry, not_text_patterns, "not_text") if not_text_patterns else None
    exchange = entry.boolean("exchange", False)
    entry.done()
    if not (statuses or reply_codes or text or kinds or check or field_patterns or reasons):
        raise entry.fail(
            "needs at least one of status, reply_code, text, kind, check, field, reason"
        )
    return {
        "statuses": statuses,
        "reply_codes": reply_codes,
        "text": text,
        "not_text": not_text,
        "reasons": reasons,
        "providers": providers,
        "kinds": kinds,
        "sources": sources,
        "requires": requires,
        "check": check,
        "field_patterns": tuple(field_patterns),
        "exchange": exchange,
    }


def _pattern(entry: Entry, value: str) -> StatusPattern:
    try:
        return parse_pattern(value)
    except ValueError as exc:
        raise entry.fail(str(exc)) from None


def _severity(entry: Entry, value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise entry.fail(f"severity {value!r} is not error, warning or info") from None


def _severity_by_class(entry: Entry) -> dict[int, Severity]:
    raw = entry.mapping("severity_by_class", lambda klass, value: (klass, value))
    result: dict[int, Severity] = {}
    for klass, value in raw.values():
        if klass not in ("2", "4", "5") or not isinstance(value, str):
            raise entry.fail('severity_by_class maps "2", "4", "5" to a severity')
        result[int(klass)] = _severity(entry, value)
    return result


def _names(entry: Entry, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    names = entry.strings(key, default)
    unknown = [name for name in names if name not in KNOWN_FIELDS]
    if unknown:
        raise entry.fail(f"{key} names unknown facts {unknown}")
    return names


def _template(entry: Entry, key: str) -> str:
    value = entry.string(key)
    if len(value) > _MAX_TEMPLATE:
        raise entry.fail(f"{key} is too long")
    problem = template_problem(value, KNOWN_FIELDS)
    if problem:
        raise entry.fail(f"{key} {problem}")
    return value


def _regex(entry: Entry, patterns: Sequence[str], what: str) -> re.Pattern[str]:
    for pattern in patterns:
        problem = regex_problem(pattern)
        if problem is not None:
            raise entry.fail(f"{what} pattern {pattern!r}: {problem}")
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error:
        pass
    # Only a file with an error pays for compiling each pattern on its own, to name it.
    for pattern in patterns:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise entry.fail(f"{what} pattern {pattern!r} does not compile: {exc}") from None
    raise entry.fail(f"{what} patterns do not compile together")


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not allowed, or None.

    Allowed: literals, classes, anchors, alternation, quantifiers on single atoms, and plain or
    non-capturing groups that are not repeated by * + or {n,m}. That excludes nested quantifiers
    such as (a+)+ and repeated alternations such as (a|aa)*, the shapes that make backtracking
    catastrophic; back-references and look-arounds are refused as well.
    """
    if len(pattern) > _MAX_PATTERN:
        return f"longer than {_MAX_PATTERN} characters"
    depth = 0
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if (nxt.isdigit() and nxt != "0") or nxt in ("g", "k"):
                return "back-references are not allowed"
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
            i += 1
            continue
        if ch == "[":
            in_class = True
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1
            continue
        if ch == "(":
            if pattern.startswith("(?", i) and not pattern.startswith(("(?:", "(?P<"), i):
                return "only plain (...), (?:...) and (?P<name>...) groups are allowed"
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "unbalanced parentheses"
            if pattern[i + 1 : i + 2] in ("*", "+", "{"):
                return "a group must not be repeated (nested quantifier)"
        i += 1
    if depth != 0:
        return "unbalanced parentheses"
    return None
