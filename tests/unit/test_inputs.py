import gzip
import io
from pathlib import Path

import pytest

from bot.diagnosis import diagnose_input, diagnose_text
from bot.inputs import ByteInput, InputError

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


def test_gzip_input_is_decompressed_and_bounded_by_its_decompressed_size() -> None:
    data = ByteInput("r.json.gz", io.BytesIO(gzip.compress(b'{"policies": []}')), max_bytes=100)
    assert b"".join(data) == b'{"policies": []}' and data.bytes == 16
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))  # 5 MB from a few KB
    with pytest.raises(InputError, match="larger than"):
        b"".join(ByteInput("bomb.gz", io.BytesIO(bomb), max_bytes=1024 * 1024, chunk_size=65536))
    payload = bytes(range(256)) * 400
    cut = b"".join(
        ByteInput("cut.gz", io.BytesIO(gzip.compress(payload)[:-300]), max_bytes=1 << 20)
    )
    assert payload.startswith(cut) and cut  # what was decompressed is kept
    fake = b"\x1f\x8b not gzip at all"
    assert b"".join(ByteInput("x.txt", io.BytesIO(fake), max_bytes=1 << 20)) == fake
