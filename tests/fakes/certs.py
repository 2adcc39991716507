"""Certificates generated at test time: CAs, intermediates, leaves, self-signed, broken ones."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

UTC = dt.UTC


@cache
def _rsa_key(bits: int, index: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def _ec_key(index: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_key(kind: str = "ec256", index: int = 0) -> CertificateIssuerPrivateKeyTypes:
    """Keys are cached per (kind, index): generation of RSA keys is the slow part of tests."""
    if kind == "ec256":
        return _ec_key(index)
    if kind.startswith("rsa"):
        return _rsa_key(int(kind[3:]), index)
    raise ValueError(kind)


@dataclass
class Issued:
    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    chain: list[Issued] = field(default_factory=list)  # issuers above this cert, nearest first

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, name: str, *, include_chain: bool = True) -> tuple[Path, Path]:
        """Write `<name>.pem` (this cert, then its intermediates unless told not to) and
        `<name>.key`. Returns (cert_path, key_path)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path = directory / f"{name}.pem"
        key_path = directory / f"{name}.key"
        intermediates = [c for c in self.chain if not _is_self_signed(c.cert)]
        parts = [self.pem] + ([c.pem for c in intermediates] if include_chain else [])
        cert_path.write_bytes(b"".join(parts))
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


def _is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _name(
    cn: str | None, org: str | None = None, extra: list[x509.NameAttribute[str]] | None = None
) -> x509.Name:
    attrs: list[x509.NameAttribute[str]] = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.extend(extra or [])
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = []
    for n in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            general.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(general)


class CertFactory:
    """Builds certificate hierarchies. `now` is fixed per factory so tests can reason about time."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime.now(UTC).replace(microsecond=0)
        self._serial = 1000

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _build(
        self,
        subject: x509.Name,
        issuer_name: x509.Name,
        public_key_owner: CertificateIssuerPrivateKeyTypes,
        signer: CertificateIssuerPrivateKeyTypes,
        *,
        ca: bool,
        path_length: int | None,
        sans: list[str] | None,
        not_before: dt.datetime,
        not_after: dt.datetime,
        hash_alg: hashes.HashAlgorithm | None,
        issuer_key_for_aki: CertificateIssuerPrivateKeyTypes | None,
        ca_issuers: list[str] | None = None,
    ) -> x509.Certificate:
        public_key = public_key_owner.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(public_key)
            .serial_number(self._next_serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if issuer_key_for_aki is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key_for_aki.public_key()),
                critical=False,
            )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )  # fmt: skip
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        if sans:
            builder = builder.add_extension(_san(sans), critical=False)
        if ca_issuers:
            access = [
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url)
                )
                for url in ca_issuers
            ]
            builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
        algorithm = (
            None
            if isinstance(signer, ec.EllipticCurvePrivateKey) is False and hash_alg is None
            else hash_alg
        )
        return builder.sign(signer, algorithm or hashes.SHA256())  # type: ignore[arg-type]

    def root_ca(
        self, cn: str = "Mailflow Test Root CA", *, key: str = "ec256", index: int = 1
    ) -> Issued:
        k = make_key(key, index)
        name = _name(cn, "Mailflow Test")
        cert = self._build(
            name, name, k, k, ca=True, path_length=None, sans=None,
            not_before=self.now - dt.timedelta(days=3650),
            not_after=self.now + dt.timedelta(days=3650), hash_alg=None, issuer_key_for_aki=k,
        )  # fmt: skip
        return Issued(cert, k)

    def intermediate(
        self,
        issuer: Issued,
        cn: str = "Mailflow Test Issuing CA",
        *,
        key: str = "ec256",
        index: int = 2,
        ca_issuers: list[str] | None = None,
    ) -> Issued:
        k = make_key(key, index)
        cert = self._build(
            _name(cn, "Mailflow Test"), issuer.cert.subject, k, issuer.key, ca=True, path_length=0,
            sans=None, not_before=self.now - dt.timedelta(days=1000),
            not_after=self.now + dt.timedelta(days=1000), hash_alg=None,
            issuer_key_for_aki=issuer.key, ca_issuers=ca_issuers,
        )  # fmt: skip
        return Issued(cert, k, [issuer, *issuer.chain])

    def leaf(
        self,
        issuer: Issued,
        names: list[str],
        *,
        cn: str | None = None,
        org: str | None = None,
        key: str = "ec256",
        index: int = 3,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        days_valid: int = 90,
        hash_alg: hashes.HashAlgorithm | None = None,
        extra_subject: list[x509.NameAttribute[str]] | None = None,
        ca_issuers: list[str] | None = None,
    ) -> Issued:
        """`ca_issuers`: AIA caIssuers URLs, where a client could fetch the issuer."""
        k = make_key(key, index)
        nb = not_before or self.now - dt.timedelta(days=1)
        na = not_after or nb + dt.timedelta(days=days_valid)
        cert = self._build(
            _name(cn if cn is not None else (names[0] if names else None), org, extra_subject),
            issuer.cert.subject, k, issuer.key, ca=False, path_length=None, sans=names,
            not_before=nb, not_after=na, hash_alg=hash_alg, issuer_key_for_aki=issuer.key,
            ca_issuers=ca_issuers,
        )  # fmt: skip
        return Issued(cert, k, [issuer, *issuer.chain])

    def self_signed(
        self,
        cn: str,
        sans: list[str] | None = None,
        *,
        org: str | None = None,
        key: str = "ec256",
        index: int = 4,
        days_valid: int = 365,
        not_after: dt.datetime | None = None,
        hash_alg: hashes.HashAlgorithm | None = None,
    ) -> Issued:
        """Like Exchange's own `CN=SERVER1` certificate: issuer == subject, not a CA."""
        k = make_key(key, index)
        name = _name(cn, org)
        nb = self.now - dt.timedelta(days=1)
        cert = self._build(
            name, name, k, k, ca=False, path_length=None, sans=sans, not_before=nb,
            not_after=not_after or nb + dt.timedelta(days=days_valid), hash_alg=hash_alg,
            issuer_key_for_aki=k,
        )  # fmt: skip
        return Issued(cert, k)


# --- legacy signatures (added for certificate analysis tests) ----------------------------------
# cryptography refuses to sign certificates with SHA-1 or MD5, but servers still present such
# certificates. `legacy_signed` re-signs an issued certificate's TBS with the old hash by hand.

_MODERN_ALG_IDS = (
    bytes.fromhex("300d06092a864886f70d01010b0500"),  # sha256WithRSAEncryption
    bytes.fromhex("300a06082a8648ce3d040302"),  # ecdsa-with-SHA256
)
_LEGACY_ALG_IDS = {
    ("rsa", "sha1"): bytes.fromhex("300d06092a864886f70d0101050500"),
    ("rsa", "md5"): bytes.fromhex("300d06092a864886f70d0101040500"),
    ("ec", "sha1"): bytes.fromhex("300906072a8648ce3d0401"),
}


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _der_content(element: bytes) -> bytes:
    first = element[1]
    if first < 0x80:
        return element[2 : 2 + first]
    size = first & 0x7F
    length = int.from_bytes(element[2 : 2 + size], "big")
    return element[2 + size : 2 + size + length]


def legacy_signed(issued: Issued, issuer: Issued, hash_name: str = "sha1") -> Issued:
    """A copy of `issued` whose signature by `issuer` uses SHA-1 or MD5."""
    kind = "rsa" if isinstance(issuer.key, rsa.RSAPrivateKey) else "ec"
    alg_id = _LEGACY_ALG_IDS[(kind, hash_name)]
    content = _der_content(issued.cert.tbs_certificate_bytes)
    for modern in _MODERN_ALG_IDS:
        if modern in content:
            content = content.replace(modern, alg_id, 1)
            break
    else:
        raise ValueError("unexpected signature algorithm in the TBS certificate")
    tbs = _der(0x30, content)
    digest = {"sha1": hashes.SHA1(), "md5": hashes.MD5()}[hash_name]
    if isinstance(issuer.key, rsa.RSAPrivateKey):
        signature = issuer.key.sign(tbs, padding.PKCS1v15(), digest)
    elif isinstance(issuer.key, ec.EllipticCurvePrivateKey):
        signature = issuer.key.sign(tbs, ec.ECDSA(digest))
    else:
        raise ValueError("legacy signatures need an RSA or EC issuer key")
    der = _der(0x30, tbs + alg_id + _der(0x03, b"\x00" + signature))
    return Issued(x509.load_der_x509_certificate(der), issued.key, issued.chain)
