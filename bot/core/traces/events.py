"""The common currency between the text parsers (bot.core.traces.*) and the rule engine
(bot.core.diagnose): one MailEvent per error, status line or TLS observation found in the input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.models import FieldValue


class InputKind(StrEnum):
    """What kind of text a parser recognised; also `input.kind` in `mailflow diagnose --json`."""

    MESSAGE_TRACE = "message_trace"  # Exchange Online message-trace reason ({LED=...};{MSG=...})
    NDR = "ndr"  # NDR body as Outlook / OWA show it
    DSN = "dsn"  # RFC 3464 delivery status notification (.eml, message/delivery-status)
    QUEUE = "queue"  # Exchange Get-Queue / Get-Message LastError
    PROTOCOL_LOG = "protocol_log"  # Exchange SmtpReceive / SmtpSend protocol log (CSV)
    POSTFIX = "postfix"  # Postfix log lines
    EXIM = "exim"  # Exim log lines
    BOUNCE = "bounce"  # Gmail / Postfix / Exim bounce message text
    TEXT = "text"  # anything else (only enhanced status codes are read from it)
    MIXED = "mixed"  # several of the above in one input
    EMPTY = "empty"


class EventKind(StrEnum):
    SMTP_ERROR = "smtp_error"  # a reply / status / diagnostic text with codes
    CERT_PRESENTED = "cert_presented"  # a connector presented this certificate (protocol log)
    REMOTE_CERT = "remote_cert"  # the peer's certificate (protocol log)
    TLS_FAILURE = "tls_failure"  # a TLS negotiation failure (protocol log, MTA log)


@dataclass(frozen=True, slots=True)
class MailEvent:
    source: InputKind
    kind: EventKind
    text: str  # the error text as found (capped length)
    status: str | None = None  # enhanced status code, e.g. "4.7.320"
    reply_code: str | None = None  # e.g. "450"
    # Extracted facts, using the same names as Finding.fields: fqdn, ip, server, connector,
    # session, thumbprint, subject, issuer, sans, recipient, sender, timestamp, message, ...
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
