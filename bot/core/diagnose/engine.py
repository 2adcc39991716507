"""MailEvents + knowledge -> Findings (pure, streaming, bounded).

`findings_from_events` walks the events once. Each event is matched against the rules of the
knowledge base in precedence order (most specific first); events that match the same rule with
the same key facts are aggregated into one finding with an `occurrences` count. Certificates that
connectors presented (protocol logs) are judged at the end, because the name they must cover may
come from a message trace later in the same input. Memory is bounded: at most MAX_FINDINGS
distinct findings, MAX_PRESENTED distinct presented certificates, a capped match memo.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.core import names, powershell
from bot.core.enhanced_status import EnhancedStatus, parse
from bot.core.knowledge import REASON_FROM_STATUS, Knowledge, Rule, load_knowledge, render_text
from bot.core.models import FieldValue, Finding, Fix, most_severe_first
from bot.core.traces.events import EventKind, InputKind, MailEvent

MAX_FINDINGS = 200
MAX_PRESENTED = 1000
MAX_EXPECTED_NAMES = 32
MAX_MATCH_TEXT = 2048  # regexes only ever see this much of an event's text
MAX_FIELD_CHARS = 512
MAX_FIELD_ITEMS = 50
MAX_TEMPLATE_VALUE = 200
_MEMO_LIMIT = 8192
TRUNCATED_ID = "diagnose.truncated"

_CERT_KINDS = frozenset({EventKind.CERT_PRESENTED, EventKind.REMOTE_CERT})
_TRUE = frozenset({"true", "yes", "1"})
_SPACES = re.compile(r" {2,}")
_HEX_ESCAPE = re.compile(r"\+([0-9A-Fa-f]{2})")
_REPLY_AND_STATUS = re.compile(
    r"(?:\b([245]\d\d)[ -])?(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])"
)
# Placeholder shown in a fix whose value the input did not contain (quoted like any value).
_HINTS = {
    "connector": "<SERVER\\Connector name>",
    "server": "<Exchange server name>",
    "thumbprint": "<certificate thumbprint>",
    "fqdn": "<host name Exchange Online connects to>",
    "expected_name": "<host name Exchange Online connects to>",
    "recipient": "<recipient address>",
    "sender": "<sender address>",
    "recipient_domain": "<recipient domain>",
    "sender_domain": "<sender domain>",
    "ip": "<IP address>",
    "tls_certificate_name": "<I>issuer<S>subject",
    "mailbox": "<mailbox that should receive these messages>",
}


# Names parsers use for a fact the contract has a name for (`fields` of a finding): the twin is
# left out when it repeats the contract's value, and renamed when the contract's name is absent.
FIELD_TWINS = {
    "msg": "message",
    "remote_server": "fqdn",
    "remote_mta": "fqdn",
    "remote_host": "fqdn",
    "last_attempted_server": "fqdn",
    "outbound_proxy_target_hostname": "fqdn",
    "last_attempted_ip": "ip",
    "outbound_proxy_target_ip": "ip",
    "reporting_mta": "generating_server",
    "original_recipient": "recipient",
    "count": "occurrences",
}


@dataclass(slots=True)
class _Group:
    """One finding under construction: the first event's facts plus a count."""

    rule: Rule
    status: EnhancedStatus | None
    reply_code: str | None
    fields: dict[str, FieldValue]
    occurrences: int = 1
    last_timestamp: str | None = None


@dataclass(slots=True)
class _Presented:
    event: MailEvent
    count: int = 1


@dataclass
class RuleEngine:
    """Streaming form of `findings_from_events`: feed() events, then findings()."""

    knowledge: Knowledge
    max_findings: int = MAX_FINDINGS
    _groups: dict[tuple[str, ...], _Group] = field(default_factory=dict)
    _memo: dict[tuple[object, ...], Rule | None] = field(default_factory=dict)
    _presented: dict[tuple[str, ...], _Presented] = field(default_factory=dict)
    _expected: set[str] = field(default_factory=set)
    _expected_seen: set[str] = field(default_factory=set)
    _peer_names: set[str] = field(default_factory=set)
    _dropped: int = 0

    def feed(self, event: MailEvent) -> None:
        if event.kind in _CERT_KINDS:
            self._remember_certificate(event)
            return
        self._remember_expected_name(event)
        status = parse(event.status)
        rule: Rule | None
        cause = self._cause(event, status)
        if cause is not None:
            event, status, rule = cause
        else:
            rule = self._select(event, status)
        if rule is not None:
            self._add(rule, event, status, event.fields, _weight(event))

    def findings(self) -> tuple[Finding, ...]:
        """The findings so far, most severe first (certificates are judged once, here)."""
        self._peer_names = self._names_served_to_exchange_online()
        for presented in self._presented.values():
            self._judge_certificate(presented)
        self._presented.clear()
        built = [self._finding(group) for group in self._groups.values()]
        if self._dropped:
            built.append(self._truncation_finding())
        return tuple(most_severe_first(built))

    # -- matching ------------------------------------------------------------------------

    def _select(self, event: MailEvent, status: EnhancedStatus | None) -> Rule | None:
        """The first rule (in precedence order) that applies to `event`.

        The answer depends on the event's kind, source, codes, text and which fields are
        present, so it is memoised on those; rules that test field values are never memoised.
        """
        candidates = self.knowledge.candidates_for(status, event.kind, event.source)
        text = _match_text(event)
        if candidates.prefilter is not None and candidates.prefilter.search(text) is None:
            return None
        fields = event.fields
        # rules with `requires` care whether a field is empty; the others only about names
        present = (
            tuple(name for name, value in fields.items() if value)
            if candidates.presence_dependent
            else tuple(fields)
        )
        key = (event.kind, event.source, event.status, event.reply_code, text, present)
        if not candidates.value_dependent and key in self._memo:
            return self._memo[key]
        values = _string_fields(event.fields)
        rule = next(
            (rule for rule in candidates.rules if _applies(rule, event, status, text, values)),
            None,
        )
        if not candidates.value_dependent:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = rule
        return rule

    def _cause(
        self, event: MailEvent, status: EnhancedStatus | None
    ) -> tuple[MailEvent, EnhancedStatus, Rule] | None:
        """The underlying error behind an expiry or an unspecific status, if a specific rule
        knows it. "550 4.4.7 QUEUE.Expired" after 24 hours of "450 4.7.320 ... SubjectMismatch"
        ([LED=...]) is a certificate problem, and "451 4.4.0 Primary target IP address responded
        with: 421 4.4.1 Connection timed out" is a time-out, not merely a 4.4.0."""
        if status is not None and not _is_wrapper(status):
            return None  # "450 4.4.317 ... [Message=451 5.7.3 ...]": the outer code is the story
        led = event.fields.get("led")
        if isinstance(led, str) and led:
            inner = led[:MAX_MATCH_TEXT]
        elif status is not None:
            inner = event.text[:MAX_MATCH_TEXT]
        else:
            return None
        for found in _REPLY_AND_STATUS.finditer(inner):
            inner_status = parse(found.group(2))
            if inner_status is None or inner_status == status:
                continue
            cause = replace(
                event, text=inner[found.start() :], status=str(inner_status),
                reply_code=found.group(1) or event.reply_code,
            )  # fmt: skip
            rule = self._select(cause, inner_status)
            if rule is None or rule.check == "any_status":
                return None
            return cause, inner_status, rule
        return None

    # -- aggregation ---------------------------------------------------------------------

    def _add(
        self,
        rule: Rule,
        event: MailEvent,
        status: EnhancedStatus | None,
        facts: Mapping[str, FieldValue],
        count: int,
    ) -> None:
        base = (
            rule.id,
            rule.variant,
            *[_group_value(name, facts, status) for name in rule.group_by],
        )
        key = (*base, str(status or ""))
        group = self._groups.get(key) or self._codeless_twin(base, status, event.reply_code)
        timestamp = facts.get("last_seen") or facts.get("timestamp")
        if group is None:
            if len(self._groups) >= self.max_findings:
                self._dropped += count
                return
            self._groups[key] = _Group(
                rule, status, event.reply_code, _capped_fields(facts), count, None
            )
            return
        group.occurrences += count
        if isinstance(timestamp, str):
            group.last_timestamp = timestamp[:MAX_FIELD_CHARS]

    def _codeless_twin(
        self, base: tuple[str, ...], status: EnhancedStatus | None, reply_code: str | None
    ) -> _Group | None:
        """The same problem logged once without a code and once with one (Postfix's TLS warning,
        then its `status=deferred (... 4.7.5 ...)` line) is one finding, carrying the code."""
        if status is None:
            return next((g for k, g in self._groups.items() if k[:-1] == base), None)
        codeless = self._groups.pop((*base, ""), None)
        if codeless is not None:
            codeless.status = status
            codeless.reply_code = codeless.reply_code or reply_code
            self._groups[(*base, str(status))] = codeless
        return codeless

    # -- certificates presented by connectors (protocol logs) ----------------------------

    def _remember_expected_name(self, event: MailEvent) -> None:
        fqdn = event.fields.get("fqdn")
        if not isinstance(fqdn, str) or fqdn in self._expected_seen:
            return
        if len(self._expected_seen) >= MAX_EXPECTED_NAMES * 4:
            return
        self._expected_seen.add(fqdn)
        if len(self._expected) >= MAX_EXPECTED_NAMES:
            return
        if event.source is InputKind.MESSAGE_TRACE or (event.status or "").endswith(".7.320"):
            name = names.canonical(fqdn)
            if _looks_like_host(name):
                self._expected.add(name)

    def _remember_certificate(self, event: MailEvent) -> None:
        fields = event.fields
        key = (
            event.kind.value,
            str(fields.get("connector", "")),
            str(fields.get("thumbprint", "")),
            str(fields.get("subject", "")),
            str(fields.get("issuer", "")),
            str(fields.get("fqdn", "")),
        )
        seen = self._presented.get(key)
        if seen is not None:
            seen.count += _weight(event)
        elif len(self._presented) < MAX_PRESENTED:
            self._presented[key] = _Presented(event, _weight(event))
        else:
            self._dropped += _weight(event)

    def _judge_certificate(self, presented: _Presented) -> None:
        event = presented.event
        facts: dict[str, FieldValue] = dict(event.fields)
        self_signed = _is_self_signed(facts)
        cert_names = _certificate_names(facts)
        expected = self._uncovered_expected_name(facts, cert_names)
        if self_signed and not expected:
            expected = _first_uncovered(sorted(self._peer_names), cert_names)
        if expected:
            facts["expected_name"] = expected
        if cert_names and "common_name" not in facts:
            common = _common_name(str(facts.get("subject", "")))
            if common:
                facts["common_name"] = common
        expired = _expired_when_seen(facts)
        internal_only = _peer_is_exchange_online(facts) is False and not self._expected
        checks = {
            "self_signed": self_signed and not internal_only,
            "expired": expired and not self_signed and not internal_only,
            "name_not_covered": bool(expected) and not self_signed and not expired,
            "capability_missing": _capability_missing(facts),
        }
        status = parse(event.status)
        values = _string_fields(facts)
        for rule in self.knowledge.candidates(status):
            if _applies(rule, event, status, _match_text(event), values, checks=checks):
                self._add(rule, event, status, facts, presented.count)
                return

    def _names_served_to_exchange_online(self) -> set[str]:
        """Host names that receive connectors announced to Exchange Online and covered with a
        CA-issued certificate: the hybrid name(s) every server behind it must present too."""
        found: set[str] = set()
        for presented in self._presented.values():
            facts = presented.event.fields
            fqdn = facts.get("fqdn")
            if (
                presented.event.kind is EventKind.CERT_PRESENTED
                and isinstance(fqdn, str)
                and _peer_is_exchange_online(facts) is True
                and not _is_self_signed(facts)
                and names.covered(_certificate_names(facts), fqdn)
            ):
                name = names.canonical(fqdn)
                if _looks_like_host(name) and len(found) < MAX_EXPECTED_NAMES:
                    found.add(name)
        return found

    def _uncovered_expected_name(
        self, facts: Mapping[str, FieldValue], cert_names: tuple[str, ...]
    ) -> str | None:
        # A name Exchange Online connected to (message trace) is what the certificate must
        # cover; otherwise the event's own FQDN, unless the peers were not Exchange Online.
        candidates = sorted(self._expected)
        own = facts.get("fqdn")
        peers_were_exo = _peer_is_exchange_online(facts) is not False
        if not candidates and isinstance(own, str) and own and peers_were_exo:
            candidates = [names.canonical(own)]
        return _first_uncovered(candidates, cert_names)

    # -- building findings ---------------------------------------------------------------

    def _finding(self, group: _Group) -> Finding:
        rule = group.rule
        values = self._values(group)
        fields: dict[str, FieldValue] = dict(group.fields)
        fields["occurrences"] = group.occurrences
        derived_names = ["tls_certificate_name", "server", "x500_address"]
        if rule.reason == REASON_FROM_STATUS:
            derived_names.append("meaning")
        for derived in derived_names:
            if derived in values and derived not in fields:
                fields[derived] = values[derived]
        if group.last_timestamp and group.last_timestamp != fields.get("timestamp"):
            fields["last_timestamp"] = group.last_timestamp
        fields = _without_twins(fields)
        text_values = {k: _one_line(v)[:MAX_TEMPLATE_VALUE] for k, v in values.items()}
        return Finding(
            id=rule.id,
            severity=rule.severity_for(group.status),
            summary=_tidy(render_text(rule.summary, text_values)),
            explanation=_tidy(render_text(rule.explanation, text_values)),
            fields=fields,
            fixes=_fixes(rule, values, text_values),
            status=str(group.status) if group.status else None,
            reply_code=group.reply_code,
            reason=self._reason(rule, group.status),
            probe=_probe(rule, values),
        )

    def _values(self, group: _Group) -> dict[str, str]:
        values = _string_fields(group.fields)
        values["occurrences"] = str(group.occurrences)
        if "message" not in values and "tls_error" in values:
            values["message"] = values["tls_error"]
        if group.last_timestamp:
            values["last_timestamp"] = group.last_timestamp
        if group.reply_code:
            values["reply_code"] = group.reply_code
        if group.status is not None:
            described = self.knowledge.status_table.describe(group.status)
            values.update(
                status=str(group.status),
                meaning=described.meaning,
                class_meaning=described.class_meaning,
                subject_meaning=described.subject_meaning,
                subject_explanation=described.subject_explanation,
                detail_meaning=described.detail_meaning,
                detail_explanation=described.detail_explanation,
            )
        for address, target in (("recipient", "recipient_domain"), ("sender", "sender_domain")):
            domain = _domain_of(values.get(address, ""))
            if domain and target not in values:
                values[target] = domain
        x500 = _x500_from_imceaex(values.get("recipient", ""))
        if x500:
            values["x500_address"] = x500
        connector = values.get("connector", "")
        if "server" not in values and "\\" in connector:
            values["server"] = connector.split("\\", 1)[0]
        if values.get("issuer") and values.get("subject"):
            values["tls_certificate_name"] = powershell.tls_certificate_name(
                values["issuer"], values["subject"]
            )
        if "thumbprint" in values:
            try:
                values["thumbprint"] = powershell.thumbprint(values["thumbprint"])
            except powershell.UnsafeValueError:
                del values["thumbprint"]
        return values

    def _reason(self, rule: Rule, status: EnhancedStatus | None) -> str:
        if rule.reason != REASON_FROM_STATUS:
            return rule.reason
        if status is None:
            return "undefined"
        return self.knowledge.status_table.describe(status).reason

    def _truncation_finding(self) -> Finding:
        rule = next(r for r in self.knowledge.rules if r.id == TRUNCATED_ID)
        values = {"count": str(self._dropped), "occurrences": str(self._dropped)}
        return Finding(
            id=rule.id,
            severity=rule.severity,
            summary=render_text(rule.summary, values),
            explanation=render_text(rule.explanation, values),
            fields={"count": self._dropped},
            reason=rule.reason if rule.reason != REASON_FROM_STATUS else "undefined",
        )


def findings_from_events(
    events: Iterable[MailEvent], knowledge: Knowledge | None = None
) -> tuple[Finding, ...]:
    """Diagnose a stream of events: aggregated findings, most severe first."""
    engine = RuleEngine(knowledge if knowledge is not None else load_knowledge())
    for event in events:
        engine.feed(event)
    return engine.findings()


# ------------------------------------------------------------------------------------------
# helpers


def _applies(
    rule: Rule,
    event: MailEvent,
    status: EnhancedStatus | None,
    text: str,
    values: Mapping[str, str],
    *,
    checks: Mapping[str, bool] | None = None,
) -> bool:
    if rule.kinds and event.kind not in rule.kinds:
        return False
    if rule.sources and event.source not in rule.sources:
        return False
    if rule.reply_codes and event.reply_code not in rule.reply_codes:
        return False
    if rule.check is not None and not _check(rule.check, status, checks):
        return False
    if any(not values.get(name) for name in rule.requires):
        return False
    for name, pattern in rule.field_patterns:
        value = values.get(name)
        if not value or pattern.search(value[:MAX_MATCH_TEXT]) is None:
            return False
    if rule.text is not None and rule.text.search(text) is None:
        return False
    return rule.not_text is None or rule.not_text.search(text) is None


def _peer_is_exchange_online(facts: Mapping[str, FieldValue]) -> bool | None:
    """Whether the peer of the session was Exchange Online: the parser's verdict, or the EHLO
    name the peer announced (*.outbound.protection.outlook.com); None when unknown."""
    ehlo = facts.get("remote_ehlo")
    if isinstance(ehlo, str) and names.canonical(ehlo).endswith(".protection.outlook.com"):
        return True
    return _flag(facts.get("exchange_online"))


def _capability_missing(facts: Mapping[str, FieldValue]) -> bool:
    """Exchange Online talked to a receive connector whose TlsDomainCapabilities lacks the
    hybrid capability (AcceptCloudServicesMail; AcceptOorgProtocol on Exchange 2010)."""
    capabilities = facts.get("capabilities")
    if not isinstance(capabilities, str) or _peer_is_exchange_online(facts) is not True:
        return False
    lowered = capabilities.lower()
    return "acceptcloudservicesmail" not in lowered and "acceptoorgprotocol" not in lowered


def _first_uncovered(candidates: list[str], cert_names: tuple[str, ...]) -> str | None:
    if not candidates or not cert_names or any(names.covered(cert_names, c) for c in candidates):
        return None
    return candidates[0]


def _is_wrapper(status: EnhancedStatus) -> bool:
    """Codes that often wrap the real error: undefined details, expiry (x.4.7, 5.4.300)."""
    return status.detail == 0 or (status.subject == 4 and status.detail in (7, 300))


def _weight(event: MailEvent) -> int:
    """How many occurrences one event stands for (parsers may pre-aggregate with `count`)."""
    count = event.fields.get("count")
    return count if isinstance(count, int) and 0 < count < 10**12 else 1


def _flag(value: FieldValue | None) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in {"false", "no", "0"}:
        return False
    return None


_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
)


def _parse_time(value: FieldValue | None) -> datetime | None:
    """Dates as Exchange logs and parsers write them; naive values are taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()[:64]
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)  # naive: made UTC below
                break
            except ValueError:
                continue
        else:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _expired_when_seen(facts: Mapping[str, FieldValue]) -> bool:
    """The certificate's end date lies before the time the log saw it being presented."""
    not_after = _parse_time(facts.get("not_after"))
    seen = _parse_time(facts.get("last_seen")) or _parse_time(facts.get("timestamp"))
    return not_after is not None and seen is not None and not_after < seen


def _check(name: str, status: EnhancedStatus | None, checks: Mapping[str, bool] | None) -> bool:
    if name == "any_status":
        return status is not None
    return bool(checks and checks.get(name, False))


def _match_text(event: MailEvent) -> str:
    text = event.text[:MAX_MATCH_TEXT]
    for name in ("message", "tls_error"):
        detail = event.fields.get(name)
        if isinstance(detail, str) and detail and detail not in text:
            text = f"{text}\n{detail[:MAX_FIELD_CHARS]}"
    return text


def _string_fields(fields: Mapping[str, FieldValue]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in fields.items():
        if isinstance(value, tuple):
            text = ", ".join(str(v) for v in value[:MAX_FIELD_ITEMS])
        else:
            text = str(value)
        if text:
            result[key] = text[:MAX_FIELD_CHARS]
    return result


def _capped_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    capped: dict[str, FieldValue] = {}
    for key, value in fields.items():
        if isinstance(value, tuple):
            capped[key] = tuple(str(v)[:MAX_FIELD_CHARS] for v in value[:MAX_FIELD_ITEMS])
        elif isinstance(value, str):
            capped[key] = value[:MAX_FIELD_CHARS]
        else:
            capped[key] = value
    return capped


def _group_value(name: str, facts: Mapping[str, FieldValue], status: EnhancedStatus | None) -> str:
    value = facts.get(name)
    if type(value) is str:  # the common case first: grouping runs once per event
        return value[:MAX_FIELD_CHARS].lower()
    if name == "status":
        return str(status or "")
    if name in ("recipient_domain", "sender_domain"):
        address = facts.get(name.removesuffix("_domain"))
        return _domain_of(address) if isinstance(address, str) else ""
    value = facts.get(name)
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(value[:MAX_FIELD_ITEMS]).lower()
    return str(value)[:MAX_FIELD_CHARS].lower()


def _domain_of(address: str) -> str:
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip(">").rstrip(".").lower()
    return domain if at and _looks_like_host(domain) else ""


def _looks_like_host(name: str) -> bool:
    """A plausible DNS host name (A-label form), e.g. worth handing to the live probe."""
    if not 3 <= len(name) <= 253 or "." not in name:
        return False
    labels = name.rstrip(".").split(".")
    if labels[-1].isdigit():  # an IPv4 address is not a host name
        return False
    return all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)
        for label in labels
    )


def _probe(rule: Rule, values: Mapping[str, str]) -> str | None:
    for name in rule.probe:
        candidate = names.canonical(values.get(name, "").split(":", 1)[0])
        if _looks_like_host(candidate):
            return candidate
    return None


def _fixes(
    rule: Rule, values: Mapping[str, str], text_values: Mapping[str, str]
) -> tuple[Fix, ...]:
    fixes: list[Fix] = []
    for template in rule.fixes:
        if any(values.get(name) for name in template.unless):
            continue
        if any(not values.get(name) for name in template.requires):
            continue
        title = _tidy(render_text(template.title, text_values))
        if template.powershell is None:
            fixes.append(Fix(title))
            continue
        needed = powershell.placeholders(template.powershell)
        missing = {name for name in needed if not values.get(name)}
        if missing and template.optional:
            continue
        filled = {name: values.get(name) or _HINTS.get(name, f"<{name}>") for name in needed}
        fixes.append(Fix(title, powershell.render(template.powershell, filled).strip()))
    return tuple(fixes)


def _x500_from_imceaex(address: str) -> str | None:
    """The X500 proxy address hidden in an IMCEAEX recipient of an NDR.

    IMCEAEX-_o=Org_ou=Exchange+20Administrative+20Group..._cn=Recipients_cn=user@contoso.com
    becomes X500:/o=Org/ou=Exchange Administrative Group.../cn=Recipients/cn=user: drop the
    prefix and the @domain, "_" becomes "/", and +XX is the character with hex code XX.
    """
    if not address.upper().startswith("IMCEAEX-"):
        return None
    body = address[len("IMCEAEX-") :].rpartition("@")[0] or address[len("IMCEAEX-") :]
    decoded = _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), body.replace("_", "/"))
    return f"X500:{decoded}" if decoded.startswith("/") else None


def _is_self_signed(facts: Mapping[str, FieldValue]) -> bool:
    flag = facts.get("self_signed")
    if flag is not None:
        return str(flag).strip().lower() in _TRUE
    subject, issuer = facts.get("subject"), facts.get("issuer")
    if not isinstance(subject, str) or not isinstance(issuer, str) or not subject.strip():
        return False
    return _dn_key(subject) == _dn_key(issuer)


def _dn_parts(dn: str) -> list[str]:
    """Split a distinguished name on commas outside double quotes (Windows or RFC 4514 form)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in dn[:MAX_FIELD_CHARS]:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
            current.append(ch)
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch in ",;" and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _dn_key(dn: str) -> tuple[str, ...]:
    """Compare names attribute by attribute, whatever the order and spacing."""
    normalised = []
    for part in _dn_parts(dn):
        attribute, _, value = part.partition("=")
        attribute = {"ST": "S", "EMAILADDRESS": "E"}.get(attribute.strip().upper(), attribute)
        normalised.append(f"{attribute.strip().upper()}={value.strip().strip(chr(34)).lower()}")
    return tuple(sorted(normalised))


def _common_name(subject: str) -> str | None:
    for part in _dn_parts(subject):
        attribute, _, value = part.partition("=")
        if attribute.strip().upper() == "CN":
            return value.strip().strip('"') or None
    return None


def _certificate_names(facts: Mapping[str, FieldValue]) -> tuple[str, ...]:
    raw = facts.get("sans", ())
    items = raw if isinstance(raw, tuple) else tuple(str(raw).replace(";", ",").split(","))
    found: list[str] = []
    for item in items[:5000]:
        for raw_token in str(item).split():
            token = raw_token.strip().removeprefix("DNS:").removeprefix("DNS Name=")
            if token and not token.upper().startswith("IP"):
                found.append(names.canonical(token))
    subject = facts.get("subject")
    common = _common_name(subject) if isinstance(subject, str) else None
    if common:
        found.append(names.canonical(common))
    return tuple(dict.fromkeys(found))


def _without_twins(fields: dict[str, FieldValue]) -> dict[str, FieldValue]:
    """`fields` with each fact once, under the contract's name (see `FIELD_TWINS`)."""
    tidy: dict[str, FieldValue] = {}
    for name, value in fields.items():
        canonical = FIELD_TWINS.get(name)
        if canonical is None:
            tidy[name] = value
            continue
        known = fields.get(canonical)
        if known is None and canonical not in tidy:
            tidy[canonical] = value
        elif not _same_fact(known if known is not None else tidy[canonical], value):
            tidy[name] = value
    return tidy


def _same_fact(one: FieldValue, other: FieldValue) -> bool:
    if isinstance(one, str) and isinstance(other, str):
        return one.strip().rstrip(".").casefold() == other.strip().rstrip(".").casefold()
    return one == other


def _one_line(value: str) -> str:
    return "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in value)


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


__all__ = [
    "FIELD_TWINS",
    "MAX_FINDINGS",
    "TRUNCATED_ID",
    "RuleEngine",
    "findings_from_events",
]
