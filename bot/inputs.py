"""Reading what `mailflow diagnose` is given: a file or stdin, streamed in chunks.

Memory stays bounded whatever the size: the text is decoded incrementally and handed on chunk by
chunk. Windows PowerShell 5.1 writes UTF-16LE with a BOM when output is redirected with `>`
(`Get-Queue | Format-List > queue.txt`), so a UTF-16 BOM selects that codec; anything else is
read as UTF-8 with undecodable bytes replaced.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_INPUT_BYTES = 200 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class InputError(ValueError):
    """The input cannot be diagnosed; the message is one line for the user."""


def _limit_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


class InputStream:
    """Decoded chunks of one input; `bytes_read` counts raw bytes consumed so far."""

    def __init__(self, source: BinaryIO, name: str, max_bytes: int, close: bool) -> None:
        self._source = source
        self._name = name
        self._max_bytes = max_bytes
        self._close = close
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._decoded()
        finally:
            if self._close:
                self._source.close()

    def _raw_chunks(self) -> Iterator[bytes]:
        while chunk := self._read():
            self.bytes_read += len(chunk)
            if self.bytes_read > self._max_bytes:
                raise InputError(f"{self._name} is larger than {_limit_text(self._max_bytes)}")
            yield chunk

    def _read(self) -> bytes:
        try:
            return self._source.read(CHUNK_BYTES)
        except OSError as exc:
            raise InputError(f"cannot read {self._name}: {exc.strerror or exc}") from None

    def _decoded(self) -> Iterator[str]:
        raw = self._raw_chunks()
        first = next(raw, b"")
        encoding, skip = "utf-8", 0
        for bom, name in _BOMS:
            if first.startswith(bom):
                encoding, skip = name, len(bom)
                break
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        yield decoder.decode(first[skip:])
        for chunk in raw:
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)


def open_input(path: str, max_bytes: int = MAX_INPUT_BYTES) -> InputStream:
    """Open a file path, or `-` for standard input. Raises InputError with a one-line reason."""
    if path == "-":
        return InputStream(sys.stdin.buffer, "standard input", max_bytes, close=False)
    file = Path(path)
    try:
        if file.is_dir():
            raise InputError(f"{path} is a directory, not a file")
        size = file.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path} is larger than {_limit_text(max_bytes)}")
        handle = file.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return InputStream(handle, path, max_bytes, close=True)
