from pathlib import Path

from bot.diagnosis import diagnose_input, diagnose_text

QUEUE_ERROR = (
    "LastError : 454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector "
    "could not be found.\r\n"
)


def test_diagnose_input_reports_kind_and_raw_byte_count(tmp_path: Path) -> None:
    path = tmp_path / "queue.txt"
    path.write_bytes(QUEUE_ERROR.encode())
    diagnosis = diagnose_input(str(path))
    assert diagnosis.input.bytes == len(QUEUE_ERROR.encode())
    assert diagnosis.input.kind == "queue"
    assert diagnosis.findings and diagnosis.findings[0].status == "4.7.5"


def test_utf16_queue_output_saved_by_windows_powershell_is_diagnosed(tmp_path: Path) -> None:
    path = tmp_path / "queue.txt"
    path.write_bytes(b"\xff\xfe" + QUEUE_ERROR.encode("utf-16-le"))
    diagnosis = diagnose_input(str(path))
    assert diagnosis.input.bytes == path.stat().st_size
    assert [f.status for f in diagnosis.findings][:1] == ["4.7.5"]


def test_diagnose_text_counts_utf8_bytes() -> None:
    assert diagnose_text("é").input.bytes == 2
