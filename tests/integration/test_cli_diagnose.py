"""`mailflow diagnose` as users run it: a real subprocess reading files and stdin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_run import REPO, mailflow

TRACE = (
    "Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch] "
    "[LastAttemptedServerName=mail.contoso.com] [LastAttemptedIP=203.0.113.5:25]};"
    "{MSG=SubjectMismatch};{FQDN=mail.contoso.com};{IP=203.0.113.5}]"
)


def test_json_contract_from_stdin() -> None:
    result = mailflow("diagnose", "-", "--json", stdin=TRACE.encode())
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["input"] == {"kind": "message_trace", "bytes": len(TRACE)}
    first = doc["findings"][0]
    assert (first["status"], first["reply_code"], first["reason"]) == (
        "4.7.320",
        "450",
        "failedstarttls",
    )
    assert first["fields"]["fqdn"] == "mail.contoso.com"
    assert first["probe"] == "mail.contoso.com"
    severities = [f["severity"] for f in doc["findings"]]
    order = {"error": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)


def test_ordinary_chat_is_not_a_false_alarm() -> None:
    result = mailflow(
        "diagnose", "-", stdin=b"Can we meet at 5.1.1 pm? Python 3.11.2 is out <!channel>"
    )
    assert result.returncode == 0
    assert "Nothing recognised" in result.stdout


def test_every_bundled_example_is_diagnosed() -> None:
    examples = sorted((REPO / "examples").glob("*"))
    assert examples, "examples/ must hold sample incidents for the offline demo"
    for example in examples:
        result = mailflow("diagnose", str(example), "--json")
        assert result.returncode == 0, (example, result.stderr)
        assert json.loads(result.stdout)["findings"], example


def test_unreadable_input_is_a_one_line_error_exit_2(tmp_path: Path) -> None:
    result = mailflow("diagnose", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_file_over_200_mb_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024 + 1)  # sparse: costs no disk space
    result = mailflow("diagnose", str(huge), "--json")
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "larger than 200 MB" in result.stderr


def test_crlf_ehlo_reply_from_stdin_names_smtp_inspection() -> None:
    reply = (
        "220 ****************************************\r\n"
        "EHLO test.fabrikam.com\r\n"
        "250-mail.contoso.com Hello [203.0.113.9]\r\n"
        "250-SIZE 37748736\r\n"
        "250-PIPELINING\r\n"
        "250-XXXXXXXA\r\n"
        "250 XXXXXXXB\r\n"
    )
    result = mailflow("diagnose", "-", "--json", stdin=reply.encode())
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [finding] = report["findings"]
    assert finding["id"] == "exo.tls.starttls_stripped"
    assert finding["fields"]["remote_host"] == "mail.contoso.com"
    assert finding["probe"] == "mail.contoso.com"
