"""`mailflow check` end to end, one scenario of issue 3 per test: the real CLI in a subprocess,
a real DNS server and real SMTP/STARTTLS servers on loopback, certificates made at test time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.certs import describe
from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import (
    AiosmtpdServer,
    Handler,
    RawServer,
    ScriptedSmtp,
    free_common_port,
    hostile_421_greeting,
    hostile_drip_banner,
    hostile_ehlo_rejected,
    hostile_garbage_tls,
    hostile_huge_banner,
    hostile_inspection,
    hostile_no_banner,
    hostile_non_utf8_banner,
    hostile_reset_after_ready,
    hostile_starttls_454,
    server_context,
)
from tests.integration.conftest import Pki
from tests.integration.test_cli_check import mailflow

Doc = dict[str, Any]


def net(dns: FakeDnsServer, port: int, allow: str = "127.0.0.0/8") -> list[str]:
    return ["--nameserver", dns.address, "--allow-net", allow, "--port", str(port)]


def ids(doc: Doc) -> list[str]:
    return [f["id"] for f in doc["findings"]]


def finding(doc: Doc, finding_id: str) -> Doc:
    matching = [f for f in doc["findings"] if f["id"] == finding_id]
    assert len(matching) == 1, ids(doc)
    found: Doc = matching[0]
    return found


def scripts(f: Doc) -> str:
    return "\n".join(fix["powershell"] or "" for fix in f["fixes"])


async def check_json(
    *args: str, env: dict[str, str] | None = None, policies: bool = False
) -> tuple[int, Doc]:
    """`mailflow check --json`; the policy checks (DANE, MTA-STS, TLS-RPT: their own tests in
    test_cli_check_policies.py) are off unless asked for, so each test here sees its subject."""
    extra = () if policies else ("--no-policies",)
    code, out, err = await mailflow("check", *args, *extra, "--json", env=env)
    assert code in (0, 1), err
    doc: Doc = json.loads(out)
    assert list(doc) == ["target", "mx", "findings", "policies", "elapsed_ms"]
    return code, doc


# --- --host ---------------------------------------------------------------------------------


async def test_host_mode_probes_an_ip_or_a_name_without_mx_lookup(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    leaf = pki.factory.leaf(pki.intermediate, ["smarthost.contoso.test", "127.0.0.21"], index=50)
    zone: Zone = {"smarthost.contoso.test": {"A": ["127.0.0.21"]}}
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(leaf, tmp_path, "smart"), "127.0.0.21") as smtp,
    ):
        by_ip = await check_json(
            "--host", "127.0.0.21", "--expect-name", "smarthost.contoso.test",
            *net(dns, smtp.port, "127.0.0.21/32"), "--ca-file", str(ca_file),
        )  # fmt: skip
        ip_queries = list(dns.queries)
        by_name = await check_json(
            "--host", "SmartHost.Contoso.test.", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
        text_code, text, _ = await mailflow(
            "check", "--host", "smarthost.contoso.test", *net(dns, smtp.port),
            "--ca-file", str(ca_file), "--no-policies",
        )  # fmt: skip
    for code, doc in (by_ip, by_name):
        assert code == 0, ids(doc)
        assert doc["findings"] == []
        (host,) = doc["mx"]
        assert host["preference"] is None
        assert [a["ip"] for a in host["attempts"]] == ["127.0.0.21", "127.0.0.21"]
        assert host["attempts"][0]["chain"][0]["sha256"] == describe(leaf.der).sha256
    assert by_ip[1]["target"] == "127.0.0.21"
    assert by_name[1]["target"] == "smarthost.contoso.test"
    assert ip_queries == []  # an IP literal is probed as given
    assert "MX" not in {qtype for _, _, qtype in dns.queries}
    assert text_code == 0
    assert "host smarthost.contoso.test: 1 address(es)" in text
    assert "No problems found" in text


# --- DNS --------------------------------------------------------------------------------------


async def test_exchange_online_mx_is_explained_and_blocked_address_never_touched() -> None:
    connections: list[str] = []

    async def trap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("connected")

    zone: Zone = {
        "contoso.test": {"MX": ["0 contoso-test.mail.protection.outlook.com"]},
        "contoso-test.mail.protection.outlook.com": {"A": ["127.0.0.31"]},
    }
    async with FakeDnsServer(zone) as dns, RawServer(trap, "127.0.0.31") as listener:
        code, doc = await check_json("contoso.test", *net(dns, listener.port, "127.0.0.30/32"))
        _, text, _ = await mailflow("check", "contoso.test", *net(dns, listener.port, "127.0.0.30"))
    assert connections == []
    assert code == 1
    assert sorted(ids(doc)) == ["mx.exchange_online", "target.blocked"]
    eo = finding(doc, "mx.exchange_online")
    assert eo["severity"] == "info"
    assert (eo["host"], eo["ip"]) == ("contoso-test.mail.protection.outlook.com", None)
    assert "smart host" in eo["explanation"] and "outbound connector" in eo["explanation"]
    assert "Get-OutboundConnector" in scripts(eo)
    assert "INFO  mx.exchange_online  contoso-test.mail.protection.outlook.com" in text


async def test_exchange_online_mx_allowed_and_healthy_exits_0(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    eop = pki.factory.leaf(pki.intermediate, ["*.mail.protection.outlook.com"], index=51)
    zone: Zone = {
        "fabrikam.test": {"MX": ["0 fabrikam-test.mail.protection.outlook.com"]},
        "fabrikam-test.mail.protection.outlook.com": {"A": ["127.0.0.32"]},
    }
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(eop, tmp_path, "eop"), "127.0.0.32") as smtp,
    ):
        code, doc = await check_json(
            "fabrikam.test", *net(dns, smtp.port), "--ca-file", str(ca_file),
            "--expect-name", "smarthost.fabrikam.test",  # on-premises name: not Microsoft's MX
        )  # fmt: skip
    assert code == 0, ids(doc)
    assert ids(doc) == ["mx.exchange_online"]
    assert all(a["tls_version"] for a in doc["mx"][0]["attempts"])


@pytest.mark.parametrize(
    ("zone", "target", "expected"),
    [
        ({"null.test": {"MX": ["0 ."]}}, "null.test", "dns.null_mx"),
        ({"other.test": {"A": ["127.0.0.1"]}}, "missing.test", "dns.nxdomain"),
        ({"broken.test": "SERVFAIL"}, "broken.test", "dns.lookup_failed"),
        ({"d.test": {"MX": ["10 nowhere.d.test"]}, "nowhere.d.test": {"TXT": ["x"]}},
         "d.test", "dns.no_address"),
    ],
)  # fmt: skip
async def test_dns_outcomes_are_findings_with_exit_1(
    zone: Zone, target: str, expected: str
) -> None:
    async with FakeDnsServer(zone) as dns:
        code, doc = await check_json(target, *net(dns, 25))
        text_code, text, err = await mailflow("check", f"postmaster@{target}", *net(dns, 25))
    assert code == 1 and text_code == 1, err
    assert ids(doc) == [expected]
    f = doc["findings"][0]
    assert f["severity"] == "error" and f["ip"] is None and f["host"]
    assert all(not h["attempts"] for h in doc["mx"])
    assert f"ERROR {expected}" in text and "Traceback" not in err


async def test_no_mx_uses_the_implicit_mx_with_a_warning_and_exit_0(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    leaf = pki.factory.leaf(pki.intermediate, ["nomx.test"], index=52)
    zone: Zone = {"nomx.test": {"A": ["127.0.0.33"]}}
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(leaf, tmp_path, "nomx"), "127.0.0.33") as smtp,
    ):
        code, doc = await check_json("nomx.test", *net(dns, smtp.port), "--ca-file", str(ca_file))
        _, text, _ = await mailflow(
            "check", "nomx.test", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
    assert code == 0
    assert ids(doc) == ["dns.no_mx"]
    warning = doc["findings"][0]
    assert warning["severity"] == "warning"
    assert warning["fields"]["addresses"] == ["127.0.0.33"]
    (host,) = doc["mx"]
    assert host["host"] == "nomx.test" and len(host["attempts"]) == 2
    assert "implicit MX (no MX record) nomx.test" in text and "WARN  dns.no_mx" in text


async def test_idn_target_is_checked_as_its_a_label(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    leaf = pki.factory.leaf(pki.intermediate, ["mx.xn--bcher-kva.example"], index=53)
    zone: Zone = {
        "xn--bcher-kva.example": {"MX": ["10 mx.xn--bcher-kva.example"]},
        "mx.xn--bcher-kva.example": {"A": ["127.0.0.34"]},
    }
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(leaf, tmp_path, "idn"), "127.0.0.34") as smtp,
    ):
        code, doc = await check_json(
            "bücher.example", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
        by_mail = await check_json(
            "info@BÜCHER.example", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
        _, text, _ = await mailflow(
            "check", "bücher.example", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
    assert code == 0, ids(doc)
    assert doc["target"] == "xn--bcher-kva.example" == by_mail[1]["target"]
    assert doc["mx"][0]["host"] == "mx.xn--bcher-kva.example"
    assert doc["findings"] == [] and by_mail[0] == 0
    assert text.startswith("Target: xn--bcher-kva.example (bücher.example)")


# --- certificates -----------------------------------------------------------------------------


async def test_expect_name_not_covered_is_a_subject_mismatch_with_a_renewal_for_all_names(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    zone: Zone = {
        "example.test": {"MX": ["10 mx.example.test"]},
        "mx.example.test": {"A": ["127.0.0.35"]},
    }
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(pki.leaf, tmp_path, "leaf"), "127.0.0.35") as smtp,
    ):
        common = [*net(dns, smtp.port), "--ca-file", str(ca_file)]
        clean = await check_json("example.test", *common, "--expect-name", "mail.example.test")
        code, doc = await check_json(
            "example.test", *common, "--expect-name", "hybrid.example.test"
        )
    assert clean[0] == 0 and clean[1]["findings"] == []  # the leaf covers mail.example.test
    assert code == 1
    assert ids(doc) == ["cert.subject_mismatch"]
    mismatch = doc["findings"][0]
    assert (mismatch["host"], mismatch["ip"]) == ("mx.example.test", "127.0.0.35")
    assert "hybrid.example.test" in mismatch["summary"]
    assert mismatch["fields"]["expected_names"] == ["mx.example.test", "hybrid.example.test"]
    assert mismatch["fields"]["attempts"] == 2
    assert "$names = @('mx.example.test', 'hybrid.example.test')" in scripts(mismatch)


async def test_missing_intermediate_is_chain_incomplete_with_install_fix(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    zone: Zone = {"mx.example.test": {"A": ["127.0.0.36"]}}
    context = server_context(pki.leaf, tmp_path, "bare", include_chain=False)
    async with FakeDnsServer(zone) as dns, AiosmtpdServer(context, "127.0.0.36") as smtp:
        code, doc = await check_json(
            "--host", "mx.example.test", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
    assert code == 1
    assert ids(doc) == ["cert.chain_incomplete"]
    incomplete = doc["findings"][0]
    assert incomplete["ip"] == "127.0.0.36"
    issuer = "CN=Mailflow Test Issuing CA, O=Mailflow Test, C=US"
    assert issuer in incomplete["summary"]
    script = scripts(incomplete)
    assert "Cert:\\LocalMachine\\CA" in script and f"$_.Subject -eq '{issuer}'" in script
    assert any("smtpd_tls_chain_files" in fix["title"] for fix in incomplete["fixes"])
    assert [len(a["chain"]) for a in doc["mx"][0]["attempts"]] == [1, 1]


async def test_expired_certificate(pki: Pki, tmp_path: Path, ca_file: Path) -> None:
    old = pki.factory.leaf(
        pki.intermediate, ["old.example.test"],
        not_before=pki.factory.now - dt.timedelta(days=120), days_valid=90, index=54,
    )  # fmt: skip
    zone: Zone = {"old.example.test": {"A": ["127.0.0.37"]}}
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(old, tmp_path, "old"), "127.0.0.37") as smtp,
    ):
        code, doc = await check_json(
            "--host", "old.example.test", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
    assert code == 1
    assert ids(doc) == ["cert.expired"]
    expired = doc["findings"][0]
    assert expired["fields"]["thumbprint"] == describe(old.der).sha1
    assert old.cert.not_valid_after_utc.strftime("%Y-%m-%d") in expired["summary"]
    assert "New-ExchangeCertificate -GenerateRequest" in scripts(expired)


# --- environment ------------------------------------------------------------------------------


async def test_environment_variables_stand_in_for_flags(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    zone: Zone = {
        "example.test": {"MX": ["10 mx.example.test"]},
        "mx.example.test": {"A": ["127.0.0.38"]},
        "slow.test": {"MX": ["10 mx.slow.test"]},
        "mx.slow.test": {"A": ["127.0.0.39"]},
    }
    port = free_common_port(["127.0.0.38", "127.0.0.39"])
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(pki.leaf, tmp_path, "leaf"), "127.0.0.38", port=port),
        RawServer(hostile_no_banner, "127.0.0.39", port=port),
    ):
        env = {
            "MAILFLOW_NAMESERVERS": dns.address,
            "MAILFLOW_ALLOW_NETS": "10.0.0.0/8, 127.0.0.38/32,127.0.0.39",
            "MAILFLOW_CA_FILE": str(ca_file),
        }
        code, doc = await check_json("example.test", "--port", str(port), env=env)
        started = time.monotonic()
        slow_code, slow = await check_json(
            "slow.test", "--port", str(port), env=dict(env, MAILFLOW_PROBE_TIMEOUT="1")
        )
        elapsed = time.monotonic() - started
    assert code == 0, ids(doc)  # trusted through MAILFLOW_CA_FILE, allowed by MAILFLOW_ALLOW_NETS
    assert doc["findings"] == [] and len(doc["mx"][0]["attempts"]) == 2
    assert slow_code == 1 and ids(slow) == ["smtp.timeout"]
    assert "within 1 s" in slow["findings"][0]["fields"]["error"]
    assert elapsed < 5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILFLOW_NAMESERVERS", "127.0.0.1:99999"),
        ("MAILFLOW_ALLOW_NETS", "127.0.0.0/33"),
        ("MAILFLOW_CA_FILE", "/nonexistent/roots.pem"),
        ("MAILFLOW_PROBE_TIMEOUT", "soon"),
    ],
)
async def test_malformed_environment_variable_is_a_one_line_error(
    variable: str, value: str
) -> None:
    code, out, err = await mailflow("check", "contoso.test", env={variable: value})
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("mailflow: error: ") and variable in line


async def test_bad_ca_file_flag_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "roots.pem"
    bogus.write_text("not a certificate\n")
    code, _, err = await mailflow("check", "contoso.test", "--ca-file", str(bogus))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "--ca-file" in line and "MAILFLOW_CA_FILE" not in line


async def test_ca_file_that_only_looks_like_pem_is_a_one_line_error(tmp_path: Path) -> None:
    """Parsed while the probe runs (not before): still one line naming the flag, exit 2."""
    broken = tmp_path / "roots.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n")
    async with FakeDnsServer({"mx.example.test": {"A": ["127.0.8.40"]}}) as dns:
        code, out, err = await mailflow(
            "check", "--host", "mx.example.test", *net(dns, 9), "--ca-file", str(broken)
        )
    assert (code, out) == (2, "")
    (line,) = err.strip().splitlines()
    assert line.startswith("mailflow: error: --ca-file: ") and "cannot be parsed" in line


# --- time -------------------------------------------------------------------------------------


async def test_deadline_reports_partial_evidence(pki: Pki, tmp_path: Path, ca_file: Path) -> None:
    zone: Zone = {
        "partial.test": {"MX": ["10 mx.example.test", "20 tarpit.partial.test"]},
        "mx.example.test": {"A": ["127.0.0.40"]},
        "tarpit.partial.test": {"A": ["127.0.0.41"]},
    }
    port = free_common_port(["127.0.0.40", "127.0.0.41"])
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(pki.leaf, tmp_path, "leaf"), "127.0.0.40", port=port),
        RawServer(hostile_drip_banner, "127.0.0.41", port=port),
    ):
        common = [*net(dns, port), "--ca-file", str(ca_file), "--deadline", "2"]
        started = time.monotonic()
        code, doc = await check_json("partial.test", *common)
        elapsed = time.monotonic() - started
        _, text, _ = await mailflow("check", "partial.test", *common)
    assert code == 1
    assert elapsed < 6
    good, tarpit = doc["mx"]
    assert [a["tls_version"] for a in good["attempts"]] == ["TLSv1.3", "TLSv1.3"]
    assert {(a["failure"], a["failed_step"]) for a in tarpit["attempts"]} == {
        ("deadline", "banner")
    }
    assert tarpit["attempts"][0]["banner"] is None
    assert ids(doc) == ["smtp.timeout"]
    timeout = doc["findings"][0]
    assert (timeout["host"], timeout["ip"]) == ("tarpit.partial.test", "127.0.0.41")
    assert timeout["fields"]["failure"] == "deadline"
    assert "deadline reached" in text.splitlines()[0]


HOSTILE: dict[str, tuple[Callable[[], Handler], str]] = {
    "no banner": (lambda: hostile_no_banner, "smtp.timeout"),
    "dripped banner": (lambda: hostile_drip_banner, "smtp.timeout"),
    "10 MB banner line": (lambda: hostile_huge_banner, "smtp.connect_failed"),
    "421 greeting": (hostile_421_greeting, "smtp.rejected"),
    "EHLO rejected": (hostile_ehlo_rejected, "smtp.rejected"),
    "STARTTLS 454": (hostile_starttls_454, "smtp.rejected"),
    "reset after 220": (lambda: hostile_reset_after_ready, "smtp.connect_failed"),
    "garbage TLS": (lambda: hostile_garbage_tls, "tls.handshake_failed"),
    "ESMTP inspection": (hostile_inspection, "smtp.inspection"),
    "non-UTF-8 banner, no STARTTLS": (hostile_non_utf8_banner, "smtp.starttls_missing"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_server_through_the_cli_ends_within_its_timeout(case: str) -> None:
    factory, expected = HOSTILE[case]
    zone: Zone = {
        "hostile.test": {"MX": ["10 mx.hostile.test"]},
        "mx.hostile.test": {"A": ["127.0.0.42"]},
    }
    async with FakeDnsServer(zone) as dns, RawServer(factory(), "127.0.0.42") as server:
        common = [*net(dns, server.port), "--timeout", "1"]
        started = time.monotonic()
        code, doc = await check_json("hostile.test", *common)
        elapsed = time.monotonic() - started
        _, text, err = await mailflow("check", "hostile.test", *common)
    assert elapsed < 4.5  # one step times out after 1 s; both attempts run in parallel
    assert code == 1
    assert expected in ids(doc)
    assert all(f["host"] == "mx.hostile.test" and f["ip"] == "127.0.0.42" for f in doc["findings"])
    assert "\x1b" not in text and "\x1b" not in err and "Traceback" not in err
    for attempt in doc["mx"][0]["attempts"]:
        assert len(attempt["banner"] or "") < 70_000


async def test_long_chain_and_many_sans_are_judged_quickly(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    issuer = pki.root
    for n in range(39):
        issuer = pki.factory.intermediate(issuer, f"Hostile CA {n}", index=30)
    long_chain = pki.factory.leaf(issuer, ["mx.long.test"], index=55)
    sans = ["mx.sans.test"] + [f"n{i}.sans.test" for i in range(4999)]
    many_sans = pki.factory.leaf(pki.intermediate, sans, index=56)
    zone: Zone = {"mx.long.test": {"A": ["127.0.0.43"]}, "mx.sans.test": {"A": ["127.0.0.44"]}}
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(ScriptedSmtp(tls=server_context(long_chain, tmp_path, "long")), "127.0.0.43")
        as long_server,
        RawServer(ScriptedSmtp(tls=server_context(many_sans, tmp_path, "sans")), "127.0.0.44")
        as sans_server,
    ):  # fmt: skip
        started = time.monotonic()
        long_code, long_doc = await check_json(
            "--host", "mx.long.test", *net(dns, long_server.port), "--ca-file", str(ca_file),
            "--timeout", "2",
        )  # fmt: skip
        sans_code, sans_doc = await check_json(
            "--host", "mx.sans.test", *net(dns, sans_server.port), "--ca-file", str(ca_file),
            "--timeout", "2",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert sans_code == 0 and sans_doc["findings"] == []
    assert len(sans_doc["mx"][0]["attempts"][0]["chain"][0]["sans"]) == 5000
    assert long_code == 1
    attempt = long_doc["mx"][0]["attempts"][0]
    assert attempt["chain_presented"] == 40 and len(attempt["chain"]) == 10
    (problem,) = long_doc["findings"]
    # Not "chain incomplete": the issuer may be among the 30 certificates beyond the cap.
    assert problem["id"] == "cert.untrusted"
    assert problem["fields"]["chain_presented"] == 40
    assert "sent 40 certificates; only the first 10 were examined" in problem["explanation"]


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1 is deprecated")
async def test_tls_1_0_server_is_outdated(pki: Pki, tmp_path: Path, ca_file: Path) -> None:
    context = server_context(pki.leaf, tmp_path, "tls10")
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot serve TLS 1.0")
    zone: Zone = {"mx.example.test": {"A": ["127.0.0.45"]}}
    async with FakeDnsServer(zone) as dns, RawServer(ScriptedSmtp(tls=context), "127.0.0.45") as s:
        code, doc = await check_json(
            "--host", "mx.example.test", *net(dns, s.port), "--ca-file", str(ca_file)
        )
    if doc["mx"][0]["attempts"][0]["failure"] == "tls":
        pytest.skip("TLS 1.0 is disabled in this OpenSSL build")
    assert code == 1
    outdated = finding(doc, "tls.protocol_outdated")
    assert outdated["fields"]["tls_version"] == "TLSv1"
    assert "SCHANNEL" in scripts(outdated)


async def test_gateway_certificate_points_at_the_appliance(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    """A Barracuda in front of Exchange presents its own default certificate."""
    own = pki.factory.self_signed("barracuda", ["barracuda.local"], org="Barracuda Networks",
                                  index=57)  # fmt: skip
    zone: Zone = {"mx.example.test": {"A": ["127.0.0.48"]}}
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(own, tmp_path, "cuda"), "127.0.0.48") as smtp,
    ):
        code, doc = await check_json(
            "--host", "mx.example.test", *net(dns, smtp.port), "--ca-file", str(ca_file)
        )
    assert code == 1
    assert {"cert.appliance", "cert.self_signed"} <= set(ids(doc))
    appliance = finding(doc, "cert.appliance")
    assert appliance["severity"] == "warning" and "Barracuda" in appliance["summary"]
    for f in doc["findings"]:
        if f["id"].startswith("cert."):
            assert all(fix["powershell"] is None for fix in f["fixes"]), f["id"]
            assert any("Barracuda" in fix["title"] for fix in f["fixes"]), f["id"]


async def test_dns_timeout_is_a_finding_within_the_step_timeout() -> None:
    async with FakeDnsServer({"slow.test": "HANG"}) as dns:
        started = time.monotonic()
        code, doc = await check_json("slow.test", *net(dns, 25), "--timeout", "1")
        elapsed = time.monotonic() - started
    assert code == 1 and elapsed < 4
    assert ids(doc) == ["dns.lookup_failed"]
    assert doc["findings"][0]["fields"]["error"] == "timeout"
