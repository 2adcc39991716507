"""Classify the bounce reason of a fact, in Sisimai's order, from data in config/reasons/.

1. A reason the reader knows from the format itself (feedback, vacation) stands.
2. Receiving-provider tables (providers/*.toml): (status or range, reply code, words) -> reason.
3. The probes of the reasons in `order.first`, each a list of clauses over the status table's
   reason, the SMTP command, the reply code and the phrases of reasons (phrases/*.toml).
4. `anotherone`: the status table's reason, or when that is weak (in `retry`) the phrases of
   `order.another`, then the fallbacks (x.6 -> contenterror, x.7 -> securityerror, X-UNIX ->
   mailererror, syntax errors, delayed -> expired, rejected at EHLO/HELO -> blocked).
5. vacation, onhold (there is text but no reason), undefined.

config/reasons/README.md describes every key and step; this module is its evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from bot.core.diagnose.fact import FREE_TEXT_SOURCE, Fact, FactKind
from bot.core.models import BOUNCE_REASONS
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml, toml_files

_NOT_FAILURES = frozenset({"delivered", "feedback", "vacation"})


class ReasonsError(ConfigError):
    """config/reasons is broken; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Phrases:
    contains: tuple[str, ...]
    aligned: tuple[tuple[str, ...], ...]
    isnot: tuple[str, ...] = ()

    def match(self, text: str) -> bool:
        """`text` is lower-case already."""
        if not text:
            return False
        if self.isnot and any(word in text for word in self.isnot):
            return False
        for word in self.contains:
            if word in text:
                return True
        return any(_aligned(text, parts) for parts in self.aligned)


def _aligned(text: str, parts: Sequence[str]) -> bool:
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


@dataclass(frozen=True, slots=True)
class Clause:
    result: bool
    reason_already: frozenset[str] | None = None
    status_is: bool | None = None
    status_reason: frozenset[str] | None = None
    not_status_reason: frozenset[str] | None = None
    status: tuple[str, ...] = ()
    has_status: bool | None = None
    reply_code: tuple[str, ...] = ()
    not_reply_code: tuple[str, ...] = ()
    command: frozenset[str] | None = None
    not_command: frozenset[str] | None = None
    text_of: tuple[str, ...] = ()
    not_text_of: tuple[str, ...] = ()
    probes_into: tuple[str, ...] = ()
    diagnostic_type: frozenset[str] | None = None
    action: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class ProviderRule:
    reason: str
    statuses: tuple[str, ...] = ()
    reply_codes: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    aligned: tuple[tuple[str, ...], ...] = ()
    commands: frozenset[str] | None = None
    classes: tuple[str, ...] = ()
    not_classes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderTable:
    name: str
    hosts: tuple[str, ...]
    match_recipient_domain: bool
    class_digit_matters: bool
    code_scheme: str | None
    rules: tuple[ProviderRule, ...]
    reply_marks: tuple[str, ...] = ()  # lower-case texts only this provider's replies hold


@dataclass(frozen=True)
class ReasonBook:
    phrases: Mapping[str, Phrases]
    probes: Mapping[str, tuple[Clause, ...]]
    first: tuple[str, ...]
    another: tuple[str, ...]
    text_only: tuple[str, ...]
    retry: frozenset[str]
    not_explicit: frozenset[str]
    status: Mapping[str, str]
    reply: Mapping[str, tuple[str, str, str]]
    commands: Mapping[str, frozenset[str]]
    providers: tuple[ProviderTable, ...]
    mda: tuple[tuple[str, ProviderRule], ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)  # reason -> one sentence
    kind_defaults: Mapping[str, str] = field(default_factory=dict)  # fact kind -> reason

    @cached_property
    def provider_index(self) -> ProviderIndex:
        return ProviderIndex.of(self.providers)

    def provider(self, name: str) -> ProviderTable | None:
        return next((table for table in self.providers if table.name == name), None)

    def status_reason(self, status: str | None) -> str:
        if not status or len(status) < 5:
            return ""
        return self.status.get(status, "")

    def text_matches(self, reason: str, lowered: str) -> bool:
        phrases = self.phrases.get(reason)
        return phrases is not None and phrases.match(lowered)


# ------------------------------------------------------------------------------------------
# Classification


def classify(fact: Fact, book: ReasonBook | None = None) -> str:
    """The bounce reason of `fact` (a name of models.BOUNCE_REASONS)."""
    book = book if book is not None else load_reasons()
    if fact.kind is FactKind.NOTICE and fact.reason:
        return fact.reason
    given = fact.reason or ""
    if given and given not in book.retry:
        return given
    lowered = normalised_text(fact).lower()
    context = _Context(fact, lowered, book)
    for found in (_mda(context), provider_reason(fact, lowered, book)):
        if found and found not in book.not_explicit:
            return found
    found = _error_string_reason(context) or _find(context)
    if found in ("", "undefined", "onhold"):
        default = book.kind_defaults.get(fact.kind.value)
        if default:
            return default
        if given:
            return given if found == "" else found
    return found or "undefined"


def _error_string_reason(context: _Context) -> str:
    """A reply pasted on its own (free text, no status code, no command): the reason its words
    give, in the order Sisimai's matcher for a bare error string tries them (`text_only`). The
    SMTP probes would read a missing command as "not RCPT" ("550 No such user here" filtered)."""
    fact = context.fact
    if fact.source != FREE_TEXT_SOURCE or fact.status or fact.command:
        return ""
    return next((name for name in context.book.text_only if context.phrases_of(name)), "")


@dataclass(slots=True)
class _Context:
    fact: Fact
    text: str
    book: ReasonBook
    matches: dict[str, bool] = field(default_factory=dict)  # reason -> its phrases match

    @property
    def table_reason(self) -> str:
        return self.book.status_reason(self.fact.status)

    def phrases_of(self, reason: str) -> bool:
        found = self.matches.get(reason)
        if found is None:
            found = self.matches[reason] = self.book.text_matches(reason, self.text)
        return found


def _find(context: _Context) -> str:
    fact, book = context.fact, context.book
    if (fact.status or "").startswith("2."):
        return "delivered"
    reason = ""
    if (fact.diagnostic_type or "SMTP") == "SMTP":
        for name in book.first:
            if _probe(name, context):
                reason = name
                break
    if reason and reason != "undefined":
        return reason
    reason = _anotherone(context)
    if reason == "undefined":
        reason = ""
    if not reason and fact.action == "delayed":
        reason = "expired"
    if reason:
        return reason
    if context.phrases_of("vacation"):
        return "vacation"
    return "onhold" if context.text else "undefined"


def _anotherone(context: _Context) -> str:
    fact, book = context.fact, context.book
    if fact.reason and fact.reason not in book.not_explicit:
        return fact.reason  # what the reader's format said, when nothing above decided
    table = context.table_reason
    if table not in book.retry and table != "" and (fact.diagnostic_type or "SMTP") == "SMTP":
        return table
    for name in book.another:
        if context.phrases_of(name):
            return name
    if table:
        return table
    status = fact.status or ""
    if len(status) > 3:
        if status[1:3] == ".6":
            return "contenterror"
        if status[1:3] == ".7":
            return "securityerror"
    if (fact.diagnostic_type or "").startswith("X-UNIX"):
        return "mailererror"
    if _probe("syntaxerror", context):
        return "syntaxerror"
    if fact.action in ("delayed", "expired"):
        return "expired"
    if fact.command in ("EHLO", "HELO"):
        return "blocked"
    return ""


def _probe(name: str, context: _Context, depth: int = 0) -> bool:
    for clause in context.book.probes.get(name, ()):
        if _holds(clause, name, context, depth):
            return clause.result
    return False


def _holds(clause: Clause, name: str, context: _Context, depth: int) -> bool:
    """Whether every condition of `clause` holds (cheap tests first, phrases last)."""
    fact = context.fact
    table = context.table_reason
    if clause.reason_already is not None and (fact.reason or "") not in clause.reason_already:
        return False
    if clause.status_is is not None and (table == name) != clause.status_is:
        return False
    if clause.status_reason is not None and table not in clause.status_reason:
        return False
    if clause.not_status_reason is not None and table in clause.not_status_reason:
        return False
    if clause.status and not _status_in(fact.status or "", clause.status):
        return False
    if clause.has_status is not None and bool(fact.status) != clause.has_status:
        return False
    if clause.reply_code and not _reply_in(fact.reply_code or "", clause.reply_code):
        return False
    if clause.not_reply_code and _reply_in(fact.reply_code or "", clause.not_reply_code):
        return False
    if clause.command is not None and (fact.command or "") not in clause.command:
        return False
    if clause.not_command is not None and (fact.command or "") in clause.not_command:
        return False
    if clause.diagnostic_type is not None and (
        (fact.diagnostic_type or "").upper() not in clause.diagnostic_type
    ):
        return False
    if clause.action is not None and (fact.action or "") not in clause.action:
        return False
    if clause.text_of and not any(context.phrases_of(r) for r in clause.text_of):
        return False
    if clause.not_text_of and any(context.phrases_of(r) for r in clause.not_text_of):
        return False
    return not (
        clause.probes_into
        and depth < 3
        and not any(_probe(r, context, depth + 1) for r in clause.probes_into)
    )


def _status_in(status: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern.startswith("x."):
            if status[:1] in ("4", "5") and _status_in(status[2:], [pattern[2:]]):
                return True
            continue
        if pattern.endswith(".") and status.startswith(pattern):
            return True
        if status == pattern:
            return True
    return False


def _reply_in(code: str, patterns: Sequence[str]) -> bool:
    if not code:
        return False
    for pattern in patterns:
        low, sep, high = pattern.partition("-")
        if sep:
            if code.isdigit() and int(low) <= int(code) <= int(high):
                return True
        elif code == pattern:
            return True
    return False


# ------------------------------------------------------------------------------------------
# Providers and local delivery agents


def provider_of(fact: Fact, book: ReasonBook) -> ProviderTable | None:
    """Sisimai's rhost.Name: recipient domain, then remote host, then reporting host; then, for
    a reply without hosts, the reply marks of the providers (config/reasons/README.md)."""
    index = book.provider_index
    recipient = (fact.recipient or "").rpartition("@")[2].lower()
    if recipient:
        found = index.by_recipient_domain.get(recipient)
        if found is not None:
            return book.providers[found]
    for name in (fact.remote_host, fact.reporting_mta):
        if name:
            found = index.by_host(name.lower().rstrip("."))
            if found is not None:
                return book.providers[found]
    if fact.diagnostic and index.reply_marks:
        lowered = fact.diagnostic[:MAX_MARK_TEXT].lower()
        for mark, number in index.reply_marks:
            if mark in lowered:
                return book.providers[number]
    return None


MAX_MARK_TEXT = 4096  # of the diagnostic, searched for reply marks


@dataclass(frozen=True)
class ProviderIndex:
    """provider_of's lookups as dictionaries: the number of the first table (in book order)
    that a recipient domain or a host name belongs to.

    A table's host matches a name that ends with it (".example.com" also matches the name
    "example.com"); a recipient domain matches a table of `match_recipient_domain` when one of
    its hosts ends with the domain."""

    by_recipient_domain: Mapping[str, int]
    by_suffix: Mapping[str, int]  # host as written -> table
    by_dotless: Mapping[str, int]  # ".example.com" as "example.com" -> table
    reply_marks: tuple[tuple[str, int], ...] = ()  # (mark, table), in book order

    @classmethod
    def of(cls, tables: Sequence[ProviderTable]) -> ProviderIndex:
        recipient: dict[str, int] = {}
        suffix: dict[str, int] = {}
        dotless: dict[str, int] = {}
        for number, table in enumerate(tables):
            for host in table.hosts:
                suffix.setdefault(host, number)
                if host.startswith("."):
                    dotless.setdefault(host[1:], number)
                if table.match_recipient_domain:
                    bare = host.lstrip(".")
                    for start in range(len(bare)):
                        recipient.setdefault(bare[start:], number)
        marks = tuple((mark, number) for number, t in enumerate(tables) for mark in t.reply_marks)
        return cls(recipient, suffix, dotless, marks)

    def by_host(self, name: str) -> int | None:
        found = self.by_dotless.get(name)
        for start in range(len(name) + 1):
            number = self.by_suffix.get(name[start:])
            if number is not None and (found is None or number < found):
                found = number
        return found


def provider_reason(fact: Fact, lowered: str, book: ReasonBook) -> str:
    table = book.provider(fact.provider) if fact.provider else provider_of(fact, book)
    if table is None or not lowered:
        return ""
    code = _provider_code(table, fact.diagnostic, lowered) if table.code_scheme else None
    for rule in table.rules:
        if _provider_rule(rule, table, fact, lowered, code):
            return rule.reason
    return ""


def _provider_rule(
    rule: ProviderRule, table: ProviderTable, fact: Fact, lowered: str, code: str | None
) -> bool:
    status, reply = fact.status or "", fact.reply_code or ""
    if rule.codes and (code is None or not any(_code_matches(table, code, c) for c in rule.codes)):
        return False
    if rule.statuses and not any(_provider_status(table, status, p) for p in rule.statuses):
        return False
    if rule.reply_codes:
        if table.class_digit_matters:
            if reply not in rule.reply_codes:
                return False
        elif not reply or not any(reply[1:] == r[1:] for r in rule.reply_codes):
            return False
    if rule.commands is not None and (fact.command or "") not in rule.commands:
        return False
    if rule.classes and not (status[:1] in rule.classes or reply[:1] in rule.classes):
        return False
    if rule.not_classes and (status[:1] in rule.not_classes or reply[:1] in rule.not_classes):
        return False
    if rule.contains or rule.aligned:
        words = any(w in lowered for w in rule.contains)
        if not words and not any(_aligned(lowered, parts) for parts in rule.aligned):
            return False
    return True


def _provider_status(table: ProviderTable, status: str, pattern: str) -> bool:
    if not status:
        return False
    if not table.class_digit_matters:
        return status[2:].startswith(pattern[2:].split("-", 1)[0]) and _in_range(
            status[2:], pattern[2:]
        )
    return _in_range(status, pattern)


def _in_range(status: str, pattern: str) -> bool:
    head, sep, high = pattern.partition("-")
    if not sep:
        return status == head if head.count(".") == status.count(".") else status.startswith(head)
    base, _, low = head.rpartition(".")
    prefix, _, detail = status.rpartition(".")
    return prefix == base and detail.isdigit() and int(low) <= int(detail) <= int(high)


def _code_matches(table: ProviderTable, code: str, wanted: str) -> bool:
    scheme = (table.code_scheme or "").split(":", 1)[0]
    if scheme == "franceptt":
        return code.endswith(wanted.lower())
    if scheme == "spectrum":
        low, sep, high = wanted.partition("-")
        if not code.isdigit():
            return False
        return int(low) <= int(code) <= int(high) if sep else int(code) == int(low)
    return code == wanted


_SPECTRUM = re.compile(r"AUP#\D{0,3}(\d{4})")


def _provider_code(table: ProviderTable, original: str, lowered: str) -> str | None:
    """The provider's own error label in the text (see each file's code_scheme)."""
    scheme = (table.code_scheme or "").split(":", 1)[0]
    if scheme == "franceptt":
        text = lowered.replace("_", "-")
        for name in ("lpn", "lpnaaa", "ofr", "ouk"):
            label = name + "-" if name + "-" in text else name
            position = text.rfind(label)
            if position >= 0:
                rest = text[position + len(label) - 1 :]
                return rest.split(" ", 1)[0]
        return None
    if scheme == "godaddy":
        position = original.find(" IB")
        return "IB" + original[position + 3 :].split(" ", 1)[0] if position >= 0 else None
    if scheme == "iua":
        position = lowered.find(".i.ua/err/")
        return lowered[position + 10 :].split("/", 1)[0] if position >= 0 else None
    if scheme == "spectrum":
        found = _SPECTRUM.search(original)
        return found.group(1) if found else None
    if scheme == "cox":
        position = original.find("AUP#")
        return original[position + 4 :].split(" ", 1)[0] if position >= 0 else None
    if scheme == "facebook":
        position = original.find("-")
        return original[max(0, position - 3) : position + 3] if position >= 0 else None
    return None


def _mda(context: _Context) -> str:
    for agent, rule in context.book.mda:
        if agent in context.text and any(word in context.text for word in rule.contains):
            return rule.reason
    return ""


# ------------------------------------------------------------------------------------------
# The text the phrases are matched against


_HTML = re.compile(r"<html>.*</html>", re.DOTALL | re.IGNORECASE)


def normalised_text(fact: Fact) -> str:
    """The diagnostic as Sisimai cleans it before matching (README, text normalisation)."""
    text = fact.text.replace("\r", "")
    reply = fact.reply_code
    if reply and f"{reply}-" in text:
        status = fact.status or ""
        for piece in (f"{reply}-{status}", f"{reply} {status}") if status else ():
            text = text.replace(piece, "")
        text = text.replace(f"{reply}-", "").replace(f"{reply} ", "")
        text = f"{reply} {status} {text}" if status else f"{reply} {text}"
    lowered = text.lower()
    start, end = lowered.find("<html>"), lowered.find("</html>")
    if start > 0 and end > 0:
        text = _HTML.sub(" ", text)
    text = " ".join(text.replace("\t", " ").split())
    while " --" in text and "-- " not in text:
        text = text[: text.find(" --")]
    return text


# ------------------------------------------------------------------------------------------
# Loading


def load_reasons(directory: Path | None = None) -> ReasonBook:
    if directory is None:
        return _default()
    return _load(directory)


@cache
def _default() -> ReasonBook:
    return _load(config_dir() / "reasons")


def _load(directory: Path) -> ReasonBook:
    order = Entry(load_toml(directory / "order.toml", ReasonsError), "order.toml", ReasonsError)
    first = _reason_list(order, "first")
    another = _reason_list(order, "another")
    text_only = _reason_list(order, "text_only")
    retry = frozenset(_reason_list(order, "retry"))
    order.boolean("retry_empty", True)
    not_explicit = frozenset(_reason_list(order, "not_explicit"))
    order.raw("fallback", {})
    order.raw("v2026", {})
    order.done()
    commands_entry = Entry(
        load_toml(directory / "commands.toml", ReasonsError), "commands.toml", ReasonsError
    )
    commands = {name: frozenset(commands_entry.strings(name)) for name in commands_entry.keys()}  # noqa: SIM118
    commands_entry.done()
    status_entry = Entry(
        load_toml(directory / "status.toml", ReasonsError), "status.toml", ReasonsError
    )
    status = status_entry.mapping("status", _reason_value)
    reply = status_entry.mapping("reply", _reply_value)
    for key in ("reply_codes", "pseudo", "pseudo_temporary"):
        status_entry.raw(key, {})
    status_entry.done()
    phrases: dict[str, Phrases] = {}
    probes: dict[str, tuple[Clause, ...]] = {}
    descriptions: dict[str, str] = {}
    for path in toml_files(directory / "phrases", ReasonsError):
        entry = Entry(load_toml(path, ReasonsError), f"phrases/{path.name}", ReasonsError)
        reason = entry.choice("reason", BOUNCE_REASONS)
        descriptions[reason] = entry.string("description")
        phrases[reason] = Phrases(
            tuple(w.lower() for w in entry.strings("contains", ())),
            tuple(
                tuple(p.lower() for p in _strings_list(entry, parts))
                for parts in entry.raw("aligned", [])
            ),
            tuple(w.lower() for w in entry.strings("isnot", ())),
        )
        probes[reason] = tuple(_clause(item, commands) for item in entry.tables("probe"))
        entry.done()
    for name in (*first, *another, *text_only):
        if name not in phrases:
            raise ReasonsError(f"order.toml names {name!r}, which has no phrases file")
    providers = tuple(_provider(path) for path in toml_files(directory / "providers", ReasonsError))
    mda = _load_mda(directory / "mda.toml") if (directory / "mda.toml").exists() else ()
    kinds = Entry(load_toml(directory / "kinds.toml", ReasonsError), "kinds.toml", ReasonsError)
    kind_defaults = kinds.mapping("default", _reason_value)
    unknown = set(kind_defaults) - {kind.value for kind in FactKind}
    if unknown:
        raise ReasonsError(f"kinds.toml: unknown fact kinds {sorted(unknown)}")
    kinds.done()
    return ReasonBook(
        phrases, probes, first, another, text_only, retry, not_explicit, status, reply,
        commands, providers, mda, descriptions, kind_defaults,
    )  # fmt: skip


def _reason_list(entry: Entry, key: str) -> tuple[str, ...]:
    return entry.choices(key, BOUNCE_REASONS)


def _reason_value(name: str, value: object) -> str:
    if not isinstance(value, str) or value not in BOUNCE_REASONS:
        raise ValueError(f"{name}: unknown reason {value!r}")
    return value


def _reply_value(name: str, value: object) -> tuple[str, str, str]:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
        raise ValueError(f"{name}: must be [command, status, reason]")
    if value[2] and value[2] not in BOUNCE_REASONS:
        raise ValueError(f"{name}: unknown reason {value[2]!r}")
    return (value[0], value[1], value[2])


def _strings_list(entry: Entry, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise entry.fail("aligned entries must be lists of non-empty strings")
    return tuple(value)


def _command_set(
    entry: Entry, key: str, commands: Mapping[str, frozenset[str]]
) -> frozenset[str] | None:
    if not entry.has(key):
        return None
    value = entry.raw(key)
    if isinstance(value, str):
        if value not in commands:
            raise entry.fail(f"{key} names no list of commands.toml: {value!r}")
        return commands[value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise entry.fail(f"{key} must be a list of commands or the name of a list")
    return frozenset(v.upper() for v in value)


def _clause(entry: Entry, commands: Mapping[str, frozenset[str]]) -> Clause:
    def reasons(key: str) -> frozenset[str] | None:
        if not entry.has(key):
            return None
        values = entry.raw(key)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise entry.fail(f"{key} must be a list of reasons")
        unknown = [v for v in values if v and v not in BOUNCE_REASONS]
        if unknown:
            raise entry.fail(f"{key} names unknown reasons {unknown}")
        return frozenset(values)

    def optional_bool(key: str) -> bool | None:
        return entry.boolean(key) if entry.has(key) else None

    clause = Clause(
        result=entry.boolean("result"),
        reason_already=reasons("reason_already"),
        status_is=optional_bool("status_is"),
        status_reason=reasons("status_reason"),
        not_status_reason=reasons("not_status_reason"),
        status=entry.strings("status", ()),
        has_status=optional_bool("has_status"),
        reply_code=entry.strings("reply_code", ()),
        not_reply_code=entry.strings("not_reply_code", ()),
        command=_command_set(entry, "command", commands),
        not_command=_command_set(entry, "not_command", commands),
        text_of=tuple(reasons("text_of") or ()),
        not_text_of=tuple(reasons("not_text_of") or ()),
        probes_into=tuple(reasons("probes_into") or ()),
        diagnostic_type=frozenset(v.upper() for v in entry.strings("diagnostic_type", ())) or None,
        action=frozenset(entry.strings("action", ())) or None,
    )
    entry.done()
    return clause


def _provider(path: Path) -> ProviderTable:
    entry = Entry(load_toml(path, ReasonsError), f"providers/{path.name}", ReasonsError)
    name = entry.string("provider")
    entry.string("description")
    hosts = tuple(h.lower() for h in entry.strings("hosts"))
    rules = []
    for item in entry.tables("rule"):
        rules.append(
            ProviderRule(
                reason=item.choice("reason", BOUNCE_REASONS),
                statuses=item.strings("status", ()),
                reply_codes=item.strings("reply_code", ()),
                contains=tuple(w.lower() for w in item.strings("contains", ())),
                aligned=tuple(
                    tuple(p.lower() for p in _strings_list(item, parts))
                    for parts in item.raw("aligned", [])
                ),
                commands=frozenset(item.strings("command")) if item.has("command") else None,
                classes=item.strings("class", ()),
                not_classes=item.strings("not_class", ()),
                codes=item.strings("code", ()),
            )
        )
        item.done()
    table = ProviderTable(
        name=name,
        hosts=hosts,
        match_recipient_domain=entry.boolean("match_recipient_domain", False),
        class_digit_matters=entry.boolean("class_digit_matters", True),
        code_scheme=entry.string("code_scheme", "") or None,
        rules=tuple(rules),
        reply_marks=tuple(_reply_marks(entry)),
    )
    entry.done()
    return table


def _reply_marks(entry: Entry) -> list[str]:
    marks = entry.strings("reply_marks", ())
    for mark in marks:
        if len(mark) < 5 or mark != mark.lower():
            raise entry.fail(f"reply_marks: lower case, 5 characters or more: {mark!r}")
    return list(marks)


def _load_mda(path: Path) -> tuple[tuple[str, ProviderRule], ...]:
    entry = Entry(load_toml(path, ReasonsError), "mda.toml", ReasonsError)
    out: list[tuple[str, ProviderRule]] = []
    for item in entry.tables("rule"):
        agent = item.string("agent").lower()
        rule = ProviderRule(
            reason=item.choice("reason", BOUNCE_REASONS),
            contains=tuple(w.lower() for w in item.strings("contains")),
        )
        item.done()
        out.append((agent, rule))
    entry.done()
    return tuple(out)


def is_failure(reason: str) -> bool:
    return reason not in _NOT_FAILURES
