from pathlib import Path

import pytest

from bot.diagnosis import diagnose_input, diagnose_text
from bot.inputs import InputError, open_input

QUEUE_ERROR = (
    "LastError : 454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector "
    "could not be found.\r\n"
)


def test_utf16_file_from_windows_powershell_redirection_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "queue.txt"
    path.write_bytes(b"\xff\xfe" + QUEUE_ERROR.encode("utf-16-le"))
    stream = open_input(str(path))
    assert "".join(stream) == QUEUE_ERROR
    assert stream.bytes_read == path.stat().st_size


def test_utf8_bom_and_invalid_bytes_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"\xef\xbb\xbfok \xff\xfe done")
    assert "".join(open_input(str(path))) == "ok \ufffd\ufffd done"


def test_multibyte_characters_split_across_chunks_survive(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    text = "Zürich " * 400_000  # > 1 chunk, 'ü' lands on chunk borders
    path.write_text(text, encoding="utf-8")
    assert "".join(open_input(str(path))) == text


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(InputError, match="larger than"):
        open_input(str(path), max_bytes=1024)


def test_missing_file_and_directory_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        open_input(str(tmp_path / "missing.txt"))
    with pytest.raises(InputError, match="directory"):
        open_input(str(tmp_path))


def test_diagnose_input_reports_kind_and_raw_byte_count(tmp_path: Path) -> None:
    path = tmp_path / "queue.txt"
    path.write_bytes(QUEUE_ERROR.encode())
    diagnosis = diagnose_input(str(path))
    assert diagnosis.input.bytes == len(QUEUE_ERROR.encode())
    assert diagnosis.input.kind == "queue"
    assert diagnosis.findings and diagnosis.findings[0].status == "4.7.5"


def test_diagnose_text_counts_utf8_bytes() -> None:
    assert diagnose_text("é").input.bytes == 2
