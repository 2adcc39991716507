"""`mailflow check` against servers that break the SMTP dialogue itself: an early talker and
STARTTLS response injection. The real CLI, a real DNS server and scripted SMTP/STARTTLS servers
on loopback; each test asserts the exact finding ids."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, server_context
from tests.integration.conftest import Pki
from tests.integration.test_cli_check import mailflow
from tests.integration.test_cli_check_scenarios import check_json, finding, ids, net


async def test_early_talker_is_a_protocol_violation_naming_what_it_sent(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    """A proxy that greets with its own banner and then passes the server's through: two
    greetings. The second was answered to EHLO before (and the dialogue fell out of step)."""
    server = ScriptedSmtp(
        banner=b"220 proxy.example.test ready\r\n220 mx.example.test ESMTP\r\n",
        tls=server_context(pki.leaf, tmp_path, "leaf"),
    )
    zone: Zone = {"mx.example.test": {"A": ["127.0.8.1"]}}
    async with FakeDnsServer(zone) as dns, RawServer(server, "127.0.8.1") as listener:
        code, doc = await check_json(
            "--host", "mx.example.test", *net(dns, listener.port), "--ca-file", str(ca_file)
        )
        _, text, _ = await mailflow(
            "check", "--host", "mx.example.test", *net(dns, listener.port),
            "--ca-file", str(ca_file),
        )  # fmt: skip
    assert code == 1
    assert ids(doc) == ["smtp.protocol_violation"]  # and the certificate was judged: fine
    violation = finding(doc, "smtp.protocol_violation")
    assert violation["ip"] == "127.0.8.1"
    assert violation["fields"]["before"] == "EHLO"
    assert violation["fields"]["sent"] == "220 mx.example.test ESMTP\\x0d\\x0a"
    assert violation["fields"]["attempts"] == 2
    assert any("Set-ReceiveConnector -Banner $null" in (f["powershell"] or "")
               for f in violation["fixes"])  # fmt: skip
    attempts = doc["mx"][0]["attempts"]
    assert all(a["tls_version"] and a["chain"] for a in attempts)
    assert attempts[0]["unsolicited"] == [
        {"before": "ehlo", "text": "220 mx.example.test ESMTP\\x0d\\x0a", "bytes": 27}
    ]
    assert [a["verdict"] for a in attempts] == ["smtp.protocol_violation"] * 2
    assert "ERROR smtp.protocol_violation  mx.example.test 127.0.8.1" in text


async def test_plaintext_after_the_starttls_reply_is_injection_and_tls_is_not_started(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    server = ScriptedSmtp(
        starttls_reply=b"220 2.0.0 Ready to start TLS\r\n250-INJECTED\r\n250 AUTH PLAIN\r\n",
        tls=server_context(pki.leaf, tmp_path, "leaf"),
    )
    zone: Zone = {"mx.example.test": {"A": ["127.0.8.2"]}}
    async with FakeDnsServer(zone) as dns, RawServer(server, "127.0.8.2") as listener:
        code, doc = await check_json(
            "--host", "mx.example.test", *net(dns, listener.port), "--ca-file", str(ca_file)
        )
    assert code == 1
    assert ids(doc) == ["smtp.starttls_injection"]
    injection = finding(doc, "smtp.starttls_injection")
    assert injection["fields"]["sent"] == "250-INJECTED\\x0d\\x0a250 AUTH PLAIN\\x0d\\x0a"
    assert injection["fields"]["bytes"] == 30
    assert "250-INJECTED" in injection["summary"] and "CVE-2011-0411" in injection["explanation"]
    for attempt in doc["mx"][0]["attempts"]:
        assert attempt["failure"] == "starttls_injection"
        assert attempt["failed_step"] == "starttls"
        assert attempt["tls_version"] is None and attempt["chain"] == []  # no TLS started
        assert attempt["unsolicited"][0]["before"] == "handshake"
    assert "QUIT" not in server.log  # nothing more was said on that connection
