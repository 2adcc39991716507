"""`mailflow check` as users run it: a subprocess against real loopback DNS and SMTP servers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import AiosmtpdServer, RawServer, free_common_port, server_context
from tests.integration.conftest import Pki

REPO = Path(__file__).resolve().parents[2]


async def mailflow(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` with the caller's MAILFLOW_* variables removed, plus `env`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
    environ.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=REPO, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_half_configured_mx_yields_inconsistent_with_healthy_thumbprint(
    pki: Pki, tmp_path: Path
) -> None:
    zone: Zone = {
        "contoso.test": {"MX": ["10 mail.contoso.test"]},
        "mail.contoso.test": {"A": ["127.0.0.2", "127.0.0.3"]},
    }
    port = free_common_port(["127.0.0.2", "127.0.0.3"])
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    healthy = pki.factory.leaf(pki.intermediate, ["mail.contoso.test"], index=7)
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(healthy, tmp_path, "ok"), "127.0.0.2", port=port),
        AiosmtpdServer(server_context(pki.self_signed, tmp_path, "bad"), "127.0.0.3", port=port),
    ):
        common = ["--nameserver", dns.address, "--allow-net", "127.0.0.0/8", "--port", str(port),
                  "--no-policies"]  # fmt: skip
        code, out, err = await mailflow(
            "check", "admin@contoso.test", *common, "--ca-file", str(ca_file), "--json"
        )
        text_code, text_out, _ = await mailflow(
            "check", "contoso.test", *common, "--ca-file", str(ca_file)
        )
    assert code == 1, err
    doc = json.loads(out)
    assert set(doc) == {"target", "mx", "findings", "policies", "elapsed_ms"}
    assert doc["target"] == "contoso.test"
    (mx,) = doc["mx"]
    assert {a["ip"] for a in mx["attempts"]} == {"127.0.0.2", "127.0.0.3"}
    good = next(a for a in mx["attempts"] if a["ip"] == "127.0.0.2")
    assert good["chain"][0]["thumbprint"] == healthy.cert.fingerprint(hashes.SHA1()).hex().upper()
    ids = {(f["id"], f["ip"]) for f in doc["findings"]}
    assert ("cert.self_signed", "127.0.0.3") in ids
    assert not any(
        ip == "127.0.0.2" and i.startswith("cert.") and i != "cert.inconsistent" for i, ip in ids
    )
    inconsistent = next(f for f in doc["findings"] if f["id"] == "cert.inconsistent")
    thumb = good["chain"][0]["thumbprint"]
    assert any(fix["powershell"] and thumb in fix["powershell"] for fix in inconsistent["fixes"])
    assert text_code == 1
    assert "ADDRESS" in text_out and "127.0.0.3" in text_out and "cert.inconsistent" in text_out


async def test_private_targets_are_refused_without_connecting(tmp_path: Path) -> None:
    connections: list[str] = []

    async def listener(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("connected")
        writer.close()

    zone: Zone = {
        "internal.test": {"MX": ["10 mx.internal.test"]},
        "mx.internal.test": {"A": ["127.0.0.9"], "AAAA": ["::ffff:127.0.0.9"]},
    }
    async with FakeDnsServer(zone) as dns, RawServer(listener, "127.0.0.9") as trap:
        code, out, _ = await mailflow(
            "check",
            "internal.test",
            "--nameserver",
            dns.address,
            "--port",
            str(trap.port),
            "--json",
        )
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [f["id"] for f in findings if f["severity"] == "error"] == ["target.blocked"]
    assert findings[0]["fields"]["addresses"] == ["127.0.0.9", "::ffff:127.0.0.9"]
    assert connections == []


async def test_garbage_target_is_a_one_line_usage_error() -> None:
    code, out, err = await mailflow("check", "not a domain!!")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err
    code, _, err = await mailflow("check", "contoso.com", "--attempts", "zero")
    assert code == 2 and len(err.strip().splitlines()) == 1
