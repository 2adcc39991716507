"""Certificates as a mail server presented them: facts for humans and Exchange, and a judgement
of the chain (pure: no sockets, no clock; the caller passes `now`).

Path validation uses `cryptography.x509.verification` against a trust store (certifi's Mozilla
bundle or a PEM file). That verifier only says *that* a chain fails, checks the name before the
path and knows no CN fallback, so the failure is classified here from the chain itself: subject
mismatch, expiry, self-signed, untrusted root, missing intermediate, weak key and weak signature.

Hostile input (garbage DER, 40-certificate chains, 5,000 SANs) never raises out of
`assess_chain`; work per chain is bounded by MAX_CHAIN and MAX_SANS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from bot.core import names as hostnames
from bot.core.evidence import CertInfo, PresentedCert, UnreadableCert

MAX_CHAIN = 10  # presented certificates examined; the rest of a longer chain is ignored
MAX_SANS = 10_000  # subjectAltName entries kept per certificate
MAX_NAMES = 20  # names a certificate is checked against in one assessment
MAX_DER_BYTES = 1 << 20  # a certificate larger than 1 MiB is not parsed at all
MAX_CA_FILE_BYTES = 32 << 20
EXPIRING_SOON = dt.timedelta(days=30)
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
MIN_DSA_BITS = 2048
PARSE_CACHE_BYTES = 32 << 20  # DER bytes kept in the parsed-certificate cache
PARSE_CACHE_ENTRIES = 4096

# Finding ids (a contract shared with bot.core.check.findings and config/check_findings.toml).
SUBJECT_MISMATCH = "cert.subject_mismatch"
EXPIRED = "cert.expired"
NOT_YET_VALID = "cert.not_yet_valid"
EXPIRING_SOON_ID = "cert.expiring_soon"
SELF_SIGNED = "cert.self_signed"
UNTRUSTED = "cert.untrusted"
CHAIN_INCOMPLETE = "cert.chain_incomplete"
WEAK_KEY = "cert.weak_key"
WEAK_SIGNATURE = "cert.weak_signature"
PROBLEM_IDS = (
    SUBJECT_MISMATCH, EXPIRED, NOT_YET_VALID, EXPIRING_SOON_ID, SELF_SIGNED, UNTRUSTED,
    CHAIN_INCOMPLETE, WEAK_KEY, WEAK_SIGNATURE,
)  # fmt: skip
# Problems that still let a chain count as good (it works today).
WARNING_PROBLEMS = frozenset({EXPIRING_SOON_ID})


class CertificateParseError(ValueError):
    """The bytes are not a certificate we can read."""


class TrustStoreError(ValueError):
    """The CA file cannot be read or holds no certificate."""


# ---------------------------------------------------------------------------------------------
# Windows / Exchange name form
# ---------------------------------------------------------------------------------------------

# X.500 key names Windows (CryptFindOIDInfo, RDN attribute group) prints; other OIDs print as
# "OID.<dotted>". Same table as .NET's OidLookup, which mirrors Windows.
_WINDOWS_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "2.5.4.3": "CN",
        "2.5.4.4": "SN",
        "2.5.4.5": "SERIALNUMBER",
        "2.5.4.6": "C",
        "2.5.4.7": "L",
        "2.5.4.8": "S",
        "2.5.4.9": "STREET",
        "2.5.4.10": "O",
        "2.5.4.11": "OU",
        "2.5.4.12": "T",
        "2.5.4.13": "Description",
        "2.5.4.17": "PostalCode",
        "2.5.4.18": "POBox",
        "2.5.4.20": "Phone",
        "2.5.4.24": "X21Address",
        "2.5.4.42": "G",
        "2.5.4.43": "I",
        "2.5.4.46": "dnQualifier",
        "0.9.2342.19200300.100.1.25": "DC",
        "1.2.840.113549.1.9.1": "E",
    }
)
# CertNameToStr quotes a value containing one of these, or with leading/trailing white space.
_QUOTE_TRIGGERS = frozenset(',+="\n<>#;')
_QUOTABLE_SPACE = frozenset(" \t\n\v\f\r")


def _windows_value(value: str | bytes) -> str:
    if isinstance(value, bytes):  # BIT STRING and other binary values: hex, never quoted
        return "#" + value.hex().upper()
    text = value.rstrip("\0")
    needs_quotes = (
        not text
        or text[0] in _QUOTABLE_SPACE
        or text[-1] in _QUOTABLE_SPACE
        or any(ch in _QUOTE_TRIGGERS for ch in text)
    )
    if not needs_quotes:
        return text
    return '"' + text.replace('"', '""') + '"'


def _windows_key(oid: x509.ObjectIdentifier) -> str:
    dotted = oid.dotted_string
    return _WINDOWS_KEYS.get(dotted) or f"OID.{dotted}"


def windows_name(name: x509.Name) -> str:
    """`name` as Windows and Exchange print it (X509Certificate2.Subject / .Issuer):
    most specific RDN first, RDNs joined by ", ", multi-valued RDN parts by " + "."""
    parts: list[str] = []
    for rdn in reversed(name.rdns):
        parts.append(" + ".join(f"{_windows_key(a.oid)}={_windows_value(a.value)}" for a in rdn))
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# One certificate
# ---------------------------------------------------------------------------------------------

_WEAK_SIGNATURE_OIDS = frozenset(
    {
        "1.2.840.113549.1.1.2",  # md2WithRSAEncryption
        "1.2.840.113549.1.1.3",  # md4WithRSAEncryption
        "1.2.840.113549.1.1.4",  # md5WithRSAEncryption
        "1.2.840.113549.1.1.5",  # sha1WithRSAEncryption
        "1.3.14.3.2.29",  # sha1WithRSASignature (OIW)
        "1.3.14.3.2.3",  # md5WithRSA (OIW)
        "1.2.840.10045.4.1",  # ecdsa-with-SHA1
        "1.2.840.10040.4.3",  # dsa-with-sha1
    }
)
_WEAK_HASHES = frozenset({"md5", "sha1"})
IPName = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class _Parsed:
    cert: x509.Certificate
    info: CertInfo
    dns_names: tuple[str, ...]  # canonical dNSName SANs (capped)
    exact_names: frozenset[str]  # the SANs without wildcard, for O(1) matching
    wildcard_parents: frozenset[str]  # "contoso.com" for each valid "*.contoso.com"
    ip_names: frozenset[IPName]
    common_names: tuple[str, ...]
    has_san: bool
    weak_signature: str | None  # name of the weak hash, when the signature uses one


def _hex_serial(serial: int) -> str:
    # The INTEGER's content octets, as Windows shows SerialNumber (a leading 00 kept).
    return serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True).hex().upper()


def _key_facts(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    name = oid._name
    return oid.dotted_string if not name or name == "Unknown OID" else name


def _weak_signature(cert: x509.Certificate) -> str | None:
    dotted = cert.signature_algorithm_oid.dotted_string
    if dotted in _WEAK_SIGNATURE_OIDS:
        return "MD5" if "md" in _signature_name(cert).lower() else "SHA-1"
    try:
        algorithm = cert.signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):
        return None
    if algorithm is not None and algorithm.name in _WEAK_HASHES:
        return algorithm.name.upper().replace("SHA1", "SHA-1")
    return None


def _sans(
    cert: x509.Certificate,
) -> tuple[tuple[str, ...], frozenset[IPName], bool]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return (), frozenset(), False
    except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return (), frozenset(), True
    value = ext.value
    if not isinstance(value, x509.SubjectAlternativeName):
        return (), frozenset(), True
    dns: list[str] = []
    ips: set[IPName] = set()
    for general in value:
        if len(dns) + len(ips) >= MAX_SANS:
            break
        if isinstance(general, x509.DNSName):
            dns.append(general.value)
        elif isinstance(general, x509.IPAddress):
            address = general.value
            if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
                ips.add(address)
    return tuple(dns), frozenset(ips), True


MAX_AIA_URLS = 4


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        value = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except (x509.ExtensionNotFound, ValueError, TypeError, x509.DuplicateExtension):
        return False
    return isinstance(value, x509.BasicConstraints) and value.ca


def _ca_issuers(cert: x509.Certificate) -> tuple[str, ...]:
    """The AIA caIssuers URLs: where a client could fetch this certificate's issuer."""
    try:
        value = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, ValueError, TypeError, x509.DuplicateExtension):
        return ()
    if not isinstance(value.value, x509.AuthorityInformationAccess):
        return ()
    urls = [
        description.access_location.value
        for description in value.value
        if description.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(description.access_location, x509.UniformResourceIdentifier)
    ]
    return tuple(urls[:MAX_AIA_URLS])


def _common_names(name: x509.Name) -> tuple[str, ...]:
    values: list[str] = []
    for attribute in name:
        if attribute.oid.dotted_string == "2.5.4.3" and isinstance(attribute.value, str):
            values.append(attribute.value)
    return tuple(values)


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False  # same name, other key: e.g. a renewed CA cross-signed by its old self
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return True  # names match and the (legacy) signature cannot be checked here
    return True


def _wildcard_parents(patterns: Iterable[str]) -> frozenset[str]:
    """Parents of the wildcard patterns bot.core.names.matches honours: `*` as the whole
    left-most label, nothing else wild, and not directly above a single label (`*.com`)."""
    parents = set()
    for pattern in patterns:
        first, _, rest = pattern.partition(".")
        if first == "*" and "*" not in rest and rest.count(".") >= 1:
            parents.add(rest)
    return frozenset(parents)


def _parse_uncached(der: bytes) -> _Parsed:
    if not der:
        raise CertificateParseError("empty certificate")
    if len(der) > MAX_DER_BYTES:
        raise CertificateParseError(f"certificate of {len(der)} bytes is too large to examine")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. negative serial numbers: still a certificate
            cert = x509.load_der_x509_certificate(der)
            subject, issuer = cert.subject, cert.issuer
            not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
            serial = cert.serial_number
            cert.version  # noqa: B018  # an unknown version number only raises when read
    except (ValueError, TypeError, x509.InvalidVersion) as exc:
        raise CertificateParseError(
            f"not a DER X.509 certificate ({_short(str(exc), 80)})"
        ) from exc
    try:
        subject_rfc, issuer_rfc = subject.rfc4514_string(), issuer.rfc4514_string()
        subject_win, issuer_win = windows_name(subject), windows_name(issuer)
    except (ValueError, TypeError) as exc:
        raise CertificateParseError("certificate names cannot be decoded") from exc
    dns, ips, has_san = _sans(cert)
    key_type, key_bits = _key_facts(cert)
    self_signed = _is_self_signed(cert)
    san_strings = dns + tuple(f"IP:{ip}" for ip in sorted(ips, key=str))
    canonical_dns = tuple(hostnames.canonical(n) for n in dns)
    info = CertInfo(
        der=der,
        subject=subject_rfc,
        subject_windows=subject_win,
        issuer=issuer_rfc,
        issuer_windows=issuer_win,
        sans=san_strings,
        not_before=not_before,
        not_after=not_after,
        sha1=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        sha256=hashlib.sha256(der).hexdigest().upper(),
        serial=_hex_serial(serial),
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=_signature_name(cert),
        self_signed=self_signed,
        is_ca=_is_ca(cert),
        ca_issuers=_ca_issuers(cert),
    )
    return _Parsed(
        cert=cert,
        info=info,
        dns_names=canonical_dns,
        exact_names=frozenset(n for n in canonical_dns if "*" not in n),
        wildcard_parents=_wildcard_parents(canonical_dns),
        ip_names=ips,
        common_names=_common_names(subject),
        has_san=has_san and bool(dns or ips),
        weak_signature=_weak_signature(cert),
    )


class _ParseCache:
    """Parsed certificates by DER, least recently used dropped first, bounded in entries and
    in bytes (one hostile 1 MiB certificate must not pin memory, nor evict everything)."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self._items: OrderedDict[bytes, _Parsed] = OrderedDict()
        self._bytes = 0
        self._max_bytes, self._max_entries = max_bytes, max_entries
        self._lock = threading.Lock()

    def get(self, der: bytes) -> _Parsed:
        with self._lock:
            found = self._items.get(der)
            if found is not None:
                self._items.move_to_end(der)
                return found
        parsed = _parse_uncached(der)  # raises for garbage, which is never cached
        with self._lock:
            if der not in self._items and len(der) <= self._max_bytes // 8:
                self._items[der] = parsed
                self._bytes += len(der)
                while self._bytes > self._max_bytes or len(self._items) > self._max_entries:
                    old, _ = self._items.popitem(last=False)
                    self._bytes -= len(old)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


_PARSE_CACHE = _ParseCache(PARSE_CACHE_BYTES, PARSE_CACHE_ENTRIES)


def _parse(der: bytes) -> _Parsed:
    return _PARSE_CACHE.get(der)


def describe(der: bytes) -> CertInfo:
    """Facts about one DER certificate; raises CertificateParseError for anything else."""
    return _parse(bytes(der)).info


def describe_presented(chain: Sequence[bytes]) -> tuple[PresentedCert, ...]:
    """Every presented certificate (at most MAX_CHAIN) described: CertInfo, or UnreadableCert
    with its hashes and the reason; never raises."""
    described: list[PresentedCert] = []
    for raw in chain[:MAX_CHAIN]:
        der = bytes(raw)
        try:
            described.append(_parse(der).info)
        except CertificateParseError as exc:
            described.append(
                UnreadableCert(
                    der=der,
                    error=str(exc),
                    sha1=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
                    sha256=hashlib.sha256(der).hexdigest().upper(),
                )
            )
    return tuple(described)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Trust store
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class TrustStore:
    """Trust anchors for path validation, indexed for the classification walk."""

    source: str
    certificates: tuple[x509.Certificate, ...]
    store: Store
    by_subject: Mapping[x509.Name, tuple[x509.Certificate, ...]]
    fingerprints: frozenset[bytes]
    public: bool = False  # the public roots (certifi), not a CA file of the user's own

    def __len__(self) -> int:
        return len(self.certificates)

    def contains(self, cert: x509.Certificate) -> bool:
        return cert.fingerprint(hashes.SHA256()) in self.fingerprints

    def issuers_of(self, cert: x509.Certificate) -> tuple[x509.Certificate, ...]:
        return self.by_subject.get(cert.issuer, ())


def trust_store_from(
    certificates: Iterable[x509.Certificate], source: str, *, public: bool = False
) -> TrustStore:
    certs = tuple(certificates)
    if not certs:
        raise TrustStoreError(f"{source}: no certificates")
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for cert in certs:
        by_subject.setdefault(cert.subject, []).append(cert)
    return TrustStore(
        source=source,
        certificates=certs,
        store=Store(list(certs)),
        by_subject=MappingProxyType({k: tuple(v) for k, v in by_subject.items()}),
        fingerprints=frozenset(c.fingerprint(hashes.SHA256()) for c in certs),
        public=public,
    )


_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]{1,200000}?-----END CERTIFICATE-----"
)


def _certificates_from_bytes(data: bytes, source: str) -> list[x509.Certificate]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if b"-----BEGIN" not in data:
            try:
                return [x509.load_der_x509_certificate(data)]
            except (ValueError, x509.InvalidVersion) as exc:
                raise TrustStoreError(f"{source}: not a PEM or DER certificate file") from exc
        certs: list[x509.Certificate] = []
        for number, match in enumerate(_PEM_BLOCK.finditer(data), start=1):
            try:
                certs.append(x509.load_pem_x509_certificate(match.group(0)))
            except (ValueError, x509.InvalidVersion) as exc:
                raise TrustStoreError(f"{source}: certificate {number} cannot be parsed") from exc
    if not certs:
        raise TrustStoreError(f"{source}: no PEM certificate found")
    return certs


@lru_cache(maxsize=8)
def _load_trust_store(path: str, mtime_ns: int, size: int, source: str, public: bool) -> TrustStore:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TrustStoreError(f"cannot read CA file {path}: {exc.strerror or exc}") from exc
    return trust_store_from(_certificates_from_bytes(data, source), source, public=public)


def load_trust_store(ca_file: Path | None = None) -> TrustStore:
    """certifi's Mozilla roots by default, else the PEM (or DER) certificates in `ca_file`.
    Cached per file version; raises TrustStoreError with a one-line reason."""
    if ca_file is None:
        import certifi  # noqa: PLC0415 - only without a CA file (imports importlib.resources)

        path = Path(certifi.where())
    else:
        path = Path(ca_file)
    source = "Mozilla root store (certifi)" if ca_file is None else f"CA file {path}"
    try:
        stat = path.stat()
    except OSError as exc:
        raise TrustStoreError(f"cannot read CA file {path}: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise TrustStoreError(f"cannot read CA file {path}: not a regular file")
    if stat.st_size > MAX_CA_FILE_BYTES:
        raise TrustStoreError(f"CA file {path} is larger than {MAX_CA_FILE_BYTES >> 20} MiB")
    return _load_trust_store(
        str(path.resolve()), stat.st_mtime_ns, stat.st_size, source, ca_file is None
    )


# ---------------------------------------------------------------------------------------------
# Chain assessment
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong with a presented chain. `id` is the cert.* finding id."""

    id: str
    detail: str  # one line for humans; may quote untrusted certificate text
    cert_index: int = 0  # which presented certificate (0 = the server's own)


@dataclass(frozen=True, slots=True)
class ChainAssessment:
    certs: tuple[CertInfo, ...]  # the presented chain as parsed (at most MAX_CHAIN)
    presented: int  # how many certificates the server sent
    names: tuple[str, ...]  # the names checked, canonical
    covered: tuple[str, ...]  # names the leaf certificate covers
    mismatched: tuple[str, ...]  # names it does not cover
    verified: tuple[str, ...]  # names for which full path validation succeeded
    problems: tuple[ChainProblem, ...] = ()
    anchor: str | None = None  # Windows name of the trust anchor the chain reached
    missing_issuer: str | None = None  # Windows name of the issuer the server did not send
    notes: tuple[str, ...] = field(default=())

    @property
    def leaf(self) -> CertInfo | None:
        return self.certs[0] if self.certs else None

    @property
    def problem_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.problems)

    @property
    def ok(self) -> bool:
        """True when the chain works today for every name (warnings like expiring soon allowed)."""
        return bool(self.certs) and all(p.id in WARNING_PROBLEMS for p in self.problems)

    def problem(self, problem_id: str) -> ChainProblem | None:
        return next((p for p in self.problems if p.id == problem_id), None)


def _aware(now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def _covers(parsed: _Parsed, name: str) -> bool:
    ip = _ip(name)
    if ip is not None:
        return ip in parsed.ip_names
    if parsed.has_san:
        host = hostnames.canonical(name)
        if host in parsed.exact_names:
            return True
        first, _, parent = host.partition(".")
        return bool(first) and parent in parsed.wildcard_parents
    # No subjectAltName at all: Windows (and so Exchange) falls back to the subject CN.
    return hostnames.covered(parsed.common_names, name)


def _subject_for(name: str) -> Subject | None:
    ip = _ip(name)
    try:
        return IPAddress(ip) if ip is not None else DNSName(name)
    except (ValueError, TypeError):
        return None


def _verify(
    leaf: _Parsed,
    intermediates: list[x509.Certificate],
    name: str,
    trust: TrustStore,
    at: dt.datetime,
) -> str | None:
    """None when x509.verification accepts the chain for `name` at `at`, else its reason."""
    subject = _subject_for(name)
    if subject is None:
        return "name cannot be validated"
    try:
        verifier = PolicyBuilder().store(trust.store).time(at).build_server_verifier(subject)
        verifier.verify(leaf.cert, intermediates)
    except VerificationError as exc:
        reason = str(exc).removeprefix("validation failed: ")
        return _short(reason.split(" (encountered", 1)[0])
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return _short(str(exc)) or "validation error"
    return None


def _probe_name(leaf: _Parsed) -> str | None:
    """A name the leaf certainly covers, to validate the path independently of the names asked."""
    for name in leaf.dns_names:
        if name.startswith("*."):
            return "x" + name[1:]
        if name:
            return name
    for ip in sorted(leaf.ip_names, key=str):
        return str(ip)
    return None


def _legacy_signed_by(child: _Parsed, issuer: x509.Certificate) -> bool:
    """verify_directly_issued_by refuses SHA-1/MD5; check such signatures by hand so that a weak
    signature is reported as weak, not as a broken chain."""
    try:
        algorithm = child.cert.signature_hash_algorithm
        key = issuer.public_key()
        if algorithm is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                child.cert.signature, child.cert.tbs_certificate_bytes, PKCS1v15(), algorithm
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.cert.signature, child.cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _signed_by(child: _Parsed, issuer: x509.Certificate) -> bool:
    if child.cert.issuer != issuer.subject:
        return False
    if child.weak_signature:
        return _legacy_signed_by(child, issuer)
    try:
        child.cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Walk:
    # "store", "self_signed_leaf", "untrusted_root", "missing_issuer", "bad_signature", "loop"
    kind: str
    index: int  # the presented certificate where the walk stopped
    anchor: x509.Certificate | None = None


def _walk(chain: list[_Parsed], trust: TrustStore) -> _Walk:
    """Follow issuers from the leaf through the presented certificates (in any order) and the
    trust store, to tell an untrusted root from a missing intermediate."""
    index = 0
    seen: set[int] = set()
    while index not in seen:
        seen.add(index)
        current = chain[index]
        if trust.contains(current.cert):
            return _Walk("store", index, current.cert)
        for anchor in trust.issuers_of(current.cert):
            if _signed_by(current, anchor):
                return _Walk("store", index, anchor)
        if current.info.self_signed:
            return _Walk("self_signed_leaf" if index == 0 else "untrusted_root", index)
        candidates = [
            i for i, p in enumerate(chain) if i != index and p.cert.subject == current.cert.issuer
        ]
        following = next((i for i in candidates if _signed_by(current, chain[i].cert)), None)
        if following is None:
            return _Walk("bad_signature" if candidates else "missing_issuer", index)
        index = following
    return _Walk("loop", index)


def _validity_problems(
    chain: list[_Parsed], now: dt.datetime, trusted_now: bool
) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    for index, parsed in enumerate(chain):
        info = parsed.info
        is_leaf = index == 0
        if not is_leaf and (info.self_signed or trusted_now):
            continue  # roots are judged in the store; a validated path has valid intermediates
        what = "the server's certificate" if is_leaf else f"intermediate {info.subject_windows}"
        if info.not_after < now:
            problems.append(
                ChainProblem(EXPIRED, f"{what} expired on {info.not_after:%Y-%m-%d}", index)
            )
        elif info.not_before > now:
            problems.append(
                ChainProblem(
                    NOT_YET_VALID, f"{what} is valid only from {info.not_before:%Y-%m-%d}", index
                )
            )
        elif info.not_after - now < EXPIRING_SOON:
            days = max(0, (info.not_after - now).days)
            problems.append(
                ChainProblem(
                    EXPIRING_SOON_ID,
                    f"{what} expires on {info.not_after:%Y-%m-%d} ({days} days left)",
                    index,
                )
            )
    return problems


def _strength_problems(chain: list[_Parsed]) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    for index, parsed in enumerate(chain):
        info = parsed.info
        if index > 0 and info.self_signed:
            continue  # a root's own key and self-signature are the trust store's business
        what = "the server's certificate" if index == 0 else f"intermediate {info.subject_windows}"
        minimum = {"RSA": MIN_RSA_BITS, "EC": MIN_EC_BITS, "DSA": MIN_DSA_BITS}.get(info.key_type)
        if minimum is not None and info.key_bits < minimum:
            problems.append(
                ChainProblem(
                    WEAK_KEY,
                    f"{what} has a {info.key_bits}-bit {info.key_type} key (minimum {minimum})",
                    index,
                )
            )
        if parsed.weak_signature and not info.self_signed:
            problems.append(
                ChainProblem(
                    WEAK_SIGNATURE,
                    f"{what} is signed with {parsed.weak_signature} ({info.signature_algorithm})",
                    index,
                )
            )
    return problems


def _dedupe_names(names: Iterable[str]) -> tuple[str, ...]:
    result: list[str] = []
    for raw in names:
        name = hostnames.canonical(raw)
        if name and name not in result:
            result.append(name)
        if len(result) >= MAX_NAMES:
            break
    return tuple(result)


def _parse_chain(chain: Sequence[bytes]) -> tuple[list[_Parsed], list[ChainProblem]]:
    parsed: list[_Parsed] = []
    for index, der in enumerate(chain[:MAX_CHAIN]):
        try:
            parsed.append(_parse(bytes(der)))
        except (CertificateParseError, TypeError) as exc:
            what = "the server's certificate" if index == 0 else f"certificate {index + 1}"
            return parsed, [ChainProblem(UNTRUSTED, f"{what} cannot be parsed: {exc}", index)]
    return parsed, []


def assess_chain(
    chain: Sequence[bytes],
    names: Sequence[str],
    trust: TrustStore,
    now: dt.datetime,
    *,
    presented: int = 0,
) -> ChainAssessment:
    """Judge a presented chain (DER, leaf first) for every name it must cover. Never raises on
    hostile chains. `presented` is how many certificates the server sent when the caller kept
    only the first ones (the probe caps what it stores)."""
    now = _aware(now)
    wanted = _dedupe_names(names)
    parsed, parse_problems = _parse_chain(chain)
    sent = max(len(chain), presented)
    examined = min(len(chain), MAX_CHAIN)
    notes: list[str] = []
    if sent > examined:
        notes.append(
            f"the server sent {sent} certificates; only the first {examined} were examined"
        )
    if not parsed:
        nothing = parse_problems or [ChainProblem(UNTRUSTED, "no certificate was presented")]
        return ChainAssessment((), sent, wanted, (), wanted, (), tuple(nothing), notes=tuple(notes))
    leaf = parsed[0]
    covered = tuple(n for n in wanted if _covers(leaf, n))
    mismatched = tuple(n for n in wanted if n not in covered)
    intermediates = [p.cert for p in parsed[1:]]

    verified = tuple(n for n in covered if _verify(leaf, intermediates, n, trust, now) is None)
    problems: list[ChainProblem] = []
    if mismatched:
        shown = ", ".join(mismatched)
        problems.append(ChainProblem(SUBJECT_MISMATCH, f"does not cover {shown}"))
    problems.extend(_validity_problems(parsed, now, trusted_now=bool(verified)))
    problems.extend(_strength_problems(parsed))
    problems.extend(parse_problems)

    walk = _walk(parsed, trust)
    anchor = missing = None
    if walk.anchor is not None:
        anchor = windows_name(walk.anchor.subject)
    if not verified:
        trust_problems, missing = _trust_problems(parsed, walk, trust, now, problems)
        if walk.kind == "missing_issuer" and sent > examined:
            # The issuer may well be among the certificates beyond the cap: not "not sent".
            detail = (
                f"the server sent {sent} certificates; no trusted root was reached within "
                f"the first {examined}"
            )
            trust_problems, missing = [ChainProblem(UNTRUSTED, detail, walk.index)], None
        problems.extend(trust_problems)
    return ChainAssessment(
        certs=tuple(p.info for p in parsed),
        presented=sent,
        names=wanted,
        covered=covered,
        mismatched=mismatched,
        verified=verified,
        problems=tuple(problems),
        anchor=anchor,
        missing_issuer=missing,
        notes=tuple(notes),
    )


def _trust_problems(
    parsed: list[_Parsed],
    walk: _Walk,
    trust: TrustStore,
    now: dt.datetime,
    found: list[ChainProblem],
) -> tuple[list[ChainProblem], str | None]:
    """Why no path to a trust anchor was validated, when that is not already explained; and
    the issuer the server should have sent, when one is missing."""
    leaf = parsed[0]
    stopped = parsed[walk.index]
    if walk.kind == "self_signed_leaf":
        return [ChainProblem(SELF_SIGNED, f"self-signed by {leaf.info.subject_windows}")], None
    if walk.kind == "untrusted_root":
        detail = f"the chain ends in {stopped.info.subject_windows}, which is not a trusted root"
        return [ChainProblem(UNTRUSTED, detail, walk.index)], None
    if walk.kind == "missing_issuer":
        return _missing_issuer_problems(parsed, walk.index, trust)
    if walk.kind in {"bad_signature", "loop"}:
        detail = f"the signature of {stopped.info.subject_windows} does not match its issuer"
        return [ChainProblem(UNTRUSTED, detail, walk.index)], None
    # The walk reached a trust anchor, yet no name validated. Re-validate inside the leaf's
    # validity window with a name the leaf covers: a pass means expiry and names explain it.
    explained = {p.id for p in found} - WARNING_PROBLEMS - {SUBJECT_MISMATCH}
    name = _probe_name(leaf)
    if name is None:
        return [], None  # no SAN: x509.verification cannot judge; the walk found an anchor
    at = min(max(now, leaf.info.not_before), leaf.info.not_after)
    reason = _verify(leaf, [p.cert for p in parsed[1:]], name, trust, at)
    if reason is None or explained:
        return [], None
    return [ChainProblem(UNTRUSTED, f"path validation failed: {reason}")], None


def _untrusted_root_sent(parsed: list[_Parsed], trust: TrustStore) -> _Parsed | None:
    """A self-signed CA certificate among those sent that is not a trusted root."""
    return next(
        (
            p
            for p in parsed[1:]
            if p.info.self_signed and p.info.is_ca and not trust.contains(p.cert)
        ),
        None,
    )


def _missing_issuer_problems(
    parsed: list[_Parsed], index: int, trust: TrustStore
) -> tuple[list[ChainProblem], str | None]:
    """The walk stopped at a certificate whose issuer was neither sent nor trusted: a missing
    link (an intermediate the server should send), an unknown root (a private CA), or both.

    Told apart from the chain itself (nothing is fetched). The AIA caIssuers address names an
    issuer to fetch: a link. When the server sent CA certificates, what is missing above them
    is a root, unless the user's own CA file is the trust store and an AIA address names the
    issuer (its roots are known). A server certificate without an AIA address is likely from
    a private CA, unless the trust store is the user's CA file (then the issuer must be an
    intermediate). An ldap: AIA address (Active Directory Certificate Services) or an
    untrusted root among the sent certificates means a private CA on top of a missing link."""
    stopped = parsed[index]
    issuer = windows_name(stopped.cert.issuer)
    of = "the server certificate" if index == 0 else stopped.info.subject_windows
    link = ChainProblem(CHAIN_INCOMPLETE, f"the issuer {issuer} of {of} was not sent", index)
    unknown_root = ChainProblem(
        UNTRUSTED,
        f"{of} is issued by {issuer}, which is not a trusted root (a private or internal CA)",
        index,
    )
    urls = stopped.info.ca_issuers
    ldap = any(url.lower().startswith("ldap:") for url in urls)
    if stopped.info.is_ca:
        if urls and not ldap and not trust.public:
            return [link], issuer
        return [unknown_root], None
    stray = _untrusted_root_sent(parsed, trust)
    if stray is not None:
        detail = f"the chain carries {stray.info.subject_windows}, which is not a trusted root"
        return [link, ChainProblem(UNTRUSTED, detail, parsed.index(stray))], issuer
    if ldap:
        return [link, unknown_root], issuer
    if urls or not trust.public:
        return [link], issuer
    return [unknown_root], None
