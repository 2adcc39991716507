"""What the probe learned about a domain's transport-security policies (DANE, MTA-STS, TLS-RPT),
as plain data. bot.probe.policies fills these; bot.core.check.policies judges them.

DNSSEC status follows RFC 4035 vocabulary: SECURE (validated), INSECURE (provably unsigned),
BOGUS (signatures present but validation fails), INDETERMINATE (no answer to judge by: the
lookup failed, or nothing could be validated).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DnssecStatus(StrEnum):
    SECURE = "secure"
    INSECURE = "insecure"
    BOGUS = "bogus"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One RRset lookup: the records (as text), how DNSSEC judged it, or why it failed."""

    name: str  # the name asked for, no trailing dot
    rtype: str  # "TLSA", "TXT", "MX"
    values: tuple[str, ...] = ()  # rdata in presentation form; TXT strings joined
    status: DnssecStatus = DnssecStatus.INDETERMINATE
    error: str | None = None  # "NXDOMAIN", "SERVFAIL", "timeout", ...; None: answered
    detail: str = ""  # why BOGUS / INDETERMINATE, or which key validated it

    @property
    def nxdomain(self) -> bool:
        return self.error == "NXDOMAIN"

    @property
    def no_data(self) -> bool:
        """The name does not exist or has no record of this type (not a failure)."""
        return not self.values and (self.error is None or self.nxdomain)


@dataclass(frozen=True, slots=True)
class TlsaLookup:
    """TLSA of one MX host: `_<port>._tcp.<name>` for the CNAME-expanded name first (RFC 7672
    §2.2.3), then the MX name itself when the expanded one has none."""

    host: str  # the MX host name
    answer: DnsAnswer  # the answer used (the expanded name's, or the original's)
    tried: tuple[str, ...] = ()  # TLSA owner names asked, in order


@dataclass(frozen=True, slots=True)
class PolicyFetch:
    """The HTTPS fetch of https://mta-sts.<domain>/.well-known/mta-sts.txt."""

    url: str
    host: str  # mta-sts.<domain>
    ip: str | None = None  # the address connected to
    status: int | None = None  # HTTP status
    content_type: str | None = None
    body: str | None = None  # decoded (UTF-8, escapes for invalid bytes), at most 64 KiB
    location: str | None = None  # Location of a redirect (not followed)
    error: str | None = None  # why the fetch failed: see FETCH_* kinds
    error_kind: str | None = None
    blocked: tuple[str, ...] = ()  # "ip (reason)" of addresses refused by the network policy
    elapsed_ms: float = 0.0


FETCH_DNS = "dns"
FETCH_BLOCKED = "blocked"
FETCH_CONNECT = "connect"
FETCH_TLS = "tls"  # the certificate does not validate (sts-webpki-invalid)
FETCH_TIMEOUT = "timeout"
FETCH_REDIRECT = "redirect"
FETCH_HTTP = "http"  # a status other than 200
FETCH_TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class PolicyEvidence:
    """DANE, MTA-STS and TLS-RPT evidence of one check."""

    validation: str  # how DNSSEC was judged, for humans: "AD bit of 127.0.0.1:53", ...
    mx: DnsAnswer | None = None  # the MX RRset's DNSSEC status (None: --host mode)
    tlsa: tuple[TlsaLookup, ...] = ()
    mta_sts: DnsAnswer | None = None  # TXT _mta-sts.<domain>
    policy: PolicyFetch | None = None  # fetched only when a v=STSv1 record exists
    tlsrpt: DnsAnswer | None = None  # TXT _smtp._tls.<domain>
    elapsed_ms: float = 0.0
