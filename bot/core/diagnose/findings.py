"""Facts (enriched, with their reason) -> Findings: one cause, one finding, facts merged.

`FindingBuilder.add` matches a fact against the cause rules (most specific first) and adds it to
the finding of its cause and key facts (`group_by`), counting occurrences. Certificates that
connectors presented are judged at the end, because the name they must cover may come from a
message trace later in the same case. Memory is bounded: at most MAX_FINDINGS findings,
MAX_PRESENTED distinct certificates, a capped memo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.core import dn, names, powershell
from bot.core.diagnose.causes import EXCHANGE_SOURCES, Cause, CauseBook
from bot.core.diagnose.codes import SAID_PREFIX
from bot.core.diagnose.enrich import inner_status, is_wrapper
from bot.core.diagnose.fact import Fact, FactKind
from bot.core.diagnose.mailbox_providers import is_public_mailbox
from bot.core.diagnose.playbooks import Playbooks
from bot.core.enhanced_status import EnhancedStatus, parse
from bot.core.models import FieldValue, Finding, most_severe_first
from bot.core.tables import fill

MAX_FINDINGS = 200
MAX_PRESENTED = 1000
MAX_EXPECTED_NAMES = 32
MAX_MATCH_TEXT = 2048
MAX_FIELD_CHARS = 512
MAX_FIELD_ITEMS = 50
MAX_TEMPLATE_VALUE = 200
MAX_EVIDENCE = 5
_MEMO_LIMIT = 8192
TRUNCATED_ID = "diagnose.truncated"
GENERIC_ID = "status.generic"

_CERT_KINDS = frozenset({FactKind.CERTIFICATE, FactKind.PEER_CERTIFICATE})
# Kinds only causes that name them may take (a configuration fact has no code or text).
_OWN_KINDS = _CERT_KINDS | {FactKind.CONFIG}
_TRUE = frozenset({"true", "yes", "1"})
_SPACES = re.compile(r" {2,}")
_HEX_ESCAPE = re.compile(r"\+([0-9A-Fa-f]{2})")
# Facts every finding keeps when the input held them (the rest only when the cause groups by them).
_FACT_FIELDS = (
    "sender", "recipient", "remote_host", "ip", "reporting_mta", "server", "connector", "fqdn",
    "command", "timestamp", "diagnostic", "thumbprint", "subject", "issuer", "sans", "not_before",
    "not_after",
    "self_signed", "message", "led", "original_recipient", "message_id", "message_subject",
    "tls_domain", "capabilities", "remote_ehlo", "tls_error", "queue", "next_hop_domain",
    "event_id", "source_name", "source_context", "session", "first_seen", "last_seen", "direction",
    "local_ip",
    "remote_ip", "inner_status", "provider", "chain_status", "log_type", "exchange_online",
    "serial", "last_attempted_server_name", "connector_id", "sending_ip",
    "trace_status", "queue_status", "message_count", "queue_id",
)  # fmt: skip


@dataclass(slots=True)
class _Group:
    cause: Cause
    status: EnhancedStatus | None
    reply_code: str | None
    reason: str
    fields: dict[str, FieldValue]
    evidence: list[tuple[int, str]]
    occurrences: int = 1
    last_timestamp: str | None = None
    delayed: bool = False


@dataclass(slots=True)
class _Presented:
    fact: Fact
    reason: str
    count: int = 1


@dataclass
class FindingBuilder:
    causes: CauseBook
    playbooks: Playbooks
    reason_texts: Mapping[str, str] = field(default_factory=dict)
    max_findings: int = MAX_FINDINGS
    _groups: dict[tuple[str, ...], _Group] = field(default_factory=dict)
    _memo: dict[tuple[object, ...], Cause | None] = field(default_factory=dict)
    _narrowed: dict[tuple[object, ...], tuple[Cause, ...]] = field(default_factory=dict)
    _presented: dict[tuple[str, ...], _Presented] = field(default_factory=dict)
    _expected: set[str] = field(default_factory=set)
    _expected_seen: set[str] = field(default_factory=set)
    _peer_names: set[str] = field(default_factory=set)
    _dropped: int = 0

    def add(self, fact: Fact, reason: str) -> None:
        if fact.kind in _CERT_KINDS:
            self._remember_certificate(fact, reason)
            return
        self._remember_expected_name(fact)
        status = parse(fact.status)
        cause: Cause | None
        inner = self._inner_cause(fact, status, reason)
        if inner is not None:
            fact, status, cause = inner
        else:
            cause = self._select(fact, status, reason)
        if cause is not None:
            self._add(cause, fact, status, reason, max(1, fact.count))

    def findings(self) -> tuple[Finding, ...]:
        self._peer_names = self._names_served_to_exchange_online()
        for presented in self._presented.values():
            self._judge_certificate(presented)
        self._presented.clear()
        built = [self._finding(group) for group in self._groups.values()]
        if self._dropped:
            built.append(self._truncation_finding())
        return tuple(most_severe_first(built))

    # -- matching ------------------------------------------------------------------------

    def _select(
        self,
        fact: Fact,
        status: EnhancedStatus | None,
        reason: str,
        checks: Mapping[str, bool] | None = None,
    ) -> Cause | None:
        """The first cause (most specific first) that `fact` is evidence of; memoised on what
        the conditions read."""
        text = _match_text(fact)
        facts = fact.fields()
        key = (
            fact.kind, fact.source, fact.status, fact.reply_code, reason, fact.provider, text,
            tuple(sorted(name for name, value in facts.items() if value)),
            tuple(str(facts.get(name, "")) for name in self._pattern_fields),
        )  # fmt: skip
        if checks is None and key in self._memo:
            return self._memo[key]
        values = _string_fields(facts)
        found = next(
            (
                cause
                for cause in self._candidates(status, fact, reason)
                if _applies(
                    cause, fact, status, reason=reason, text=text, values=values, checks=checks
                )
            ),
            None,
        )
        if checks is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _candidates(
        self, status: EnhancedStatus | None, fact: Fact, reason: str
    ) -> tuple[Cause, ...]:
        """The causes for `status` whose kind, source and reason lists admit the fact (the
        first tests of _applies, done once per combination), most specific first."""
        key = (status, fact.kind, fact.source, reason)
        found = self._narrowed.get(key)
        if found is None:
            found = tuple(
                cause
                for cause in self.causes.candidates(status)
                if _admits(cause, fact.kind, fact.source, reason)
            )
            if len(self._narrowed) >= _MEMO_LIMIT:
                self._narrowed.clear()
            self._narrowed[key] = found
        return found

    @property
    def _pattern_fields(self) -> tuple[str, ...]:
        return self.causes.pattern_fields

    def _inner_cause(
        self, fact: Fact, status: EnhancedStatus | None, reason: str
    ) -> tuple[Fact, EnhancedStatus, Cause] | None:
        """The error behind an expiry or an unspecific code, when a specific cause knows it.
        "550 4.4.7 QUEUE.Expired" after 24 hours of "450 4.7.320 ... SubjectMismatch" is a
        certificate problem; "451 4.4.0 ... responded with: 421 4.4.1 Connection timed out" is
        a time-out."""
        if status is not None and not is_wrapper(str(status)) and status.detail != 0:
            return None
        reply = inner_status(fact)
        if reply is None or reply.status is None:
            return None
        inner = parse(reply.status)
        if inner is None or inner == status:
            return None
        unwrapped = replace(
            fact,
            status=str(inner),
            reply_code=reply.reply_code or fact.reply_code,
            diagnostic=_inner_text(fact.diagnostic, reply.text),
        )
        cause = self._select(unwrapped, inner, reason)
        if cause is None or cause.id == GENERIC_ID:
            return None
        if cause.priority < 0 and _specific(self._select(fact, status, reason)):
            return None  # the inner error has only a catch-all cause; the outer code's own stands
        keep = (
            replace(unwrapped, extra={**fact.extra, "inner_status": str(inner)})
            if status
            else unwrapped
        )
        return keep, inner, cause

    # -- aggregation ---------------------------------------------------------------------

    def _add(
        self, cause: Cause, fact: Fact, status: EnhancedStatus | None, reason: str, count: int
    ) -> None:
        facts = fact.fields()
        unix_mta = _unix_mta(fact)
        if unix_mta:
            facts["unix_mta"] = unix_mta
        base = (
            cause.id,
            cause.variant,
            *[_group_value(name, facts, status) for name in cause.group_by],
        )
        key = (*base, str(status or ""))
        group = self._groups.get(key) or self._codeless_twin(base, status, fact.reply_code)
        timestamp = facts.get("last_seen") or facts.get("timestamp")
        if group is None:
            if len(self._groups) >= self.max_findings:
                self._dropped += count
                return
            self._groups[key] = _Group(
                cause, status, fact.reply_code, reason, _capped_fields(facts),
                list(_evidence(fact)), count, None, fact.action == "delayed",
            )  # fmt: skip
            return
        group.occurrences += count
        for name, value in facts.items():
            if name not in group.fields and len(group.fields) < 60:
                group.fields[name] = _capped(value)
        if len(group.evidence) < MAX_EVIDENCE:
            for line in _evidence(fact):
                if line not in group.evidence and len(group.evidence) < MAX_EVIDENCE:
                    group.evidence.append(line)
        if isinstance(timestamp, str):
            group.last_timestamp = timestamp[:MAX_FIELD_CHARS]

    def _codeless_twin(
        self, base: tuple[str, ...], status: EnhancedStatus | None, reply_code: str | None
    ) -> _Group | None:
        """The same problem logged once without a code and once with one is one finding."""
        if status is None:
            return next((g for k, g in self._groups.items() if k[:-1] == base), None)
        codeless = self._groups.pop((*base, ""), None)
        if codeless is not None:
            codeless.status = status
            codeless.reply_code = codeless.reply_code or reply_code
            self._groups[(*base, str(status))] = codeless
        return codeless

    # -- certificates presented by connectors ---------------------------------------------

    def _remember_expected_name(self, fact: Fact) -> None:
        name = fact.remote_host or fact.fqdn
        if not name or name in self._expected_seen:
            return
        if len(self._expected_seen) >= MAX_EXPECTED_NAMES * 4:
            return
        self._expected_seen.add(name)
        if len(self._expected) >= MAX_EXPECTED_NAMES:
            return
        if fact.source == "message_trace" or (fact.status or "").endswith(".7.320"):
            canonical = names.canonical(name)
            if looks_like_host(canonical):
                self._expected.add(canonical)

    def _remember_certificate(self, fact: Fact, reason: str) -> None:
        cert = fact.certificate
        key = (
            fact.kind.value,
            fact.connector or "",
            (cert.thumbprint if cert else "") or "",
            (cert.subject if cert else "") or "",
            (cert.issuer if cert else "") or "",
            fact.fqdn or "",
        )
        seen = self._presented.get(key)
        if seen is not None:
            seen.count += max(1, fact.count)
        elif len(self._presented) < MAX_PRESENTED:
            self._presented[key] = _Presented(fact, reason, max(1, fact.count))
        else:
            self._dropped += max(1, fact.count)

    def _judge_certificate(self, presented: _Presented) -> None:
        fact = presented.fact
        facts = fact.fields()
        self_signed = is_self_signed(facts)
        cert_names = certificate_names(facts)
        expected = self._uncovered_expected_name(facts, cert_names)
        if self_signed and not expected:
            expected = _first_uncovered(sorted(self._peer_names), cert_names)
        extra = dict(fact.extra)
        if expected:
            extra["expected_name"] = expected
        if cert_names and "common_name" not in facts:
            common = dn.common_name(str(facts.get("subject", "")))
            if common:
                extra["common_name"] = common
        fact = replace(fact, extra=extra)
        expired = _expired_when_seen(facts)
        internal_only = _peer_is_exchange_online(facts) is False and not self._expected
        checks = {
            "self_signed": self_signed and not internal_only,
            "expired": expired and not self_signed and not internal_only,
            "name_not_covered": bool(expected) and not self_signed and not expired,
            "capability_missing": _capability_missing(facts),
        }
        status = parse(fact.status)
        cause = self._select(fact, status, presented.reason, checks)
        if cause is not None:
            self._add(cause, fact, status, presented.reason, presented.count)

    def _names_served_to_exchange_online(self) -> set[str]:
        found: set[str] = set()
        for presented in self._presented.values():
            fact = presented.fact
            facts = fact.fields()
            fqdn = fact.fqdn
            if (
                fact.kind is FactKind.CERTIFICATE
                and fqdn
                and _peer_is_exchange_online(facts) is True
                and not is_self_signed(facts)
                and names.covered(certificate_names(facts), fqdn)
            ):
                name = names.canonical(fqdn)
                if looks_like_host(name) and len(found) < MAX_EXPECTED_NAMES:
                    found.add(name)
        return found

    def _uncovered_expected_name(
        self, facts: Mapping[str, FieldValue], cert_names: tuple[str, ...]
    ) -> str | None:
        candidates = sorted(self._expected)
        own = facts.get("fqdn")
        peers_were_exo = _peer_is_exchange_online(facts) is not False
        if not candidates and isinstance(own, str) and own and peers_were_exo:
            candidates = [names.canonical(own)]
        return _first_uncovered(candidates, cert_names)

    # -- building findings ---------------------------------------------------------------

    def _finding(self, group: _Group) -> Finding:
        cause = group.cause
        values = self._values(group)
        fields: dict[str, FieldValue] = {
            name: group.fields[name]
            for name in (*_FACT_FIELDS, *cause.group_by)
            if name in group.fields and group.fields[name] not in ("", ())
        }
        for name, value in group.fields.items():
            if name not in fields and name in cause.group_by:
                fields[name] = value
        fields["occurrences"] = group.occurrences
        derived = ["tls_certificate_name", "x500_address", "expected_name", "common_name"]
        if cause.id == GENERIC_ID:
            derived.append("meaning")
        for name in derived:
            if name in values and name not in fields:
                fields[name] = values[name]
        if "server" not in fields and "server" in values:
            fields["server"] = values["server"]
        if group.last_timestamp and group.last_timestamp != fields.get("timestamp"):
            fields["last_timestamp"] = group.last_timestamp
        text_values = {k: _one_line(_words(v, MAX_TEMPLATE_VALUE)) for k, v in values.items()}
        if "diagnostic" in values:  # "{remote_host} said: {diagnostic}" says who said it once
            reply = _SAID_PREFIX.sub("", values["diagnostic"], count=1)
            text_values["diagnostic"] = _one_line(_words(reply, MAX_TEMPLATE_VALUE))
        return Finding(
            id=cause.id,
            severity=cause.severity_for(
                group.status, delayed=group.delayed, reply_code=group.reply_code
            ),
            summary=_tidy(fill(cause.summary, text_values)),
            explanation=_tidy(fill(cause.explanation, text_values)),
            fields=fields,
            fixes=self.playbooks.fixes(cause.id, cause.variant, values, text_values),
            status=str(group.status) if group.status else None,
            reply_code=group.reply_code,
            reason=group.reason,
            probe=_probe(cause, values),
            evidence=tuple(group.evidence),
        )

    def _values(self, group: _Group) -> dict[str, str]:
        values = _string_fields(group.fields)
        values["occurrences"] = str(group.occurrences)
        values["reason"] = group.reason
        meaning = self.reason_texts.get(group.reason)
        if meaning:
            values["reason_meaning"] = meaning.rstrip(".")
        if "message" not in values and "tls_error" in values:
            values["message"] = values["tls_error"]
        if group.last_timestamp:
            values["last_timestamp"] = group.last_timestamp
        if group.reply_code:
            values["reply_code"] = group.reply_code
        if group.status is not None:
            described = self.causes.meanings.describe(group.status)
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
        # the recipient's mailbox is no organisation's own: a public provider's, or the fact
        # comes from a Unix MTA's side (its fixes are shell steps)
        if values.get("unix_mta") or is_public_mailbox(values.get("recipient_domain", "").lower()):
            values["outside_exchange"] = "yes"
        x500 = _x500_from_imceaex(values.get("recipient", ""))
        if x500:
            values["x500_address"] = x500
        connector = values.get("connector", "")
        if "server" not in values and "\\" in connector:
            values["server"] = connector.split("\\", 1)[0]
        if "expected_name" not in values:
            name = values.get("remote_host") or values.get("fqdn")
            if name:
                values["expected_name"] = name
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

    def _truncation_finding(self) -> Finding:
        cause = self.causes.cause(TRUNCATED_ID)
        values = {"count": str(self._dropped), "occurrences": str(self._dropped)}
        return Finding(
            id=cause.id,
            severity=cause.severity,
            summary=fill(cause.summary, values),
            explanation=fill(cause.explanation, values),
            fields={"count": self._dropped},
            reason="undefined",
        )


# ------------------------------------------------------------------------------------------
# helpers


def _specific(cause: Cause | None) -> bool:
    """A cause of its own, not a catch-all for a reason or a status class."""
    return cause is not None and cause.id != GENERIC_ID and cause.priority >= 0


def _admits(cause: Cause, kind: FactKind, source: str, reason: str) -> bool:
    if cause.check == "overflow":
        return False
    if cause.kinds and kind not in cause.kinds:
        return False
    if not cause.kinds and kind in _OWN_KINDS:
        return False
    if cause.sources and source not in cause.sources:
        return False
    return not (cause.reasons and reason not in cause.reasons)


def _applies(
    cause: Cause,
    fact: Fact,
    status: EnhancedStatus | None,
    *,
    reason: str,
    text: str,
    values: Mapping[str, str],
    checks: Mapping[str, bool] | None,
) -> bool:
    """The conditions of `cause` on `fact` beyond those of _admits (checked by _candidates)."""
    if cause.reply_codes and fact.reply_code not in cause.reply_codes:
        return False
    if cause.providers and fact.provider not in cause.providers:
        return False
    if cause.exchange and not _about_exchange(fact):
        return False
    if cause.check is not None and not _check(cause.check, status, checks):
        return False
    if any(not values.get(name) for name in cause.requires):
        return False
    for name, pattern in cause.field_patterns:
        value = values.get(name)
        if not value or pattern.search(value[:MAX_MATCH_TEXT]) is None:
            return False
    if cause.text is not None and cause.text.search(text) is None:
        return False
    return cause.not_text is None or cause.not_text.search(text) is None


def _about_exchange(fact: Fact) -> bool:
    """Was the fact written by Exchange (on-premises or Online) or by a Microsoft server? Its
    reader, the servers it names, or the component codes only Exchange writes tell."""
    if fact.source in EXCHANGE_SOURCES or fact.provider == "microsoft":
        return True
    for name in (fact.reporting_mta, fact.remote_host):
        if name and name.endswith((".outlook.com", ".outlook.cn", ".office365.us")):
            return True
    return _EXCHANGE_WORDS.search(fact.diagnostic[:MAX_MATCH_TEXT]) is not None


# The look-ahead names the first letters of the alternatives: with it the regex engine skips
# to those letters (a pattern whose alternatives start with \b gives it nothing to skip with;
# five times slower on a long text).
_EXCHANGE_WORDS = re.compile(
    r"(?=[RSQCpAU])(?:\b(?:RESOLVER|STOREDRV|SMTPSEND|SMTPSUBMIT|QUEUE|ROUTING|CAT)\.[A-Z][A-Za-z]"
    r"|protection\.outlook\.com|prod\.outlook\.com|primary target IP address"
    r"|Unable to relay recipient in non-accepted domain"
    r"|\bATTR\d{1,3}\b|\bAS\(\d{3,}\))"
)


def _check(name: str, status: EnhancedStatus | None, checks: Mapping[str, bool] | None) -> bool:
    if name == "any_status":
        return status is not None
    return bool(checks and checks.get(name, False))


def _match_text(fact: Fact) -> str:
    text = fact.text[:MAX_MATCH_TEXT]
    for name in ("message", "tls_error"):
        detail = fact.extra.get(name)
        if isinstance(detail, str) and detail and detail not in text:
            text = f"{text}\n{detail[:MAX_FIELD_CHARS]}"
    return text


def _evidence(fact: Fact) -> tuple[tuple[int, str], ...]:
    return tuple(fact.evidence[:MAX_EVIDENCE]) if hasattr(fact, "evidence") else ()


def _peer_is_exchange_online(facts: Mapping[str, FieldValue]) -> bool | None:
    ehlo = facts.get("remote_ehlo")
    if isinstance(ehlo, str) and names.canonical(ehlo).endswith(".protection.outlook.com"):
        return True
    return _flag(facts.get("exchange_online"))


def _capability_missing(facts: Mapping[str, FieldValue]) -> bool:
    capabilities = facts.get("capabilities")
    if not isinstance(capabilities, str) or _peer_is_exchange_online(facts) is not True:
        return False
    lowered = capabilities.lower()
    return "acceptcloudservicesmail" not in lowered and "acceptoorgprotocol" not in lowered


def _first_uncovered(candidates: list[str], cert_names: tuple[str, ...]) -> str | None:
    if not candidates or not cert_names or any(names.covered(cert_names, c) for c in candidates):
        return None
    return candidates[0]


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


def parse_time(value: FieldValue | None) -> datetime | None:
    """Dates as Exchange logs and dumps write them; naive values are taken as UTC."""
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
    not_after = parse_time(facts.get("not_after"))
    seen = parse_time(facts.get("last_seen")) or parse_time(facts.get("timestamp"))
    return not_after is not None and seen is not None and not_after < seen


# Readers whose input an MTA of the Unix family wrote on the user's side (its log, or the bounce it
# generated): the fixes are shell commands for that MTA, not Exchange PowerShell.
_UNIX_MTA_SOURCES = {
    "postfix_log": "postfix", "exim_log": "exim", "postfix": "postfix", "exim": "exim",
    "qmail": "qmail", "sendmail": "sendmail", "v5sendmail": "sendmail", "courier": "courier",
    "opensmtpd": "opensmtpd", "postfix_queue": "postfix",
}  # fmt: skip


def _unix_mta(fact: Fact) -> str:
    named = fact.extra.get("mta")
    if isinstance(named, str) and named:
        return named
    return _UNIX_MTA_SOURCES.get(fact.source, "")


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


def _capped(value: FieldValue) -> FieldValue:
    if isinstance(value, tuple):
        return tuple(str(v)[:MAX_FIELD_CHARS] for v in value[:MAX_FIELD_ITEMS])
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    return value


def _capped_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    return {key: _capped(value) for key, value in fields.items()}


def _group_value(name: str, facts: Mapping[str, FieldValue], status: EnhancedStatus | None) -> str:
    value = facts.get(name)
    if type(value) is str:
        return value[:MAX_FIELD_CHARS].lower()
    if name == "status":
        return str(status or "")
    if name in ("recipient_domain", "sender_domain"):
        address = facts.get(name.removesuffix("_domain"))
        return _domain_of(address) if isinstance(address, str) else ""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(value[:MAX_FIELD_ITEMS]).lower()
    return str(value)[:MAX_FIELD_CHARS].lower()


def _domain_of(address: str) -> str:
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip(">").rstrip(".").lower()
    return domain if at and looks_like_host(domain) else ""


def looks_like_host(name: str) -> bool:
    """A plausible DNS host name (A-label form), e.g. worth handing to the live probe."""
    if not 3 <= len(name) <= 253 or "." not in name:
        return False
    labels = name.rstrip(".").split(".")
    if labels[-1].isdigit():
        return False
    return all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)
        for label in labels
    )


def _probe(cause: Cause, values: Mapping[str, str]) -> str | None:
    for name in cause.probe:
        candidate = names.canonical(values.get(name, "").split(":", 1)[0])
        if looks_like_host(candidate):
            return candidate
    return None


def _x500_from_imceaex(address: str) -> str | None:
    """The X500 proxy address hidden in an IMCEAEX recipient of an NDR: drop the prefix and the
    @domain, "_" becomes "/", and +XX is the character with hex code XX."""
    if not address.upper().startswith("IMCEAEX-"):
        return None
    body = address[len("IMCEAEX-") :].rpartition("@")[0] or address[len("IMCEAEX-") :]
    decoded = _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), body.replace("_", "/"))
    return f"X500:{decoded}" if decoded.startswith("/") else None


def is_self_signed(facts: Mapping[str, FieldValue]) -> bool:
    flag = facts.get("self_signed")
    if flag is not None:
        return str(flag).strip().lower() in _TRUE
    subject, issuer = facts.get("subject"), facts.get("issuer")
    if not isinstance(subject, str) or not isinstance(issuer, str) or not subject.strip():
        return False
    return dn.same(subject, issuer)


def certificate_names(facts: Mapping[str, FieldValue]) -> tuple[str, ...]:
    raw = facts.get("sans", ())
    items = raw if isinstance(raw, tuple) else tuple(str(raw).replace(";", ",").split(","))
    found: list[str] = []
    for item in items[:5000]:
        for raw_token in str(item).split():
            token = raw_token.strip().removeprefix("DNS:").removeprefix("DNS Name=")
            if token and not token.upper().startswith("IP"):
                found.append(names.canonical(token))
    subject = facts.get("subject")
    common = dn.common_name(subject) if isinstance(subject, str) else None
    if common:
        found.append(names.canonical(common))
    return tuple(dict.fromkeys(found))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# What an MTA puts before the server's words: "<a@b>: host mx[192.0.2.1] said: ", "Reply from
# mx [192.0.2.1]: "; the templates name the host themselves.
_SAID_PREFIX = re.compile(
    rf"^(?:{SAID_PREFIX.pattern}|Reply from [\w.-]{{1,253}} \[[0-9A-Fa-f:.]{{2,45}}\]:\s{{0,4}})"
)


def _words(value: str, limit: int) -> str:
    """`value` cut to `limit` characters at a word's end, with an ellipsis when cut."""
    if len(value) <= limit:
        return value
    cut = value[:limit]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut).rstrip(" ,;:") + "\u2026"


def _one_line(value: str) -> str:
    """`value` on one line: control characters and line/paragraph separators become spaces."""
    return _CONTROL.sub(" ", value) if not value.isprintable() else value


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _inner_text(diagnostic: str, inner: str) -> str:
    """The inner reply's own text within the outer diagnostic (up to its closing quote, or to
    the end), or the whole diagnostic when it is not found there."""
    start = diagnostic.find(inner[:20]) if inner else -1
    return diagnostic[start : start + len(inner)] if start >= 0 else diagnostic
