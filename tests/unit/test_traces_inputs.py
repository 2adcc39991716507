"""Reading files and stdin for `mailflow diagnose` (bot.inputs)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.core.traces import InputKind, scan
from bot.inputs import InputError, open_input, read_chunks
from tests.unit.traces_helpers import EXAMPLES


def test_file_is_streamed_and_counted(tmp_path: Path) -> None:
    text = "Zustellung fehlgeschlagen für jürgen@contoso.com: 550 5.1.1 unknown (smtp) ✓\r\n" * 50
    path = tmp_path / "paste.txt"
    path.write_bytes(text.encode())
    source = open_input(str(path), chunk_size=7)  # splits multi-byte characters
    chunks = list(source)
    assert len(chunks) > 100
    assert "".join(chunks) == text
    assert source.bytes == source.size == len(text.encode())


def test_utf16_with_bom_from_windows_powershell(tmp_path: Path) -> None:
    path = tmp_path / "queue.txt"
    original = (EXAMPLES / "queue-tlscertificatename-not-found.txt").read_text()
    path.write_bytes(b"\xff\xfe" + original.encode("utf-16-le"))
    source = open_input(str(path), chunk_size=5)
    result = scan(source)
    events = list(result)
    assert result.kind is InputKind.QUEUE
    assert events[0].status == "4.7.5"


def test_utf8_bom_and_invalid_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"\xef\xbb\xbfa\xffb\n")
    assert "".join(open_input(str(path))) == "a\ufffdb\n"


def test_stdin_and_read_chunks() -> None:
    stream = io.BytesIO(b"450 4.4.316 Connection refused\n")
    source = open_input("-", stdin=stream)
    [event] = list(scan(source))
    assert event.status == "4.4.316"
    assert source.bytes == 31
    assert source.size is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b"x" * 2048), p)[1], "larger than"),
    ],
    ids=["missing", "directory", "oversized"],
)
def test_unusable_files_give_one_line_errors(tmp_path: Path, setup: object, message: str) -> None:
    path = setup(tmp_path / "input")  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as caught:
        open_input(str(path), max_bytes=1024)
    assert "\n" not in str(caught.value)


def test_oversized_stdin_is_detected_while_streaming() -> None:
    stream = io.BytesIO(b"y" * 5000)
    source = open_input("-", stdin=stream, max_bytes=4096, chunk_size=1024)
    with pytest.raises(InputError, match="larger than"):
        list(source)
    assert source.bytes <= 4096 + 1024


def test_control_characters_in_the_name_are_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_chunks(str(tmp_path / "a\nb\x1b[31m"))
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)
