from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core import certs
from bot.core.certs import (
    CHAIN_INCOMPLETE,
    EXPIRED,
    EXPIRING_SOON_ID,
    NOT_YET_VALID,
    SELF_SIGNED,
    SUBJECT_MISMATCH,
    UNTRUSTED,
    WEAK_KEY,
    WEAK_SIGNATURE,
    CertificateParseError,
    TrustStoreError,
    assess_chain,
    describe,
    load_trust_store,
    trust_store_from,
    windows_name,
)
from bot.core.evidence import UnreadableCert
from bot.core.names import covered
from tests.fakes.certs import CertFactory, Issued, legacy_signed

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
F = CertFactory(NOW)
ROOT = F.root_ca()
INTER = F.intermediate(ROOT)
LEAF = F.leaf(INTER, ["mail.contoso.com", "hybrid.contoso.com"])
TRUST = trust_store_from([ROOT.cert], "test root")
HOST = "mail.contoso.com"


def chain_of(*issued: Issued) -> list[bytes]:
    return [i.der for i in issued]


def attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def rdn(*attributes: x509.NameAttribute[str]) -> x509.RelativeDistinguishedName:
    return x509.RelativeDistinguishedName(list(attributes))


# --- Windows name form --------------------------------------------------------------------------


def test_windows_name_puts_most_specific_first_with_comma_space() -> None:
    name = x509.Name(
        [
            attr(NameOID.COUNTRY_NAME, "US"),
            attr(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
            attr(NameOID.ORGANIZATION_NAME, "Contoso"),
            attr(NameOID.COMMON_NAME, "mail.contoso.com"),
        ]
    )
    assert windows_name(name) == "CN=mail.contoso.com, O=Contoso, S=Washington, C=US"
    assert name.rfc4514_string() == "CN=mail.contoso.com,O=Contoso,ST=Washington,C=US"


def test_windows_name_quotes_like_certnametostr_documented_example() -> None:
    # The example in Microsoft's CertNameToStr documentation, in Windows (reversed) order.
    name = x509.Name(
        [
            rdn(attr(NameOID.ORGANIZATIONAL_UNIT_NAME, " Microsoft")),
            rdn(
                attr(NameOID.COMMON_NAME, 'Joe "Cool"'), attr(NameOID.TITLE, "Programmer, Manager")
            ),
        ]
    )
    assert windows_name(name) == ('CN="Joe ""Cool""" + T="Programmer, Manager", OU=" Microsoft"')


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Contoso, Inc.", '"Contoso, Inc."'),
        ("a+b", '"a+b"'),
        ("a=b", '"a=b"'),
        ("a<b>", '"a<b>"'),
        ("#1", '"#1"'),
        ("a;b", '"a;b"'),
        ("line\nbreak", '"line\nbreak"'),
        ("trailing ", '"trailing "'),
        ("\ttab", '"\ttab"'),
        ("", '""'),
        ("two  spaces inside", "two  spaces inside"),
        ("x'; Remove-Item C:\\ -Recurse; '", "\"x'; Remove-Item C:\\ -Recurse; '\""),
        ("Zürich", "Zürich"),
    ],
)
def test_windows_name_quotes_values_that_need_it(value: str, shown: str) -> None:
    name = x509.Name([attr(NameOID.ORGANIZATION_NAME, value)])
    assert windows_name(name) == f"O={shown}"


def test_windows_name_knows_windows_keys_and_prints_unknown_oids() -> None:
    ev_jurisdiction = x509.ObjectIdentifier("1.3.6.1.4.1.311.60.2.1.3")
    name = x509.Name(
        [
            attr(NameOID.BUSINESS_CATEGORY, "Private Organization"),
            attr(ev_jurisdiction, "US"),
            attr(NameOID.SERIAL_NUMBER, "5157550"),
            attr(NameOID.STREET_ADDRESS, "88 Colin P Kelly Jr Street"),
            attr(NameOID.POSTAL_CODE, "94107"),
            attr(NameOID.DOMAIN_COMPONENT, "com"),
            attr(NameOID.EMAIL_ADDRESS, "pki@contoso.com"),
            attr(NameOID.GIVEN_NAME, "Kim"),
            attr(NameOID.SURNAME, "Akers"),
            attr(NameOID.INITIALS, "KA"),
            attr(NameOID.LOCALITY_NAME, "Redmond"),
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
            attr(NameOID.COMMON_NAME, "github.com"),
        ]
    )
    assert windows_name(name) == (
        "CN=github.com, OU=IT, L=Redmond, I=KA, SN=Akers, G=Kim, E=pki@contoso.com, DC=com, "
        "PostalCode=94107, STREET=88 Colin P Kelly Jr Street, SERIALNUMBER=5157550, "
        "OID.1.3.6.1.4.1.311.60.2.1.3=US, OID.2.5.4.15=Private Organization"
    )


def test_windows_name_of_a_parsed_certificate_matches_the_name_built() -> None:
    info = describe(LEAF.der)
    assert info.subject_windows == "CN=mail.contoso.com, C=US"
    assert info.issuer_windows == "CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US"


# --- describe -----------------------------------------------------------------------------------


def test_describe_fills_every_field() -> None:
    info = describe(LEAF.der)
    assert info.der == LEAF.der
    assert info.subject == "CN=mail.contoso.com,C=US"
    assert info.issuer == "CN=Mailflow Test Issuing CA,O=Mailflow Test,C=US"
    assert info.sans == ("mail.contoso.com", "hybrid.contoso.com")
    assert info.sha1 == hashlib.sha1(LEAF.der).hexdigest().upper()
    assert len(info.sha1) == 40 and info.sha1.isupper()
    assert info.sha256 == hashlib.sha256(LEAF.der).hexdigest().upper()
    assert int(info.serial, 16) == LEAF.cert.serial_number
    assert info.not_before == NOW - dt.timedelta(days=1)
    assert info.not_after.tzinfo is not None
    assert (info.key_type, info.key_bits) == ("EC", 256)
    assert info.signature_algorithm == "ecdsa-with-SHA256"
    assert info.self_signed is False


def test_describe_rsa_ip_san_and_self_signed() -> None:
    own = F.self_signed("SERVER1", ["server1.contoso.local", "192.0.2.10"], key="rsa2048")
    info = describe(own.der)
    assert info.self_signed is True
    assert (info.key_type, info.key_bits) == ("RSA", 2048)
    assert info.signature_algorithm == "sha256WithRSAEncryption"
    assert info.sans == ("server1.contoso.local", "IP:192.0.2.10")


def test_describe_serial_keeps_the_leading_zero_octet_windows_shows() -> None:
    assert certs._hex_serial(0x80) == "0080"
    assert certs._hex_serial(0x7F) == "7F"
    assert certs._hex_serial(0) == "00"


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 10, b"not a certificate", LEAF.der[:-20]])
def test_describe_rejects_garbage_with_parse_error(garbage: bytes) -> None:
    with pytest.raises(CertificateParseError):
        describe(garbage)


def test_describe_rejects_oversized_input() -> None:
    with pytest.raises(CertificateParseError, match="too large"):
        describe(b"0" * (certs.MAX_DER_BYTES + 1))


# --- trust store ----------------------------------------------------------------------------------


def test_default_trust_store_is_mozilla_and_cached() -> None:
    store = load_trust_store(None)
    assert len(store) > 100
    assert load_trust_store(None) is store
    assert "certifi" in store.source


def test_trust_store_from_pem_file(tmp_path: Path) -> None:
    path, _ = ROOT.write(tmp_path, "root")
    store = load_trust_store(path)
    assert len(store) == 1
    assert store.contains(ROOT.cert)
    assessment = assess_chain(chain_of(LEAF, INTER), [HOST], store, NOW)
    assert assessment.ok


def test_trust_store_accepts_a_der_file(tmp_path: Path) -> None:
    path = tmp_path / "root.cer"
    path.write_bytes(ROOT.der)
    assert load_trust_store(path).contains(ROOT.cert)


def test_trust_store_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match=r"cannot read CA file .*missing\.pem"):
        load_trust_store(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    with pytest.raises(TrustStoreError, match=r"junk\.pem"):
        load_trust_store(junk)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustStoreError, match="certificate 1 cannot be parsed"):
        load_trust_store(broken)
    with pytest.raises(TrustStoreError, match="not a regular file"):
        load_trust_store(tmp_path)


# --- chain assessment ---------------------------------------------------------------------------


def test_valid_chain_is_ok_for_every_name() -> None:
    a = assess_chain(chain_of(LEAF, INTER), [HOST, "HYBRID.contoso.com."], TRUST, NOW)
    assert a.ok and a.problems == ()
    assert a.verified == (HOST, "hybrid.contoso.com")
    assert a.mismatched == ()
    assert a.anchor == "CN=Mailflow Test Root CA, O=Mailflow Test, C=US"
    assert a.leaf is not None and a.leaf.sha1 == describe(LEAF.der).sha1


def test_chain_sent_out_of_order_or_with_its_root_is_ok() -> None:
    assert assess_chain(chain_of(LEAF, ROOT, INTER), [HOST], TRUST, NOW).ok
    direct = F.leaf(ROOT, [HOST], index=20)
    assert assess_chain(chain_of(direct), [HOST], TRUST, NOW).ok


def test_subject_mismatch_names_the_uncovered_name_only() -> None:
    a = assess_chain(chain_of(LEAF, INTER), [HOST, "smtp.fabrikam.com"], TRUST, NOW)
    assert a.problem_ids == {SUBJECT_MISMATCH}
    assert a.mismatched == ("smtp.fabrikam.com",)
    assert a.covered == (HOST,)
    assert not a.ok


def test_wildcard_covers_one_label_only() -> None:
    wild = F.leaf(INTER, ["*.contoso.com"], index=21)
    assert assess_chain(chain_of(wild, INTER), [HOST], TRUST, NOW).ok
    deep = assess_chain(chain_of(wild, INTER), ["a.mail.contoso.com"], TRUST, NOW)
    assert deep.problem_ids == {SUBJECT_MISMATCH}


def test_expired_leaf_is_expired_not_untrusted() -> None:
    old = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=100), days_valid=90, index=22)
    a = assess_chain(chain_of(old, INTER), [HOST], TRUST, NOW)
    assert a.problem_ids == {EXPIRED}
    assert "expired on" in a.problems[0].detail


def test_not_yet_valid_leaf() -> None:
    future = F.leaf(INTER, [HOST], not_before=NOW + dt.timedelta(days=2), index=23)
    assert assess_chain(chain_of(future, INTER), [HOST], TRUST, NOW).problem_ids == {NOT_YET_VALID}


def test_expiring_soon_is_a_warning_that_keeps_the_chain_ok() -> None:
    soon = F.leaf(INTER, [HOST], not_before=NOW - dt.timedelta(days=80), days_valid=90, index=24)
    a = assess_chain(chain_of(soon, INTER), [HOST], TRUST, NOW)
    assert a.problem_ids == {EXPIRING_SOON_ID}
    assert a.ok
    assert "10 days left" in a.problems[0].detail


def test_self_signed_exchange_certificate() -> None:
    own = F.self_signed("SERVER1", ["SERVER1", "server1.contoso.local"])
    a = assess_chain(chain_of(own), [HOST], TRUST, NOW)
    assert a.problem_ids == {SELF_SIGNED, SUBJECT_MISMATCH}
    covered_name = assess_chain(chain_of(own), ["server1.contoso.local"], TRUST, NOW)
    assert covered_name.problem_ids == {SELF_SIGNED}


def test_sha1_self_signed_certificate_is_self_signed_not_incomplete() -> None:
    own = F.self_signed("EXCH2010", ["exch2010.contoso.local"], index=26)
    old = legacy_signed(own, own, "sha1")
    assert describe(old.der).self_signed
    a = assess_chain(chain_of(old), ["exch2010.contoso.local"], TRUST, NOW)
    assert a.problem_ids == {SELF_SIGNED}


def test_self_signed_certificate_trusted_through_ca_file_is_ok() -> None:
    own = F.self_signed("SERVER1", [HOST], index=25)
    store = trust_store_from([own.cert], "ca file")
    assert assess_chain(chain_of(own), [HOST], store, NOW).ok


def test_private_root_sent_by_the_server_is_untrusted() -> None:
    other_root = F.root_ca("Contoso Private Root", index=30)
    other_inter = F.intermediate(other_root, "Contoso Issuing", index=31)
    leaf = F.leaf(other_inter, [HOST], index=32)
    a = assess_chain(chain_of(leaf, other_inter, other_root), [HOST], TRUST, NOW)
    assert a.problem_ids == {UNTRUSTED}
    assert "Contoso Private Root" in a.problems[0].detail


def test_missing_intermediate_is_chain_incomplete() -> None:
    a = assess_chain(chain_of(LEAF), [HOST], TRUST, NOW)
    assert a.problem_ids == {CHAIN_INCOMPLETE}
    assert a.missing_issuer == "CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US"


def test_weak_rsa_key_is_reported_without_a_vague_untrusted() -> None:
    weak = F.leaf(INTER, [HOST], key="rsa1024", index=40)
    a = assess_chain(chain_of(weak, INTER), [HOST], TRUST, NOW)
    assert WEAK_KEY in a.problem_ids
    assert UNTRUSTED not in a.problem_ids
    assert "1024-bit RSA" in a.problems[0].detail


def test_sha1_signature_on_the_leaf_is_weak() -> None:
    sha1 = legacy_signed(F.leaf(INTER, [HOST], index=41), INTER, "sha1")
    assert describe(sha1.der).signature_algorithm == "ecdsa-with-SHA1"
    a = assess_chain(chain_of(sha1, INTER), [HOST], TRUST, NOW)
    assert a.problem_ids == {WEAK_SIGNATURE}
    assert "SHA-1" in a.problems[0].detail


def test_md5_signature_by_an_rsa_intermediate_is_weak() -> None:
    rsa_inter = F.intermediate(ROOT, "RSA Issuing CA", key="rsa2048", index=44)
    md5 = legacy_signed(F.leaf(rsa_inter, [HOST], index=45), rsa_inter, "md5")
    a = assess_chain(chain_of(md5, rsa_inter), [HOST], TRUST, NOW)
    assert a.problem_ids == {WEAK_SIGNATURE}
    assert "MD5" in a.problems[0].detail


def test_ip_address_names_match_ip_sans() -> None:
    by_ip = F.leaf(INTER, [HOST, "192.0.2.25"], index=42)
    assert assess_chain(chain_of(by_ip, INTER), ["192.0.2.25"], TRUST, NOW).ok
    wrong = assess_chain(chain_of(by_ip, INTER), ["192.0.2.26"], TRUST, NOW)
    assert wrong.problem_ids == {SUBJECT_MISMATCH}


def test_certificate_without_san_falls_back_to_cn_like_windows() -> None:
    cn_only = F.leaf(INTER, [], cn=HOST, index=43)
    a = assess_chain(chain_of(cn_only, INTER), [HOST], TRUST, NOW)
    assert a.covered == (HOST,)
    assert a.problem_ids == frozenset()


def test_naive_now_is_taken_as_utc() -> None:
    assert assess_chain(chain_of(LEAF, INTER), [HOST], TRUST, NOW.replace(tzinfo=None)).ok


@pytest.mark.parametrize(
    "chain",
    [[], [b"garbage"], [b""], [LEAF.der, b"\x30\x03\x02\x01\x00"], [b"\x30" * 5000]],
)
def test_hostile_chains_never_raise(chain: list[bytes]) -> None:
    a = assess_chain(chain, [HOST, "", "bad name_with space"], TRUST, NOW)
    assert UNTRUSTED in a.problem_ids or CHAIN_INCOMPLETE in a.problem_ids
    assert not a.ok


def test_forty_certificate_chain_is_capped_and_fast() -> None:
    issuer = ROOT
    intermediates: list[Issued] = []
    for i in range(39):
        issuer = F.intermediate(issuer, f"Level {i}", index=100 + i)
        intermediates.append(issuer)
    leaf = F.leaf(issuer, [HOST], index=200)
    chain = [leaf.der] + [c.der for c in reversed(intermediates)]
    assert len(chain) == 40
    started = time.perf_counter()
    a = assess_chain(chain, [HOST], TRUST, NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0  # blow-up guard; speed: benchmarks/
    assert a.presented == 40 and len(a.certs) == certs.MAX_CHAIN
    assert not a.ok
    assert any("40 certificates" in note for note in a.notes)


def test_five_thousand_sans_stay_fast() -> None:
    names = [f"host{i}.example.net" for i in range(5000)] + [HOST]
    big = F.leaf(INTER, names, index=50)
    started = time.perf_counter()
    a = assess_chain(
        chain_of(big, INTER), [HOST, "host4999.example.net", "nope.example"], TRUST, NOW
    )
    b = assess_chain(chain_of(big, INTER), [HOST], TRUST, NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, elapsed  # blow-up guard; speed: benchmarks/
    assert a.covered == (HOST, "host4999.example.net") and a.mismatched == ("nope.example",)
    assert b.ok
    assert len(describe(big.der).sans) == 5001


def test_many_names_are_capped() -> None:
    a = assess_chain(chain_of(LEAF, INTER), [f"n{i}.contoso.com" for i in range(100)], TRUST, NOW)
    assert len(a.names) == certs.MAX_NAMES


@pytest.mark.parametrize(
    "host",
    ["mail.contoso.com", "MAIL.contoso.com.", "a.mail.contoso.com", "contoso.com", "x.com",
     "mail.fabrikam.com", "w.sub.contoso.com", "", "."],
)  # fmt: skip
def test_fast_matching_agrees_with_rfc6125_matching(host: str) -> None:
    patterns = ["mail.contoso.com", "*.sub.contoso.com", "*.com", "w*.contoso.com", "*.*.net"]
    leaf = F.leaf(INTER, patterns, index=46)
    parsed = certs._parse(leaf.der)
    assert certs._covers(parsed, host) == covered(patterns, host)


def test_parse_cache_is_bounded_in_bytes_and_entries() -> None:
    cache = certs._ParseCache(
        max_bytes=LEAF.cert.tbs_certificate_bytes.__len__() * 80, max_entries=3
    )
    ders = [F.leaf(INTER, [f"h{i}.contoso.com"], index=47).der for i in range(5)]
    for der in ders:
        assert cache.get(der).info.der == der
    assert len(cache) == 3
    assert cache.get(ders[-1]) is cache.get(ders[-1])
    with pytest.raises(CertificateParseError):
        cache.get(b"junk")
    assert len(cache) == 3


def test_describe_presented_describes_garbage_in_place() -> None:
    infos = certs.describe_presented([LEAF.der, INTER.der, b"junk", ROOT.der])
    assert [getattr(i, "subject_windows", None) for i in infos] == [
        "CN=mail.contoso.com, C=US",
        "CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US",
        None,
        "CN=Mailflow Test Root CA, O=Mailflow Test, C=US",
    ]
    junk = infos[2]
    assert isinstance(junk, UnreadableCert) and junk.der == b"junk" and "DER" in junk.error
    assert junk.sha256 == hashlib.sha256(b"junk").hexdigest().upper()
    assert [getattr(i, "is_ca", None) for i in infos] == [False, True, None, True]


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(LEAF.der) - 1),
    value=st.integers(min_value=0, max_value=255),
    cut=st.integers(min_value=1, max_value=len(LEAF.der)),
)
@example(position=12, value=1, cut=1)  # an invalid X.509 version number (found by hypothesis)
def test_mutated_certificates_never_raise(position: int, value: int, cut: int) -> None:
    mutated = bytearray(LEAF.der)
    mutated[position] = value
    chain = [bytes(mutated[:cut]) if cut % 3 == 0 else bytes(mutated), INTER.der]
    a = assess_chain(chain, [HOST], TRUST, NOW)
    assert isinstance(a.problems, tuple)
    certs.describe_presented(chain)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_random_chains_never_raise(chain: list[bytes]) -> None:
    a = assess_chain(chain, [HOST], TRUST, NOW)
    assert not a.ok


def test_chain_capped_by_the_probe_is_not_called_incomplete() -> None:
    """The probe keeps 10 of 40 certificates: the missing issuer may be among the other 30."""
    factory = CertFactory()
    root = factory.root_ca(index=900)
    issuer = root
    levels = []
    for n in range(39):
        issuer = factory.intermediate(issuer, f"Level {n}", index=901)
        levels.append(issuer)
    leaf = factory.leaf(issuer, ["mx.long.test"], index=902)
    kept = (leaf.der, *(c.der for c in reversed(levels)))[:10]
    trust = trust_store_from([root.cert], "test root")
    now = factory.now
    capped = assess_chain(kept, ["mx.long.test"], trust, now, presented=40)
    assert capped.presented == 40
    assert capped.problem_ids == {UNTRUSTED}
    assert capped.missing_issuer is None
    assert "sent 40 certificates" in capped.problems[0].detail
    assert capped.notes == ("the server sent 40 certificates; only the first 10 were examined",)
    short = assess_chain(kept, ["mx.long.test"], trust, now)  # really only 10 were sent
    # Level 30's issuer is neither sent nor trusted, and no AIA address names it: a root.
    assert short.problem_ids == {UNTRUSTED} and short.missing_issuer is None
    assert "issued by CN=Level 29" in short.problems[0].detail


def test_certificate_with_an_invalid_version_is_a_parse_error() -> None:
    """Found by the mutation property test: version 1 (v2) made cryptography raise
    InvalidVersion, which is not a ValueError, straight out of the analysis."""
    der = bytearray(CertFactory().self_signed("v2", ["v2.example.test"]).der)
    marker = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3)
    at = der.index(marker)
    der[at : at + len(marker)] = bytes.fromhex("a003020101")
    with pytest.raises(CertificateParseError):
        describe(bytes(der))
    trust = trust_store_from([CertFactory().root_ca().cert], "root")
    assessment = assess_chain([bytes(der)], ["v2.example.test"], trust, dt.datetime.now(dt.UTC))
    assert assessment.problem_ids == {UNTRUSTED}


def test_ca_file_with_an_invalid_version_certificate_is_a_clear_error(tmp_path: Path) -> None:
    der = bytearray(CertFactory().root_ca().der)
    at = der.index(bytes.fromhex("a003020102"))
    der[at + 4] = 0x01
    (tmp_path / "roots.der").write_bytes(bytes(der))
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der))
    (tmp_path / "roots.pem").write_bytes(pem + b"-----END CERTIFICATE-----\n")
    for name in ("roots.der", "roots.pem"):
        with pytest.raises(TrustStoreError):
            load_trust_store(tmp_path / name)


HTTP_AIA = ["http://ca.contoso.com/issuing.cer"]
LDAP_AIA = ["ldap:///CN=Contoso Issuing,CN=AIA,CN=Public Key Services,DC=contoso,DC=com"]
OTHER_ROOT = F.root_ca("Some Public Root", index=910)


@pytest.mark.parametrize(
    ("sent", "public", "expected"),
    [
        # the server sends CA certificates: what is missing above them is a root
        ("leaf+inter", True, {UNTRUSTED}),
        ("leaf+inter", False, {UNTRUSTED}),
        ("leaf+inter_aia", True, {UNTRUSTED}),
        ("leaf+inter_aia", False, {CHAIN_INCOMPLETE}),  # the user's roots are known
        ("leaf+inter_ldap", False, {UNTRUSTED}),
        # only the server certificate
        ("leaf", True, {UNTRUSTED}),  # no AIA, public store: a private CA
        ("leaf", False, {CHAIN_INCOMPLETE}),  # the user's CA file: the issuer is a link
        ("leaf_aia", True, {CHAIN_INCOMPLETE}),
        ("leaf_ldap", True, {CHAIN_INCOMPLETE, UNTRUSTED}),  # both
        ("leaf_aia+root", True, {CHAIN_INCOMPLETE, UNTRUSTED}),  # root sent, link missing
        ("leaf+inter+root", True, {UNTRUSTED}),
    ],
)
def test_missing_link_or_unknown_root_is_told_from_the_chain(
    sent: str, public: bool, expected: set[str]
) -> None:
    inter = {
        "inter": INTER,
        "inter_aia": F.intermediate(ROOT, ca_issuers=HTTP_AIA, index=911),
        "inter_ldap": F.intermediate(ROOT, ca_issuers=LDAP_AIA, index=912),
    }
    leaves = {
        "leaf": LEAF,
        "leaf_aia": F.leaf(INTER, [HOST], ca_issuers=HTTP_AIA, index=913),
        "leaf_ldap": F.leaf(INTER, [HOST], ca_issuers=LDAP_AIA, index=914),
    }
    first, *rest = sent.split("+")
    if rest and rest[0] != "root":  # a leaf of that intermediate, then the intermediate
        ca = inter[rest.pop(0)]
        chain = [F.leaf(ca, [HOST], index=915).der, ca.der]
    else:
        chain = [leaves[first].der]
    chain += [ROOT.der for part in rest if part == "root"]
    store = trust_store_from([OTHER_ROOT.cert], "store", public=public)
    assessment = assess_chain(chain, [HOST], store, NOW)
    assert assessment.problem_ids == expected
    assert (assessment.missing_issuer is not None) == (CHAIN_INCOMPLETE in expected)
