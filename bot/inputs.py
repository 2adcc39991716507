"""Reading what `mailflow diagnose` is given (I/O lives here, not in bot.core).

    data = open_input("RECV2026112008-1.LOG")   # raises InputError with a one-line message
    for block in data: ...                       # raw bytes; may raise InputError (stdin too big)
    data.bytes                                   # bytes read: the size for input.bytes

    for item in input_items(["bounces/", "mail.mbox", "-"]):   # batch mode
        item.path, item.open()                   # one message of an mbox is one item

Decoding (byte-order marks, UTF-8/UTF-16, MIME) is the diagnosis core's job
(bot.core.diagnose.decode); this module only reads bytes, bounded. A gzip stream (a TLS-RPT
report's `.json.gz`, a compressed log) is decompressed on the way, its decompressed size bounded
by the same limit.
"""

from __future__ import annotations

import io
import stat
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_INPUT_BYTES = 200 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
# Files batch mode reads from a directory (".msg" only as text: an Outlook .msg saved as text).
BATCH_SUFFIXES = frozenset({".eml", ".txt", ".log", ".csv", ".json", ".msg", ".mbox", ".gz"})
MAX_BATCH_FILES = 100_000


class InputError(ValueError):
    """The input cannot be read (missing, a directory, unreadable, too large); one line."""


class ByteInput:
    """An iterable of raw byte blocks; `bytes` counts the bytes read so far and is the input's
    size once iteration has ended. Iterate once."""

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

    def __iter__(self) -> Iterator[bytes]:
        blocks = self._raw()
        first = next(blocks, b"")
        if first.startswith(_GZIP_MAGIC):
            yield from self._gunzip(first, blocks)
            return
        if first:
            self._count(len(first))
            yield first
        for block in blocks:
            self._count(len(block))
            yield block

    def _raw(self) -> Iterator[bytes]:
        try:
            while True:
                try:
                    block = self._stream.read(self._chunk_size)
                except OSError as error:
                    raise InputError(
                        f"{self.name}: cannot read: {error.strerror or error}"
                    ) from None
                if not block:
                    return
                yield block
        finally:
            if self._close:
                self._stream.close()

    def _count(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self._max_bytes:
            limit = _megabytes(self._max_bytes)
            raise InputError(f"{self.name}: input is larger than {limit}")

    def _gunzip(self, first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
        """Decompressed blocks, never more than one chunk of output at a time. Data that only
        looks like gzip is read as it is; a stream that breaks off keeps what it decompressed."""
        inflater = zlib.decompressobj(wbits=31)
        raw: list[bytes] = []  # compressed input while nothing was decompressed yet
        produced = False
        for block in _chain(first, rest):
            if not produced:
                raw.append(block)
            data = block
            while data:
                try:
                    out = inflater.decompress(data, self._chunk_size)
                except zlib.error:
                    if not produced:  # not gzip after all: the bytes as they came
                        for item in _chain(b"".join(raw), rest):
                            self._count(len(item))
                            yield item
                    return
                data = inflater.unconsumed_tail
                if out:
                    produced = True
                    raw.clear()
                    self._count(len(out))
                    yield out
                if inflater.eof:
                    return  # bytes after the gzip member are ignored
        if not produced and raw:
            for item in raw:
                self._count(len(item))
                yield item


_GZIP_MAGIC = b"\x1f\x8b"


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def open_input(
    path_or_dash: str,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    chunk_size: int = CHUNK_SIZE,
    stdin: BinaryIO | None = None,
) -> ByteInput:
    """Open a file (or stdin for `-`) for streaming. Raises InputError for a missing path, a
    directory, an unreadable or oversized file; oversized stdin is detected while reading."""
    if path_or_dash == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return ByteInput("stdin", stream, max_bytes=max_bytes, chunk_size=chunk_size, close=False)
    path = Path(path_or_dash)
    name = printable(path_or_dash)
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
    return ByteInput(name, stream, max_bytes=max_bytes, chunk_size=chunk_size, size=size)


@dataclass(frozen=True, slots=True)
class InputItem:
    """One input of a batch: a file, stdin, or one message of an mbox file."""

    path: str  # as shown in messages and in `input.path`
    open: Callable[[], ByteInput]


def input_items(
    paths: Sequence[str], *, max_bytes: int = MAX_INPUT_BYTES, stdin: BinaryIO | None = None
) -> Iterator[InputItem | InputError]:
    """The inputs of `paths`: files as given, directories walked (recursively, the files with
    the suffixes batch mode reads), mbox files split into their messages. A path that cannot be
    read is an InputError in the stream, so that the others go on."""
    count = 0
    for raw in paths:
        if raw == "-":
            yield InputItem("-", lambda: open_input("-", max_bytes=max_bytes, stdin=stdin))
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path):
                count += 1
                if count > MAX_BATCH_FILES:
                    yield InputError(f"{printable(raw)}: more than {MAX_BATCH_FILES} files")
                    return
                yield from _file_items(str(file), max_bytes)
        elif path.exists() or raw:
            yield from _file_items(raw, max_bytes)


def _walk(directory: Path) -> Iterator[Path]:
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue  # never leave the tree the user named
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.suffix.lower() in BATCH_SUFFIXES and entry.is_file():
            yield entry


def _file_items(path: str, max_bytes: int) -> Iterator[InputItem | InputError]:
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(5)
    except FileNotFoundError:
        yield InputError(f"{printable(path)}: no such file")
        return
    except IsADirectoryError:
        yield InputError(f"{printable(path)}: is a directory, not a file")
        return
    except OSError as error:
        yield InputError(f"{printable(path)}: cannot read: {error.strerror or error}")
        return
    if head != b"From ":
        yield InputItem(path, lambda: open_input(path, max_bytes=max_bytes))
        return
    try:
        messages = list(_mbox_offsets(path))
    except OSError as error:
        yield InputError(f"{printable(path)}: cannot read: {error.strerror or error}")
        return
    if len(messages) <= 1:
        yield InputItem(path, lambda: open_input(path, max_bytes=max_bytes))
        return
    for number, (start, end) in enumerate(messages, 1):
        yield InputItem(
            f"{path}#{number}",
            lambda start=start, end=end: _slice(path, start, end, max_bytes),  # type: ignore[misc]
        )


def _mbox_offsets(path: str) -> Iterator[tuple[int, int]]:
    """(start, end) byte offsets of each message of an mbox file (mboxrd/mboxo: a message
    starts at a line "From " at the top or after an empty line)."""
    start = 0
    position = 0
    previous_blank = True
    with Path(path).open("rb") as handle:
        for line in handle:
            if line.startswith(b"From ") and previous_blank and position > start:
                yield start, position
                start = position
            previous_blank = line in (b"\n", b"\r\n")
            position += len(line)
    if position > start:
        yield start, position


def _slice(path: str, start: int, end: int, max_bytes: int) -> ByteInput:
    if end - start > max_bytes:
        raise InputError(f"{printable(path)}: a message is larger than {_megabytes(max_bytes)}")
    with Path(path).open("rb") as handle:
        handle.seek(start)
        first_line = handle.readline()  # the mbox "From " separator is not part of the message
        data = handle.read(max(0, end - start - len(first_line)))
    return ByteInput(path, io.BytesIO(data), max_bytes=max_bytes, size=len(data))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def printable(name: str) -> str:
    """A path as it may appear in a one-line error (no control characters)."""
    cleaned = "".join(char if char.isprintable() else "?" for char in name)
    return cleaned if len(cleaned) <= 200 else cleaned[:199] + "…"


__all__ = [
    "CHUNK_SIZE",
    "MAX_INPUT_BYTES",
    "ByteInput",
    "InputError",
    "InputItem",
    "input_items",
    "open_input",
    "printable",
]
