"""`mailflow collect` and `mailflow diagnose --together` as users run them (a real subprocess)."""

from __future__ import annotations

import json

from tests.integration.cli_run import REPO, mailflow

CASE = REPO / "tests" / "data" / "config_case"


def test_together_is_one_case_with_one_story() -> None:
    paths = [str(CASE / name) for name in ("ex01.txt", "ex02.txt", "trace.txt")]
    result = mailflow("diagnose", *paths, "--together", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # one object, not JSON Lines
    assert document["input"]["paths"] == paths
    ids = [f["id"] for f in document["findings"]]
    assert "exo.tls.subject_mismatch" not in ids  # told once, as the configuration finding
    story = next(f for f in document["findings"] if f["id"] == "config.receive.no_certificate")
    assert story["fields"]["connector"] == "EX02\\Default Frontend EX02"
    assert story["fields"]["joined"] == ["exo.tls.subject_mismatch"]
    assert any("SubjectMismatch" in line["text"] for line in story["evidence"])


def test_without_together_each_input_stands_alone() -> None:
    result = mailflow("diagnose", str(CASE / "ex02.txt"), str(CASE / "trace.txt"), "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    # EX02's dump alone shows no sign of hybrid mail flow: a Default Frontend without a name
    # is the normal set-up there.
    assert [f["severity"] for f in lines[0]["findings"]] == ["info"]


def test_together_with_an_unreadable_input_reports_it_and_goes_on() -> None:
    result = mailflow("diagnose", str(CASE / "ex01.txt"), "/nonexistent/x.txt", "--together")
    assert result.returncode == 0
    assert "no such file" in result.stderr
    assert "config.checked" in result.stdout


def test_collect_prints_the_script() -> None:
    for side, cmdlet in (("onprem", "Get-ReceiveConnector"), ("exo", "Get-InboundConnector")):
        result = mailflow("collect", side)
        assert result.returncode == 0, result.stderr
        assert cmdlet in result.stdout and "ConvertTo-Json" in result.stdout
    assert mailflow("collect", "everything").returncode == 2


def _together(*names: str) -> dict[str, object]:
    result = mailflow("diagnose", *(str(CASE / n) for n in names), "--together", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_a_5_7_64_is_told_as_the_inbound_connector_story() -> None:
    document = _together("collector-onprem-exo.json", "tenant-attribution.txt")
    findings = document["findings"]
    assert isinstance(findings, list)
    ids = [f["id"] for f in findings]
    assert "exo.connector.tenant_attribution" not in ids
    story = next(f for f in findings if f["id"] == "config.exo.inbound_certificate_mismatch")
    assert story["fields"]["joined"] == ["exo.connector.tenant_attribution"]


def test_a_trace_about_another_host_is_not_absorbed() -> None:
    document = _together("ex01.txt", "ex02.txt", "partner-trace.txt")
    findings = document["findings"]
    assert isinstance(findings, list)
    mismatch = next(f for f in findings if f["id"] == "exo.tls.subject_mismatch")
    assert mismatch["fields"]["remote_host"] == "smtp.fabrikam.com"
    story = next(f for f in findings if f["id"] == "config.receive.no_certificate")
    assert "joined" not in story["fields"]


def test_a_saved_check_json_joins_the_dumps() -> None:
    """`mailflow check contoso.com --json --output probe.json`, then diagnose it with the dumps."""
    document = _together("ex01.txt", "ex02.txt", "probe.json")
    findings = document["findings"]
    assert isinstance(findings, list)
    other = next(f for f in findings if f["id"] == "config.probe.presented_other_certificate")
    assert other["fields"]["ip"] == "203.0.113.12"
    assert other["fields"]["connector"] == "EX02\\Default Frontend EX02"
