"""What a hostile certificate subject in a configuration dump can and cannot do."""

from __future__ import annotations

import json
from pathlib import Path

from bot.diagnosis import diagnose_bytes, diagnose_input
from bot.render import blocks
from bot.render.jsonout import diagnosis_to_json

SAMPLE = (
    Path(__file__).parents[1]
    / "data" / "diagnose" / "config.certificate.self_signed" / "four-servers-ps7.json"
)  # fmt: skip


def test_a_hostile_subject_is_inert_in_fixes_and_escaped_in_slack() -> None:
    diagnosis = diagnose_input(str(SAMPLE))
    finding = next(f for f in diagnosis.findings if f.id == "config.certificate.self_signed")
    assert "Remove-Item" in str(finding.fields["subject"])
    for fix in finding.fixes:  # the certificate is taken by thumbprint, never by its subject
        assert "Remove-Item" not in (fix.powershell or "")
    rendered = json.dumps([m.as_kwargs() for m in blocks.diagnosis_messages(diagnosis)])
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert diagnosis_to_json(diagnosis)["input"]["kind"] == "exchange_config"


def test_a_dump_written_by_windows_powershell_as_utf16_reads_the_same() -> None:
    sample = SAMPLE.parents[1] / "config.certificate.name_not_covered" / "wildcard-one-label.txt"
    text = sample.read_bytes().decode("utf-8")

    def ids(data: bytes) -> list[tuple[str, object]]:
        found = diagnose_bytes(data, "dump.txt").findings
        return [(f.id, f.fields.get("fqdn")) for f in found]

    utf8 = ids(text.encode("utf-8"))
    assert ("config.certificate.name_not_covered", "mail.eu.contoso.com") in utf8
    assert ids(text.encode("utf-16")) == utf8  # `>` in Windows PowerShell 5.1: UTF-16 LE + BOM
