"""What a live probe saw, as plain data. The probe layer fills these; bot.core judges them.

Certificates travel as DER bytes exactly as the server presented them (leaf first);
bot.core.certs describes them (CertInfo, or UnreadableCert) once, in `AttemptEvidence.certs`,
before judgement, so that renderers read facts and never parse DER.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.policy_evidence import PolicyEvidence


class Step(StrEnum):
    """The steps of one STARTTLS probe, in order."""

    CONNECT = "connect"
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    HANDSHAKE = "handshake"
    QUIT = "quit"


class FailureKind(StrEnum):
    TIMEOUT = "timeout"  # a step exceeded its per-step timeout
    DEADLINE = "deadline"  # the overall check deadline ended the attempt
    REFUSED = "refused"  # TCP connection refused
    RESET = "reset"  # connection reset / closed by the peer mid-dialogue
    UNREACHABLE = "unreachable"  # no route, network unreachable
    REJECTED = "rejected"  # the server answered with a 4xx/5xx reply
    PROTOCOL = "protocol"  # the peer did not speak SMTP (garbage, oversized lines)
    TLS = "tls"  # the TLS handshake failed
    INJECTION = "starttls_injection"  # plaintext after the STARTTLS reply: TLS not started
    BLOCKED = "blocked"  # refused by our network policy: never connected


@dataclass(frozen=True, slots=True)
class CertInfo:
    """One certificate of a presented chain, described for humans and for Exchange."""

    der: bytes
    subject: str  # RFC 4514 form
    subject_windows: str  # Windows / Exchange form, e.g. "CN=mail.contoso.com, O=Contoso, C=US"
    issuer: str
    issuer_windows: str
    sans: tuple[str, ...]  # dNSName entries (and "IP:..." for iPAddress entries)
    not_before: datetime  # timezone-aware UTC
    not_after: datetime
    sha1: str  # upper-case hex: the thumbprint Exchange shows
    sha256: str  # upper-case hex
    serial: str  # upper-case hex
    key_type: str  # "RSA", "EC", "Ed25519", "Ed448", "DSA"
    key_bits: int
    signature_algorithm: str  # e.g. "sha256WithRSAEncryption"
    self_signed: bool
    is_ca: bool = False  # basicConstraints cA=TRUE
    ca_issuers: tuple[str, ...] = ()  # AIA caIssuers URLs: where the issuer can be fetched


@dataclass(frozen=True, slots=True)
class UnreadableCert:
    """A presented certificate that cannot be parsed: its hashes and why."""

    der: bytes
    error: str
    sha1: str  # upper-case hex
    sha256: str


PresentedCert = CertInfo | UnreadableCert


@dataclass(frozen=True, slots=True)
class Unsolicited:
    """Bytes the server sent out of turn: already buffered when we were about to send a
    command (`before` that step), or after its STARTTLS reply (`before` the handshake)."""

    before: Step
    text: str  # decoded with escapes, capped
    size: int  # bytes received out of turn (the text may show fewer)


@dataclass(frozen=True, slots=True)
class AttemptEvidence:
    """One connection to one address: what happened at each step, and the presented chain."""

    host: str
    ip: str
    port: int
    attempt: int  # 1-based
    banner: str | None = None  # full (multi-line) greeting, decoded with escapes, capped
    banner_code: int | None = None
    ehlo_code: int | None = None
    ehlo_lines: tuple[str, ...] = ()  # EHLO keywords/extensions after the greeting line
    starttls_offered: bool | None = None  # None: never got that far
    starttls_reply: str | None = None  # e.g. "220 2.0.0 SMTP server ready"
    tls_version: str | None = None  # e.g. "TLSv1.3"
    cipher: str | None = None
    chain: tuple[bytes, ...] = ()  # DER, leaf first, as presented (capped in length)
    chain_presented: int = 0  # how many certificates the server sent (chain keeps the first N)
    certs: tuple[PresentedCert, ...] = ()  # `chain` described (bot.core.check fills it)
    unsolicited: tuple[Unsolicited, ...] = ()  # out-of-turn bytes (early talker, injection)
    failed_step: Step | None = None
    failure: FailureKind | None = None
    error: str | None = None  # short human text of the failure (reply text or exception)
    timings_ms: Mapping[str, float] = field(default_factory=dict)  # Step value -> milliseconds

    @property
    def tls_ok(self) -> bool:
        return bool(self.chain) and self.tls_version is not None


class MxSource(StrEnum):
    MX = "mx"  # real MX records
    NULL_MX = "null_mx"  # RFC 7505 "0 ." : domain accepts no mail
    IMPLICIT = "implicit"  # RFC 5321 5.1: no MX, the name's own A/AAAA used
    HOST = "host"  # --host NAME: probed directly, no MX lookup
    NXDOMAIN = "nxdomain"
    FAILED = "failed"  # SERVFAIL, timeout, refused


@dataclass(frozen=True, slots=True)
class HostEvidence:
    """One MX host (or the --host target): its addresses and every attempt against them."""

    name: str  # A-label, no trailing dot
    preference: int | None
    addresses: tuple[str, ...] = ()  # every address resolved, in DNS order, A and AAAA interleaved
    blocked: tuple[str, ...] = ()  # addresses refused by the network policy
    blocked_reasons: tuple[str, ...] = ()  # parallel to `blocked`, e.g. "loopback address"
    capped: tuple[str, ...] = ()  # allowed addresses beyond the per-host probe limit: not probed
    cname_chain: tuple[str, ...] = ()
    dns_error: str | None = None  # e.g. "NXDOMAIN", "SERVFAIL", "timeout", "no A/AAAA"
    dns_warnings: tuple[str, ...] = ()  # partial trouble, e.g. "AAAA: timeout", "addresses capped"
    attempts: tuple[AttemptEvidence, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckEvidence:
    """Everything one `mailflow check` learned, DNS and SMTP, before any judgement."""

    target: str  # what the user asked for, normalised (A-label)
    domain: str  # the mail domain whose MX was looked up (or the host for --host)
    source: MxSource
    hosts: tuple[HostEvidence, ...] = ()
    dns_error: str | None = None
    cname_chain: tuple[str, ...] = ()  # CNAMEs followed for the MX (or --host) lookup itself
    expected_names: tuple[str, ...] = ()  # --expect-name values, A-labels
    deadline_hit: bool = False
    notes: tuple[str, ...] = ()  # probe-side remarks: limits reached, attempts not retried
    started_at: datetime | None = None
    elapsed_ms: float = 0.0
    target_display: str = ""  # the target for humans (U-label of an IDN); "" = same as target
    policies: PolicyEvidence | None = None  # DANE, MTA-STS, TLS-RPT (None: --no-policies)
