from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.appliances import (
    ApplianceConfigError,
    default_appliances,
    find_appliance,
    load_appliances,
    match_appliance,
)
from bot.core.certs import describe
from tests.fakes.certs import CertFactory

F = CertFactory(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
ROOT = F.root_ca()


def test_default_table_loads_and_covers_the_vendors_the_issue_names() -> None:
    names = " ".join(a.name for a in default_appliances()).lower()
    for vendor in (
        "barracuda", "sophos", "fortimail", "cisco", "ironport", "trend micro", "proofpoint",
        "mimecast", "watchguard",
    ):  # fmt: skip
        assert vendor in names, vendor


@pytest.mark.parametrize(
    ("cn", "org", "expected"),
    [
        ("FortiMail", "Fortinet", "Fortinet FortiMail / FortiGate"),
        ("Cisco Appliance Demo Certificate", "Cisco Systems, Inc.", "Cisco"),
        ("mail.contoso.com", "Barracuda Networks", "Barracuda Email Security Gateway"),
        ("imsva.contoso.local", None, "Trend Micro"),
        ("Fireware SMTP Proxy", "WatchGuard_Technologies", "WatchGuard"),
        ("Sophos UTM Appliance", None, "Sophos"),
    ],
)
def test_default_certificates_of_gateways_are_recognised(
    cn: str, org: str | None, expected: str
) -> None:
    cert = describe(F.self_signed(cn, [], org=org).der)
    name = match_appliance(cert)
    assert name is not None and expected in name


def test_cloud_filter_recognised_by_the_name_in_its_certificate() -> None:
    leaf = F.leaf(ROOT, ["mx0a-001234.pphosted.com"], index=5)
    found = find_appliance(describe(leaf.der))
    assert found is not None and found.kind == "cloud" and "Proofpoint" in found.name
    mimecast = F.leaf(ROOT, ["eu-smtp-inbound-1.mimecast.com"], index=6)
    assert match_appliance(describe(mimecast.der)) == "Mimecast (cloud)"


def test_issuer_match_catches_a_gateway_ca_signing_for_the_real_name() -> None:
    gateway_ca = F.root_ca("Fortinet_CA_SSL", index=7)
    leaf = F.leaf(gateway_ca, ["mail.contoso.com"], index=8)
    assert match_appliance(describe(leaf.der)) == "Fortinet FortiMail / FortiGate"


def test_ordinary_certificates_do_not_match() -> None:
    exchange = F.self_signed("EXCH01", ["EXCH01", "exch01.contoso.local"], org="Contoso")
    assert match_appliance(describe(exchange.der)) is None
    public = F.leaf(ROOT, ["mail.contoso.com"], org="Contoso Ltd", index=9)
    assert match_appliance(describe(public.der)) is None


def test_matching_is_linear_on_huge_subjects() -> None:
    cert = describe(F.self_signed("a" * 60, [], org="b" * 60).der)
    huge = replace(cert, subject="x" * 1_000_000, subject_windows="y" * 1_000_000)
    started = time.perf_counter()
    assert match_appliance(huge) is None
    assert time.perf_counter() - started < 2.0  # blow-up guard; speed: benchmarks/


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "appliances.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema = 2\n", "schema = 1"),
        ("schema = 1\n", "no \\[\\[appliance\\]\\]"),
        ("schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='box'\nsubject=['abc']\n", "kind"),
        ("schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='cloud'\n", "at least one"),
        ("schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='cloud'\nsubject=['ab']\n", "3-100"),
        ("schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='cloud'\nsubject='abc'\n", "list"),
        ("schema = 1\n[[appliance]]\nid='a'\nname=''\nkind='cloud'\nsubject=['abc']\n", "name"),
        (
            "schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='cloud'\nsubject=['abc']\n"
            "[[appliance]]\nid='a'\nname='B'\nkind='cloud'\nsubject=['xyz']\n",
            "duplicate",
        ),
        (
            "schema = 1\n[[appliance]]\nid='a'\nname='A'\nkind='cloud'\nsubjects=['abc']\n",
            "unknown",
        ),
        ("schema = [\n", "appliances.toml"),
    ],
)
def test_invalid_tables_are_rejected_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ApplianceConfigError, match=message):
        load_appliances(write(tmp_path, text))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ApplianceConfigError, match=r"nope\.toml: missing"):
        load_appliances(tmp_path / "nope.toml")


def test_custom_table_is_used_when_given(tmp_path: Path) -> None:
    table = load_appliances(
        write(tmp_path, "schema = 1\n[[appliance]]\nid='x'\nname='X Gate'\nkind='appliance'\n"
              "issuer=['X Gate CA']\n")
    )  # fmt: skip
    ca = F.root_ca("X Gate CA", index=12)
    leaf = describe(F.leaf(ca, ["mail.contoso.com"], index=13).der)
    assert match_appliance(leaf, table) == "X Gate"
    assert match_appliance(leaf, ()) is None
