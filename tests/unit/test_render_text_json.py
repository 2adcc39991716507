import json

from bot.core.models import Diagnosis, Finding, Fix, InputInfo, Severity
from bot.render.jsonout import diagnosis_to_json, dumps
from bot.render.text import printable, render_diagnosis


def _finding(**kw: object) -> Finding:
    base: dict[str, object] = {
        "id": "exo.tls.subject_mismatch",
        "severity": Severity.ERROR,
        "summary": "Certificate name mismatch",
        "status": "4.7.320",
        "reply_code": "450",
        "reason": "failedstarttls",
        "fields": {"fqdn": "mail.contoso.com", "sans": ("a", "b")},
        "fixes": (Fix("Bind the right certificate", "Get-X -Thumbprint 'AB'"),),
        "probe": "mail.contoso.com",
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_diagnose_json_contract_keys() -> None:
    doc = diagnosis_to_json(Diagnosis(InputInfo("message_trace", 12), (_finding(),)))
    assert doc["input"] == {"kind": "message_trace", "bytes": 12}
    (f,) = doc["findings"]
    assert set(f) == {
        "id", "severity", "status", "reply_code", "reason", "summary", "explanation",
        "fields", "fixes", "probe", "evidence",
    }  # fmt: skip
    assert f["fields"]["sans"] == ["a", "b"]
    assert f["fixes"] == [
        {
            "title": "Bind the right certificate",
            "powershell": "Get-X -Thumbprint 'AB'",
            "stage": "fix",
        }
    ]
    assert json.loads(dumps(doc)) == doc


def test_text_report_escapes_terminal_control_sequences() -> None:
    evil = _finding(summary="\x1b[2J\x1b]0;pwned\x07 subject")
    out = render_diagnosis(Diagnosis(InputInfo("text", 5), (evil,)))
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out


def test_text_report_nothing_recognised() -> None:
    out = render_diagnosis(Diagnosis(InputInfo("text", 3), ()))
    assert "Nothing recognised" in out


def test_printable_keeps_unicode_letters() -> None:
    assert printable("Zürich – 東京") == "Zürich – 東京"


def test_repeated_fix_script_is_printed_once() -> None:
    first = _finding(id="cert.self_signed")
    second = _finding(id="cert.subject_mismatch")
    out = render_diagnosis(Diagnosis(InputInfo("text", 5), (first, second)))
    assert out.count("Get-X -Thumbprint 'AB'") == 1
    assert "same script as shown above" in out


def test_shell_steps_their_stage_and_how_to_fill_placeholders_are_printed() -> None:
    fixes = (
        Fix("Look at the queue", "Get-Queue", stage="verify"),
        Fix(
            "Flush it",
            shell="postqueue -f",
            missing=(("'<recipient address>'", "the To line of the NDR"),),
        ),
    )
    finding = Finding("x.y", Severity.ERROR, "s", "e", fixes=fixes)
    text = render_diagnosis(Diagnosis(InputInfo("text", 1), (finding,)))
    assert "Fix 1 (verify): Look at the queue" in text
    assert "Fix 2: Flush it" in text and "        postqueue -f" in text
    assert "Replace '<recipient address>': the To line of the NDR" in text
