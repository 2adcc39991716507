"""DANE, MTA-STS and TLS-RPT records and policies: parsing and matching, pure.

TLSA (RFC 6698/7671/7672): usage 2 (DANE-TA) and 3 (DANE-EE) are the ones SMTP uses; 0 and 1
(PKIX-TA, PKIX-EE) are unusable for SMTP (RFC 7672 §3.1.3). Selector 0 = the whole certificate,
1 = its SubjectPublicKeyInfo; matching type 0 = exact, 1 = SHA-256, 2 = SHA-512. DANE-EE ignores
names and dates (RFC 7672 §3.1.1); DANE-TA needs the trust anchor in the presented chain, a
signature path from the server's certificate to it, a name match and current dates (§3.1.2).

MTA-STS (RFC 8461): TXT `v=STSv1; id=...`, policy `version/mode/mx/max_age` lines (CRLF or
LF); an mx pattern `*.example.com` stands for exactly one label. TLS-RPT (RFC 8460): TXT
`v=TLSRPTv1; rua=mailto:...,https://...`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from bot.core.names import canonical

DANE_TA, DANE_EE = 2, 3
PKIX_USAGES = frozenset({0, 1})
USAGE_NAMES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
MAX_TLSA_RECORDS = 64  # per name; more are not matched (a 64 KiB answer bounds them anyway)
MAX_POLICY_BYTES = 64 * 1024
MAX_POLICY_LINES = 1000
MAX_MX_PATTERNS = 100
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 §3.2: at most about a year
_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_HEX = re.compile(r"[0-9A-Fa-f]*")


# --- TLSA -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    @property
    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"

    @property
    def short(self) -> str:
        """`3 1 1 1a2b3c4d…` for one-line summaries."""
        data = self.data.hex()
        tail = "…" if len(data) > 16 else ""
        return f"{self.usage} {self.selector} {self.mtype} {data[:16]}{tail}"

    @property
    def usable(self) -> bool:
        """Usable for SMTP: DANE-TA or DANE-EE with a known selector and matching type."""
        return (
            self.usage in (DANE_TA, DANE_EE) and self.selector in (0, 1) and self.mtype in (0, 1, 2)
        )


def parse_tlsa(text: str) -> Tlsa | None:
    """'3 1 1 ABCD...' (dnspython's form; the data may be split by spaces) -> Tlsa; None when
    the text is not a TLSA record."""
    parts = text.split()
    if len(parts) < 3 or not all(p.isdigit() for p in parts[:3]):
        return None
    usage, selector, mtype = (int(p) for p in parts[:3])
    data = "".join(parts[3:])
    if max(usage, selector, mtype) > 255 or len(data) % 2 or not _HEX.fullmatch(data):
        return None
    return Tlsa(usage, selector, mtype, bytes.fromhex(data))


def parse_tlsa_records(values: Iterable[str]) -> tuple[Tlsa, ...]:
    records = [parse_tlsa(value) for value in values]
    return tuple(dict.fromkeys(r for r in records if r is not None))[:MAX_TLSA_RECORDS]


@lru_cache(maxsize=256)
def _load(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def spki_der(der: bytes) -> bytes | None:
    cert = _load(der)
    if cert is None:
        return None
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _association(der: bytes, selector: int, mtype: int) -> bytes | None:
    selected = der if selector == 0 else spki_der(der)
    if selected is None:
        return None
    if mtype == 1:
        return hashlib.sha256(selected).digest()
    if mtype == 2:
        return hashlib.sha512(selected).digest()
    return selected


def record_matches_cert(record: Tlsa, der: bytes) -> bool:
    if not record.usable:
        return False
    return _association(der, record.selector, record.mtype) == record.data


def dane_ee_record(der: bytes) -> str | None:
    """The `3 1 1 <sha256 of the SPKI>` record for a certificate (RFC 7671 §5.1 recommends it:
    it survives a renewal that keeps the key)."""
    spki = spki_der(der)
    return None if spki is None else f"3 1 1 {hashlib.sha256(spki).hexdigest()}"


def dane_ta_record(der: bytes) -> str | None:
    spki = spki_der(der)
    return None if spki is None else f"2 1 1 {hashlib.sha256(spki).hexdigest()}"


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):  # includes unsupported key types
        return False
    return True


def _name_matches(cert: x509.Certificate, names: Sequence[str]) -> bool:
    """Whether a DNS-ID of the certificate covers one of `names` (RFC 7672 §3.2.3: subject CN
    only when there is no subjectAltName)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        ids = [canonical(n) for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        ids = [canonical(str(a.value)) for a in cert.subject.get_attributes_for_oid(
            x509.NameOID.COMMON_NAME)]  # fmt: skip
    except ValueError:
        return False
    for name in (canonical(n) for n in names):
        for pattern in ids:
            if pattern == name:
                return True
            if pattern.startswith("*.") and name.partition(".")[2] == pattern[2:] and pattern[2:]:
                return True
    return False


@dataclass(frozen=True, slots=True)
class DaneMatch:
    record: Tlsa
    detail: str  # "certificate 1 of the chain", "trust anchor: certificate 2" ...


def _ta_path_ok(chain: Sequence[x509.Certificate], ta_index: int) -> bool:
    """A signature path from the server's certificate up to the presented trust anchor."""
    return all(_signed_by(chain[i], chain[i + 1]) for i in range(ta_index))


def match_chain(
    records: Sequence[Tlsa], chain_der: Sequence[bytes], names: Sequence[str], now: dt.datetime
) -> tuple[DaneMatch | None, str]:
    """The first usable record that authenticates the presented chain, and otherwise why none
    did (one line)."""
    if not chain_der:
        return None, "no certificate presented"
    why: list[str] = []
    for record in records:
        if not record.usable:
            continue
        if record.usage == DANE_EE:
            if record_matches_cert(record, chain_der[0]):
                return DaneMatch(record, "matches the server's certificate"), ""
            continue
        matched = _dane_ta(record, chain_der, names, now)
        if isinstance(matched, DaneMatch):
            return matched, ""
        if matched:
            why.append(matched)
    return None, "; ".join(dict.fromkeys(why)) or "no TLSA record matches the presented chain"


def _dane_ta(
    record: Tlsa, chain_der: Sequence[bytes], names: Sequence[str], now: dt.datetime
) -> DaneMatch | str:
    for index in range(1, len(chain_der)):
        if not record_matches_cert(record, chain_der[index]):
            continue
        chain = [_load(der) for der in chain_der[: index + 1]]
        if any(c is None for c in chain):
            return "a certificate of the chain cannot be read"
        parsed = [c for c in chain if c is not None]
        leaf = parsed[0]
        if not _ta_path_ok(parsed, index):
            return f"the chain does not lead to the trust anchor (certificate {index + 1})"
        if not _name_matches(leaf, names):
            return "DANE-TA: the certificate does not name " + ", ".join(names)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return "DANE-TA: the certificate is outside its validity period"
        return DaneMatch(record, f"trust anchor is certificate {index + 1} of the chain")
    return ""


# --- MTA-STS ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StsRecord:
    id: str


def _single_record(
    records: Sequence[str], version: str, when_several: str
) -> list[tuple[str, str]] | str:
    """The fields of the one `v=<version>` TXT record, or why there is none usable."""
    if not records:
        return f"no v={version} record"
    if len(records) > 1:
        return f"{len(records)} v={version} records: {when_several}"
    fields = _fields(records[0])
    if not fields or fields[0] != ("v", version):
        return f"the record must begin with v={version};"
    return fields


def _fields(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if part.strip():
            out.append((key.strip(), value.strip() if sep else "\0"))
    return out


def sts_records(values: Iterable[str]) -> list[str]:
    """The TXT strings that are MTA-STS records (RFC 8461 §3.1: others are discarded)."""
    return [v for v in values if v.startswith("v=STSv1")]


def parse_sts_record(values: Sequence[str]) -> StsRecord | str:
    """The one `v=STSv1` record, or why there is none usable (one line)."""
    fields = _single_record(
        sts_records(values), "STSv1", "senders treat the domain as having no policy"
    )
    if isinstance(fields, str):
        return fields
    ids = [value for key, value in fields if key == "id"]
    if not ids:
        return "the id field is missing"
    if not _STS_ID.fullmatch(ids[0]):
        return f"id {ids[0][:40]!r} is not 1 to 32 letters and digits"
    return StsRecord(ids[0])


@dataclass(frozen=True, slots=True)
class StsPolicy:
    mode: str  # enforce | testing | none
    max_age: int
    mx: tuple[str, ...]


def parse_sts_policy(text: str) -> StsPolicy | str:
    """The policy file (RFC 8461 §3.2), or why it is invalid (one line)."""
    values: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines()[:MAX_POLICY_LINES], 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip():
            return f"line {number} is not 'key: value'"
        values.setdefault(key.strip(), []).append(value.strip())
    version = values.get("version", [""])[0]
    if version != "STSv1":
        return "version: STSv1 is missing" if not version else f"version {version[:20]!r} unknown"
    mode = values.get("mode", [""])[0]
    if mode not in ("enforce", "testing", "none"):
        return f"mode must be enforce, testing or none, not {mode[:20]!r}" if mode else (
            "mode is missing")  # fmt: skip
    age_text = values.get("max_age", [""])[0]
    if not age_text.isdigit() or len(age_text) > 10 or int(age_text) > MAX_AGE_LIMIT:
        return f"max_age must be a number of seconds up to {MAX_AGE_LIMIT}" if age_text else (
            "max_age is missing")  # fmt: skip
    mx = tuple(canonical(m) for m in values.get("mx", [])[:MAX_MX_PATTERNS])
    if mode != "none" and not mx:
        return "no mx line: an enforce or testing policy must list the MX hosts"
    bad = [m for m in mx if not _mx_pattern_ok(m)]
    if bad:
        return f"mx {bad[0][:60]!r} is not a host name or *.domain pattern"
    return StsPolicy(mode, int(age_text), mx)


def _mx_pattern_ok(pattern: str) -> bool:
    name = pattern[2:] if pattern.startswith("*.") else pattern
    return bool(name) and "*" not in name and all(name.split("."))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: exact, or `*.` standing for exactly one leftmost label."""
    pattern, host = canonical(pattern), canonical(host)
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first and dot) and rest == pattern[2:]
    return pattern == host


def policy_text(mode: str, mx: Iterable[str], max_age: int = 604_800) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {m}" for m in mx), f"max_age: {max_age}"]
    return "\n".join(lines)


# --- TLS-RPT ----------------------------------------------------------------------------------


def parse_tlsrpt_record(values: Sequence[str]) -> tuple[str, ...] | str:
    """The reporting URIs of the one `v=TLSRPTv1` record, or why it is unusable."""
    records = [v for v in values if v.startswith("v=TLSRPTv1")]
    fields = _single_record(records, "TLSRPTv1", "senders ignore them all")
    if isinstance(fields, str):
        return fields
    rua = [value for key, value in fields if key == "rua"]
    if not rua or not rua[0] or rua[0] == "\0":
        return "the rua field (where reports go) is missing"
    uris = tuple(u.strip() for u in rua[0].split(",") if u.strip())
    bad = [u for u in uris if not (u.lower().startswith("mailto:") and "@" in u)
           and not u.lower().startswith("https://")]  # fmt: skip
    if bad:
        return f"rua {bad[0][:60]!r} is neither mailto: nor https:"
    return uris
