"""Load and validate the diagnosis knowledge base (config/knowledge/*.toml).

A rule file holds `[[rule]]` tables; rfc3463.toml holds the `[enhanced_status]` meanings. Every
problem found at load time raises KnowledgeError naming the file and the rule, so a broken
knowledge base never reaches a user as a traceback in the middle of a diagnosis.

Rule shape (all keys checked; unknown keys are errors):

    [[rule]]
    id = "exo.tls.subject_mismatch"      # stable, dotted; (id, variant) unique
    variant = "with_fqdn"                # optional: alternative texts for the same finding id
    severity = "error"                   # error | warning | info
    severity_by_class = {"4" = "warning"}  # optional override by the status class
    reason = "failedstarttls"            # a Sisimai reason, or "status" (from the RFC 3463 table)
    summary = "{fqdn|The server} ..."    # plain text; {field} or {field|fallback text}
    explanation = "..."
    probe = ["fqdn", "server"]           # fields naming a host worth probing live
    group_by = ["fqdn", "message"]       # facts that make two events the same finding
    priority = 0                         # tie-breaker added to the computed specificity
    [rule.match]                         # all given criteria must hold
    status = ["4.7.320", "5.7.606-649", "x.7.321"]   # any of; x = class 4 or 5
    reply_code = ["450"]                 # any of
    text = ["SubjectMismatch"]           # any of; case-insensitive, simple regexes
    not_text = ["..."]                   # none of
    kind = ["smtp_error"]                # EventKind values; source = InputKind values
    requires = ["fqdn"]                  # fields that must be present
    check = "self_signed"                # a named check implemented in bot.core.diagnose
    field = {issuer = "barracuda"}       # regex on one field's value
    [[rule.fix]]
    title = "..."
    powershell = "Set-X -Identity {{connector}}"   # values quoted by bot.core.powershell
    optional = true                      # drop the fix when a placeholder has no value
    unless = ["thumbprint"]              # drop the fix when these fields are known
    requires = ["x500_address"]          # drop the fix unless these fields are known;
                                         # other missing values show as '<hint>' literals
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from bot.core import powershell
from bot.core.enhanced_status import (
    DetailMeaning,
    EnhancedStatus,
    StatusPattern,
    StatusTable,
    SubjectMeaning,
    parse_pattern,
)
from bot.core.models import BOUNCE_REASONS, Severity
from bot.core.paths import ConfigError, config_dir
from bot.core.traces.events import EventKind, InputKind

# Field names a template may use: facts from MailEvent.fields plus what the engine derives.
EVENT_FIELDS = frozenset(
    {
        "fqdn", "ip", "server", "connector", "session", "thumbprint", "subject", "issuer", "sans",
        "recipient", "sender", "timestamp", "message", "led", "count", "remote_ip", "local_ip",
        "tls_domain", "capabilities", "serial", "direction", "queue", "domain", "text",
        "tls_error", "remote_ehlo", "not_before", "not_after", "log_type", "exchange_online",
        "first_seen", "last_seen", "next_hop_domain", "self_signed", "chain_status",
    }
)  # fmt: skip
DERIVED_FIELDS = frozenset(
    {
        "status", "reply_code", "occurrences", "last_timestamp", "expected_name",
        "tls_certificate_name", "common_name", "meaning", "class_meaning", "subject_meaning",
        "detail_meaning", "detail_explanation", "subject_explanation", "recipient_domain",
        "sender_domain", "x500_address", "mailbox",
    }
)  # fmt: skip
KNOWN_FIELDS = EVENT_FIELDS | DERIVED_FIELDS
KNOWN_CHECKS = frozenset(
    {"self_signed", "expired", "name_not_covered", "capability_missing", "any_status", "overflow"}
)
REASON_FROM_STATUS = "status"

_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_TEXT_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\|([^{}]*))?\}")
_MAX_PATTERN = 300
_MAX_TEMPLATE = 4000
DEFAULT_DIRECTORY = config_dir() / "knowledge"

_RULE_KEYS = frozenset(
    {
        "id", "variant", "severity", "severity_by_class", "reason", "summary", "explanation",
        "probe", "group_by", "priority", "match", "fix",
    }
)  # fmt: skip
_MATCH_KEYS = frozenset(
    {"status", "reply_code", "text", "not_text", "kind", "source", "requires", "check", "field"}
)
_FIX_KEYS = frozenset({"title", "powershell", "optional", "unless", "requires"})
_DEFAULT_GROUP_BY = (
    "fqdn", "server", "connector", "thumbprint", "subject", "issuer", "message", "recipient",
)  # fmt: skip


class KnowledgeError(ConfigError):
    """The knowledge base is broken; the message names the file and the rule."""


class _Invalid(ValueError):
    """One value in a rule is wrong; _rule() turns it into a KnowledgeError naming the rule."""


@dataclass(frozen=True, slots=True)
class FixTemplate:
    title: str
    powershell: str | None = None
    optional: bool = False  # drop the fix when any placeholder has no value
    unless: tuple[str, ...] = ()  # drop the fix when any of these fields is known
    requires: tuple[str, ...] = ()  # drop the fix unless all of these fields are known


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    reason: str  # a Sisimai reason or REASON_FROM_STATUS
    summary: str
    explanation: str
    variant: str = ""
    severity_by_class: Mapping[int, Severity] = field(default_factory=dict)
    probe: tuple[str, ...] = ()
    group_by: tuple[str, ...] = _DEFAULT_GROUP_BY
    priority: int = 0
    statuses: tuple[StatusPattern, ...] = ()
    reply_codes: frozenset[str] = frozenset()
    text: re.Pattern[str] | None = None
    not_text: re.Pattern[str] | None = None
    kinds: frozenset[EventKind] = frozenset()
    sources: frozenset[InputKind] = frozenset()
    requires: tuple[str, ...] = ()
    check: str | None = None
    field_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    fixes: tuple[FixTemplate, ...] = ()
    origin: str = ""  # file name, for messages

    @property
    def specificity(self) -> int:
        """Higher wins: text beats logic checks beats exact codes beats ranges beats kinds."""
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
        score += 10 * len(self.requires) + 5 * bool(self.kinds) + 5 * bool(self.sources)
        return score

    def matches_status(self, status: EnhancedStatus | None) -> bool:
        if not self.statuses:
            return True
        return status is not None and any(p.matches(status) for p in self.statuses)

    def severity_for(self, status: EnhancedStatus | None) -> Severity:
        if status is not None and status.klass in self.severity_by_class:
            return self.severity_by_class[status.klass]
        return self.severity


@dataclass(frozen=True)
class Knowledge:
    rules: tuple[Rule, ...]  # in precedence order: most specific first
    status_table: StatusTable
    directory: str = ""
    _by_status: dict[EnhancedStatus | None, tuple[Rule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _by_event: dict[tuple[object, ...], Candidates] = field(
        default_factory=dict, compare=False, repr=False
    )

    def rule(self, rule_id: str, variant: str = "") -> Rule:
        for rule in self.rules:
            if rule.id == rule_id and rule.variant == variant:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.id for rule in self.rules))

    def candidates(self, status: EnhancedStatus | None) -> tuple[Rule, ...]:
        """Rules whose status criterion admits `status`, in precedence order (memoised)."""
        found = self._by_status.get(status)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.matches_status(status))
            if len(self._by_status) > 4096:
                self._by_status.clear()
            self._by_status[status] = found
        return found

    def candidates_for(
        self, status: EnhancedStatus | None, kind: EventKind, source: InputKind
    ) -> Candidates:
        """Rules that can apply to an event of this status, kind and source (memoised).

        `prefilter`, when set, is the union of the rules' text patterns: every candidate needs
        text, so text that matches none of them cannot match any rule.
        """
        key = (status, kind, source)
        found = self._by_event.get(key)
        if found is None:
            rules = tuple(
                rule
                for rule in self.candidates(status)
                if (not rule.kinds or kind in rule.kinds)
                and (not rule.sources or source in rule.sources)
                and not (rule.check == "any_status" and status is None)
                and rule.check != "overflow"
            )
            prefilter = None
            if rules and all(rule.text is not None for rule in rules):
                prefilter = re.compile(
                    "|".join(f"(?:{rule.text.pattern})" for rule in rules if rule.text),
                    re.IGNORECASE,
                )
            found = Candidates(
                rules,
                prefilter,
                value_dependent=any(rule.field_patterns for rule in rules),
                presence_dependent=any(rule.requires for rule in rules),
            )
            if len(self._by_event) > 4096:
                self._by_event.clear()
            self._by_event[key] = found
        return found


@dataclass(frozen=True, slots=True)
class Candidates:
    rules: tuple[Rule, ...]
    prefilter: re.Pattern[str] | None
    value_dependent: bool  # some rule tests a field's value (match.field)
    presence_dependent: bool  # some rule needs fields to be non-empty (match.requires)


# ------------------------------------------------------------------------------------------
# Loading


def load_knowledge(directory: Path | None = None) -> Knowledge:
    """Load every *.toml of `directory` (default: the repository's config/knowledge)."""
    if directory is None:
        return _default_knowledge()
    return _load(Path(directory))


@cache
def _default_knowledge() -> Knowledge:
    return _load(DEFAULT_DIRECTORY)


def _load(directory: Path) -> Knowledge:
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: knowledge directory not found")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise KnowledgeError(f"{directory}: no *.toml knowledge files")
    rules: list[Rule] = []
    table: StatusTable | None = None
    for path in files:
        document = _read(path)
        unknown = set(document) - {"rule", "enhanced_status"}
        if unknown:
            raise KnowledgeError(f"{path.name}: unknown top-level keys {sorted(unknown)}")
        if "enhanced_status" in document:
            if table is not None:
                raise KnowledgeError(f"{path.name}: enhanced_status defined twice")
            table = _status_table(path.name, document["enhanced_status"])
        raw_rules = document.get("rule", [])
        if not isinstance(raw_rules, list):
            raise KnowledgeError(f"{path.name}: `rule` must be an array of tables ([[rule]])")
        rules.extend(_rule(path.name, index, raw) for index, raw in enumerate(raw_rules))
    if table is None:
        raise KnowledgeError(f"{directory}: no file defines [enhanced_status]")
    _check_unique(rules)
    ordered = sorted(enumerate(rules), key=lambda pair: (-pair[1].specificity, pair[0]))
    return Knowledge(tuple(rule for _, rule in ordered), table, str(directory))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot read: {exc.strerror}") from None


def _check_unique(rules: Sequence[Rule]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for rule in rules:
        key = (rule.id, rule.variant)
        if key in seen:
            where = f"{seen[key]} and {rule.origin}"
            raise KnowledgeError(f"{where}: rule {rule.id!r} (variant {rule.variant!r}) twice")
        seen[key] = rule.origin


# ------------------------------------------------------------------------------------------
# Rules


def _rule(origin: str, index: int, raw: object) -> Rule:
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{origin}: rule #{index + 1} is not a table")
    name = raw.get("id")
    where = f"{origin}: rule {name!r}" if isinstance(name, str) else f"{origin}: rule #{index + 1}"
    try:
        return _build_rule(origin, raw)
    except (KnowledgeError, ValueError, TypeError) as exc:
        raise KnowledgeError(f"{where}: {exc}") from None


def _build_rule(origin: str, raw: dict[str, Any]) -> Rule:
    _no_unknown(raw, _RULE_KEYS, "rule")
    rule_id = _string(raw, "id")
    if not _ID.fullmatch(rule_id):
        raise _Invalid("id must be dotted lower-case words, e.g. exo.tls.subject_mismatch")
    severity = _severity(_string(raw, "severity"))
    reason = _string(raw, "reason")
    if reason not in BOUNCE_REASONS and reason != REASON_FROM_STATUS:
        raise _Invalid(f"unknown reason {reason!r} (use a Sisimai reason)")
    summary = _template(_string(raw, "summary"), "summary")
    explanation = _template(_string(raw, "explanation"), "explanation")
    probe = _names(raw.get("probe", []), "probe")
    group_by = _names(raw.get("group_by", list(_DEFAULT_GROUP_BY)), "group_by")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _Invalid("priority must be an integer")
    match = raw.get("match")
    if not isinstance(match, dict) or not match:
        raise _Invalid("needs a non-empty [rule.match] table")
    fixes = raw.get("fix", [])
    if not isinstance(fixes, list):
        raise _Invalid("fix must be an array of tables ([[rule.fix]])")
    return Rule(
        id=rule_id,
        variant=_optional_string(raw, "variant"),
        severity=severity,
        severity_by_class=_severity_by_class(raw.get("severity_by_class", {})),
        reason=reason,
        summary=summary,
        explanation=explanation,
        probe=probe,
        group_by=group_by,
        priority=priority,
        fixes=tuple(_fix(item) for item in fixes),
        origin=origin,
        **_match(match),
    )


def _match(raw: dict[str, Any]) -> dict[str, Any]:
    _no_unknown(raw, _MATCH_KEYS, "match")
    statuses = tuple(parse_pattern(value) for value in _strings(raw.get("status", []), "status"))
    reply_codes = frozenset(_strings(raw.get("reply_code", []), "reply_code"))
    for code in reply_codes:
        if not re.fullmatch(r"[2-5]\d\d", code):
            raise _Invalid(f"reply_code {code!r} is not a three-digit SMTP reply code")
    kinds = frozenset(
        _enum(EventKind, value, "kind") for value in _strings(raw.get("kind", []), "kind")
    )
    sources = frozenset(
        _enum(InputKind, value, "source") for value in _strings(raw.get("source", []), "source")
    )
    requires = _names(raw.get("requires", []), "requires")
    check = raw.get("check")
    if check is not None and check not in KNOWN_CHECKS:
        raise _Invalid(f"unknown check {check!r}; known: {sorted(KNOWN_CHECKS)}")
    field_raw = raw.get("field", {})
    if not isinstance(field_raw, dict):
        raise _Invalid("match.field must be a table of field = regex")
    field_patterns = tuple(
        (_names([name], "match.field")[0], _regex([pattern], f"match.field.{name}"))
        for name, pattern in field_raw.items()
    )
    text = _optional_regex(raw.get("text"), "text")
    if not (statuses or reply_codes or text or kinds or check or field_patterns):
        raise _Invalid("match needs at least one of status, reply_code, text, kind, check, field")
    return {
        "statuses": statuses,
        "reply_codes": reply_codes,
        "text": text,
        "not_text": _optional_regex(raw.get("not_text"), "not_text"),
        "kinds": kinds,
        "sources": sources,
        "requires": requires,
        "check": check,
        "field_patterns": field_patterns,
    }


def _fix(raw: object) -> FixTemplate:
    if not isinstance(raw, dict):
        raise _Invalid("each [[rule.fix]] must be a table")
    _no_unknown(raw, _FIX_KEYS, "fix")
    title = _template(_string(raw, "title"), "fix title")
    script = raw.get("powershell")
    if script is not None:
        if not isinstance(script, str) or not script.strip():
            raise _Invalid("fix powershell must be a non-empty string")
        _check_script(script)
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _Invalid("fix optional must be true or false")
    return FixTemplate(
        title,
        script,
        optional,
        _names(raw.get("unless", []), "fix unless"),
        _names(raw.get("requires", []), "fix requires"),
    )


def _check_script(script: str) -> None:
    if len(script) > _MAX_TEMPLATE:
        raise _Invalid("fix powershell is too long")
    unknown = powershell.placeholders(script) - KNOWN_FIELDS
    if unknown:
        raise _Invalid(f"fix powershell uses unknown placeholders {sorted(unknown)}")
    leftover = re.sub(r"\{\{[a-z][a-z0-9_]*\}\}", "", script)
    if "{{" in leftover or "}}" in leftover:
        raise _Invalid("fix powershell has a malformed {{placeholder}}")


def _template(value: str, what: str) -> str:
    """Validate a plain-text template: only {field} / {field|fallback} placeholders."""
    if len(value) > _MAX_TEMPLATE:
        raise _Invalid(f"{what} is too long")
    for name, _fallback in _TEXT_PLACEHOLDER.findall(value):
        if name not in KNOWN_FIELDS:
            raise _Invalid(f"{what} uses unknown placeholder {{{name}}}")
    leftover = _TEXT_PLACEHOLDER.sub("", value)
    if "{" in leftover or "}" in leftover:
        raise _Invalid(f"{what} has a stray brace or a malformed placeholder")
    return value


def render_text(template: str, values: Mapping[str, str]) -> str:
    """Fill {field} / {field|fallback}; a field without a value takes its fallback (or "?")."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value:
            return value
        fallback = match.group(2)
        return fallback if fallback is not None else "?"

    return _TEXT_PLACEHOLDER.sub(substitute, template)


# ------------------------------------------------------------------------------------------
# Regular expressions: simple ones only


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not allowed, or None.

    Allowed: literals, classes, anchors, alternation, quantifiers on single atoms, and
    non-capturing or plain groups that are not repeated by * + or {n,m} (an optional `?` group is
    fine). That excludes nested quantifiers such as (a+)+ and repeated alternations such as
    (a|aa)*, the shapes that make backtracking catastrophic; back-references and look-arounds
    are refused as well.
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
            if nxt.isdigit() and nxt != "0":
                return "back-references are not allowed"
            if nxt in ("g", "k"):
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
            # a leading ] or ^] is literal inside a class
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1
            continue
        if ch == "(":
            if pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
                return "only plain (...) and (?:...) groups are allowed"
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


def _regex(patterns: Sequence[str], what: str) -> re.Pattern[str]:
    for pattern in patterns:
        problem = regex_problem(pattern)
        if problem is not None:
            raise _Invalid(f"{what} pattern {pattern!r}: {problem}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _Invalid(f"{what} pattern {pattern!r} does not compile: {exc}") from None
    joined = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(joined, re.IGNORECASE)


def _optional_regex(value: object, what: str) -> re.Pattern[str] | None:
    patterns = _strings(value if value is not None else [], what)
    return _regex(patterns, what) if patterns else None


# ------------------------------------------------------------------------------------------
# Small validators


def _no_unknown(raw: Mapping[str, object], allowed: frozenset[str], what: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise _Invalid(f"unknown {what} keys {sorted(unknown)}")


def _string(raw: Mapping[str, object], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{key} must be a non-empty string")
    return value.strip()


def _optional_string(raw: Mapping[str, object], key: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be a string")
    return value


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid(f"{what} must be a string or a list of non-empty strings")
    return tuple(value)


def _names(value: object, what: str) -> tuple[str, ...]:
    names = _strings(value, what)
    unknown = [name for name in names if name not in KNOWN_FIELDS]
    if unknown:
        raise _Invalid(f"{what} names unknown fields {unknown}")
    return names


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise _Invalid(f"severity {value!r} is not error, warning or info") from None


def _severity_by_class(raw: object) -> dict[int, Severity]:
    if not isinstance(raw, dict):
        raise _Invalid("severity_by_class must be a table")
    result: dict[int, Severity] = {}
    for klass, severity in raw.items():
        if klass not in ("2", "4", "5") or not isinstance(severity, str):
            raise _Invalid('severity_by_class maps "2", "4", "5" to a severity')
        result[int(klass)] = _severity(severity)
    return result


_E = TypeVar("_E", EventKind, InputKind)


def _enum(enum: type[_E], value: str, what: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise _Invalid(f"{what} {value!r} is not one of: {allowed}") from None


# ------------------------------------------------------------------------------------------
# RFC 3463 table


def _status_table(origin: str, raw: object) -> StatusTable:
    try:
        return _build_status_table(raw)
    except (ValueError, TypeError, KeyError) as exc:
        raise KnowledgeError(f"{origin}: enhanced_status: {exc}") from None


def _build_status_table(raw: object) -> StatusTable:
    if not isinstance(raw, dict):
        raise _Invalid("must be a table")
    _no_unknown(raw, frozenset({"classes", "subject", "detail"}), "enhanced_status")
    classes_raw = raw.get("classes", {})
    if not isinstance(classes_raw, dict) or set(classes_raw) != {"2", "4", "5"}:
        raise _Invalid('classes must name exactly "2", "4" and "5"')
    classes = {int(k): _string(classes_raw, k) for k in classes_raw}
    subjects: dict[int, SubjectMeaning] = {}
    for item in _tables(raw.get("subject", []), "subject"):
        _no_unknown(item, frozenset({"code", "title", "meaning", "reason"}), "subject")
        code = item.get("code")
        if not isinstance(code, int) or not 0 <= code <= 7 or code in subjects:
            raise _Invalid(f"subject code {code!r} must be a unique integer 0-7")
        subjects[code] = SubjectMeaning(
            _string(item, "title"), _string(item, "meaning"), _reason(_string(item, "reason"))
        )
    details: dict[tuple[int, int], DetailMeaning] = {}
    for item in _tables(raw.get("detail", []), "detail"):
        _no_unknown(item, frozenset({"code", "title", "meaning", "reason"}), "detail")
        code = _string(item, "code")
        found = re.fullmatch(r"X\.([0-7])\.(\d{1,3})", code)
        if found is None:
            raise _Invalid(f"detail code {code!r} must look like X.1.1")
        key = (int(found.group(1)), int(found.group(2)))
        if key in details:
            raise _Invalid(f"detail {code} defined twice")
        reason = item.get("reason")
        details[key] = DetailMeaning(
            _string(item, "title"),
            _string(item, "meaning"),
            _reason(reason) if isinstance(reason, str) else None,
        )
    return StatusTable.build(classes, subjects, details)


def _tables(value: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _Invalid(f"{what} must be an array of tables")
    return value


def _reason(value: str) -> str:
    if value not in BOUNCE_REASONS:
        raise _Invalid(f"unknown reason {value!r}")
    return value
