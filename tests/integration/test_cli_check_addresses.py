"""Which addresses `mailflow check` probes when a host has more than it may: DNS order kept,
IPv4 and IPv6 in turn, blocked addresses set aside before the per-host limit, and the report
says how many were left out. Nothing listens on the allowed loopback addresses: each probe is
refused at once, and the evidence shows which addresses were tried."""

from __future__ import annotations

from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.integration.test_cli_check import mailflow
from tests.integration.test_cli_check_scenarios import check_json, finding, ids

BLOCKED_V4 = [f"10.{n // 250}.{n % 250}.1" for n in range(968)]  # private: never probed
ALLOWED_V4 = [f"127.0.9.{n}" for n in range(32, 0, -1)]  # DNS order: descending
V6 = [f"fd00::{n:x}" for n in range(1, 10)] + ["::1"]  # nine private, then loopback


async def test_a_thousand_a_and_ten_aaaa_records() -> None:
    zone: Zone = {"wide.example.test": {"A": BLOCKED_V4 + ALLOWED_V4, "AAAA": V6}}
    allow = ["--allow-net", "127.0.9.0/24", "--allow-net", "::1/128"]
    async with FakeDnsServer(zone) as dns:
        common = ["--host", "wide.example.test", "--nameserver", dns.address, *allow]
        code, doc = await check_json(*common, "--attempts", "1", "--port", "9")
        _, text, _ = await mailflow("check", *common, "--attempts", "1", "--port", "9")
    assert code == 1
    assert sorted(set(ids(doc))) == ["smtp.connect_failed", "target.blocked", "target.capped"]
    (host,) = doc["mx"]
    assert len(host["addresses"]) == 1010 and len(host["blocked"]) == 977
    # ::1 is the 20th address (the 10th AAAA, interleaved with the A records): not dropped
    # behind a thousand A records; then the allowed A records in the order DNS gave them.
    probed = [a["ip"] for a in host["attempts"]]
    assert probed == ["::1", *ALLOWED_V4[:31]]
    assert host["capped"] == ["127.0.9.1"]
    assert not set(probed) & set(host["blocked"])
    capped = finding(doc, "target.capped")
    assert capped["severity"] == "info"
    assert capped["fields"]["not_probed"] == 1 and capped["fields"]["probed"] == 32
    assert "1 of its 33 probe-able addresses were not probed" in capped["summary"]
    assert len(finding(doc, "target.blocked")["fields"]["addresses"]) == 977
    assert "1010 address(es), 977 blocked, 1 over the per-host limit not probed" in text
    assert "… 969 more" in text  # the table lists a few blocked addresses, not 977
    assert len(text.splitlines()) < 1000
