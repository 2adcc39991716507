"""`Fact`: the one record that passes between the stages of the diagnosis.

A reader turns what it recognises into Facts; enrichment fills in what the text says without a
label (addresses, hosts, nested replies, the provider); the reason classifier, the cause rules
and the playbooks read them. Every fact uses the canonical field names of the JSON contract
(`recipient`, `sender`, `remote_host`, `ip`, `reporting_mta`, `server`, `connector`, ...), so no
stage needs to know which reader wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import MappingProxyType

from bot.core.models import FieldValue

MAX_TEXT = 2000  # characters kept of a diagnostic text
MAX_VALUE = 512  # characters kept of one fact


class FactKind(StrEnum):
    DELIVERY = "delivery"  # what happened to a message for a recipient (failed, delayed, ...)
    CERTIFICATE = "certificate"  # a certificate one of our connectors presented
    PEER_CERTIFICATE = "peer_certificate"  # the certificate the other side presented
    TLS = "tls"  # a TLS negotiation failure seen in a log
    EHLO = "ehlo"  # an EHLO reply (extensions offered, masked keywords)
    EVENT = "event"  # a Windows event of the transport services (certificates, authentication)
    NOTICE = "notice"  # not a failure: feedback report, vacation reply, delivery notice
    CONFIG = "config"  # a configuration problem the cross-check found (bot.core.diagnose.config)


# The source of the facts the free-text fallback reader finds (a reply pasted on its own).
# What a message-trace row says when only its status is known (no detail was pasted).
TRACE_STATUS_TEXT = "Message trace status: "
FREE_TEXT_SOURCE = "text"


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply of a chain: the outermost first, then what it wrapped (`->`, `LED=`,
    "responded with", "Remote server returned")."""

    reply_code: str | None
    status: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Certificate:
    subject: str | None = None
    issuer: str | None = None
    thumbprint: str | None = None
    sans: tuple[str, ...] = ()
    not_before: str | None = None
    not_after: str | None = None
    self_signed: bool | None = None
    serial: str | None = None

    def to_fields(self) -> dict[str, FieldValue]:
        out: dict[str, FieldValue] = {}
        for name in ("subject", "issuer", "thumbprint", "not_before", "not_after", "serial"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.sans:
            out["sans"] = self.sans
        if self.self_signed is not None:
            out["self_signed"] = "true" if self.self_signed else "false"
        return out


@dataclass(frozen=True, slots=True)
class Fact:
    source: str  # the reader that wrote it: "rfc3464", "postfix", "message_trace", ...
    kind: FactKind = FactKind.DELIVERY
    recipient: str | None = None
    sender: str | None = None
    action: str | None = None  # failed | delayed | delivered | relayed | expanded | ...
    status: str | None = None  # enhanced status code "5.1.1"
    reply_code: str | None = None  # "550"
    replies: tuple[Reply, ...] = ()  # nested replies, outermost first
    diagnostic: str = ""  # the verbatim diagnostic text
    diagnostic_type: str | None = None  # "SMTP", "X-UNIX", "X-POSTFIX" (RFC 3464)
    command: str | None = None  # the SMTP command the reply answered: MAIL, RCPT, DATA, ...
    remote_host: str | None = None
    ip: str | None = None
    reporting_mta: str | None = None
    server: str | None = None  # an Exchange server (the one that reported or logged it)
    connector: str | None = None
    fqdn: str | None = None  # the host name a connector announces / a certificate must cover
    timestamp: str | None = None
    certificate: Certificate | None = None
    reason: str | None = None  # set by a reader when the format itself says (feedback, ...)
    provider: str | None = None  # set by enrichment: "microsoft", "google", ...
    lines: tuple[int, int] = (0, 0)  # 1-based first and last input line (0: unknown)
    count: int = 1  # how many identical observations this fact stands for
    evidence: tuple[tuple[int, str], ...] = ()  # (line number, text) of the first lines
    extra: Mapping[str, FieldValue] = field(default_factory=dict)  # other named facts

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def with_(self, **changes: object) -> Fact:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def text(self) -> str:
        """All the wording a classifier should read: the diagnostic and every nested reply."""
        if not self.replies:
            return self.diagnostic
        inner = " ".join(reply.text for reply in self.replies if reply.text not in self.diagnostic)
        return f"{self.diagnostic} {inner}".strip()

    def get(self, name: str) -> FieldValue | None:
        """A fact by its canonical field name (core fields, certificate fields, extras)."""
        if name in _CORE:
            value = getattr(self, name)
            return value if value not in (None, "") else None
        if self.certificate is not None and name in _CERT:
            value = getattr(self.certificate, name)
            if isinstance(value, bool):
                return "true" if value else "false"
            return value or None
        return self.extra.get(name)

    def fields(self) -> dict[str, FieldValue]:
        """Every known fact under its canonical name (for findings and templates)."""
        out: dict[str, FieldValue] = {}
        for name in _FIELD_ORDER:
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        if self.certificate is not None:
            out.update(self.certificate.to_fields())
        for name, value in self.extra.items():
            if value not in (None, "", ()) and name not in out:
                out[name] = value
        return out


_FIELD_ORDER = (
    "sender", "recipient", "action", "remote_host", "ip", "reporting_mta", "server", "connector",
    "fqdn", "command", "timestamp", "diagnostic",
)  # fmt: skip
# The canonical names of the facts a finding carries (the README lists them).
CANONICAL_FIELDS = (
    "sender", "recipient", "remote_host", "ip", "reporting_mta", "server", "connector", "fqdn",
    "command", "timestamp", "diagnostic", "thumbprint", "subject", "issuer", "sans", "not_before",
    "not_after", "self_signed",
)  # fmt: skip
_CORE = frozenset(f.name for f in fields(Fact)) - {
    "extra", "certificate", "replies", "lines", "evidence",
}  # fmt: skip
_CERT = frozenset(f.name for f in fields(Certificate))


def clip(value: str, limit: int = MAX_VALUE) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"
