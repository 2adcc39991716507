"""Reading what `mailflow diagnose` is given: a file or `-` for stdin, streamed in chunks of
decoded text (I/O lives here, not in bot.core).

    text = open_input("RECV2026112008-1.LOG")     # raises InputError with a one-line message
    for event in scan(text): ...                   # may raise InputError while streaming (stdin)
    text.bytes                                     # bytes read: the size for input.bytes

Bytes are decoded as UTF-8 (invalid sequences replaced), or as UTF-16 when the input starts
with a UTF-16 byte-order mark (Windows PowerShell 5.1 writes `> file.txt` that way).
"""

from __future__ import annotations

import codecs
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MAX_INPUT_BYTES = 200 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024


class InputError(ValueError):
    """The input cannot be read (missing, a directory, unreadable, too large); one line."""


class TextInput:
    """An iterable of decoded text chunks; `bytes` counts the bytes read so far and is the
    input's size once iteration has ended. Iterate once."""

    def __init__(
        self,
        name: str,
        stream: BinaryIO,
        *,
        max_bytes: int,
        chunk_size: int = CHUNK_SIZE,
        size: int | None = None,
        close: bool = True,
    ) -> None:
        self.name = name
        self.size = size  # known in advance for regular files
        self.bytes = 0
        self._stream = stream
        self._max_bytes = max_bytes
        self._chunk_size = chunk_size
        self._close = close

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._decoded()
        finally:
            if self._close:
                self._stream.close()

    def _raw(self) -> Iterator[bytes]:
        while True:
            try:
                block = self._stream.read(self._chunk_size)
            except OSError as error:
                raise InputError(f"{self.name}: cannot read: {error.strerror or error}") from None
            if not block:
                return
            self.bytes += len(block)
            if self.bytes > self._max_bytes:
                raise InputError(f"{self.name}: input is larger than {_megabytes(self._max_bytes)}")
            yield block

    def _decoded(self) -> Iterator[str]:
        blocks = self._raw()
        first = next(blocks, b"")
        encoding = "utf-8"
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8) :]
        elif first.startswith(codecs.BOM_UTF16_LE):
            encoding, first = "utf-16-le", first[2:]
        elif first.startswith(codecs.BOM_UTF16_BE):
            encoding, first = "utf-16-be", first[2:]
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        text = decoder.decode(first)
        if text:
            yield text
        for block in blocks:
            text = decoder.decode(block)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


def open_input(
    path_or_dash: str,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    chunk_size: int = CHUNK_SIZE,
    stdin: BinaryIO | None = None,
) -> TextInput:
    """Open a file (or stdin for `-`) for streaming. Raises InputError for a missing path, a
    directory, an unreadable or oversized file; oversized stdin is detected while reading."""
    if path_or_dash == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return TextInput("stdin", stream, max_bytes=max_bytes, chunk_size=chunk_size, close=False)
    path = Path(path_or_dash)
    name = _printable(path_or_dash)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a directory, not a file")
    if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
        raise InputError(f"{name}: file is larger than {_megabytes(max_bytes)}")
    try:
        stream = path.open("rb")
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
    size = info.st_size if stat.S_ISREG(info.st_mode) else None
    return TextInput(name, stream, max_bytes=max_bytes, chunk_size=chunk_size, size=size)


def read_chunks(
    path_or_dash: str, max_bytes: int = MAX_INPUT_BYTES
) -> tuple[TextInput, Iterator[str]]:
    """`open_input` for callers that want the chunks as an iterator; the TextInput reports the
    byte count (`.bytes`) once the iterator is exhausted."""
    text = open_input(path_or_dash, max_bytes=max_bytes)
    return text, iter(text)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _printable(name: str) -> str:
    """A path as it may appear in a one-line error (no control characters)."""
    cleaned = "".join(char if char.isprintable() else "?" for char in name)
    return cleaned if len(cleaned) <= 200 else cleaned[:199] + "…"


__all__ = ["CHUNK_SIZE", "MAX_INPUT_BYTES", "InputError", "TextInput", "open_input", "read_chunks"]
