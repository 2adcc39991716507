"""Scan ahead: while this process parses a big protocol log, a forked one finds its lines.

    with scan_ahead(item.open, size, jobs) as prime:  # prime is None when it is not worth it
        diagnosis = diagnose_bytes(chunks, knowledge=knowledge, prepare=prime)

Most of the time a 200 MB SmtpReceive log takes goes into finding the few lines the parser splits
(`SpanIndex`: five passes of C string search over every window). Those passes do not depend on
what the parser learnt, so a second process opens the same file, decodes it into the same
windows (decoding is deterministic) and searches them ahead of the parser, which then only
splits the lines. Each window is searched by whichever process gets to it first (`_Claims`):
the helper, ahead, sends its spans through a pipe; the parser, when it catches up, searches
the window itself, and the helper skips it. So the two share the work however fast each is.

A window's spans from the helper are used only when each of its segments has the length and the
CRC-32 of the parser's own text: after the first mismatch (the file changed in between) or when
the helper is gone, the parser searches every window itself, as it does without a helper, so
the result is the same either way.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import BinaryIO

from bot.core.diagnose.decode import WINDOW_CHARS, Document, documents
from bot.core.diagnose.readers.protocol_log import SPANS_KEY, ProtocolLogReader, SpanIndex
from bot.inputs import ByteInput
from bot.workers import can_fork

MIN_BYTES = 4 * WINDOW_CHARS  # below this a fork costs more than it saves
_WINDOW = struct.Struct("<II")  # window index, segment count (0: not a protocol log window)
_SEGMENT = struct.Struct("<QII")  # text length, fingerprint, number of spans


@contextlib.contextmanager
def scan_ahead(
    reopen: Callable[[], ByteInput], size: int | None, jobs: int
) -> Iterator[Callable[[Document], None] | None]:
    """A `prepare` callback for the pipeline that gives each window the spans a helper process
    found, for a regular file of at least MIN_BYTES when `jobs` allows a second process."""
    if jobs < 2 or size is None or size < MIN_BYTES or not can_fork():
        yield None
        return
    with contextlib.ExitStack() as stack:
        try:
            locks = stack.enter_context(tempfile.TemporaryFile())
            helper = _Helper.start(reopen, _Claims(locks.fileno()))
        except OSError:  # no scratch file, no process to spare: the parser does it all
            yield None
            return
        stack.callback(helper.stop)
        yield helper.prime


def fingerprint(text: str) -> int:
    """CRC-32 of the text (about 1 ms for a 4 MB window, a twentieth of the search it saves)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


class _Claims:
    """Which process searches window i: the first to lock byte i of a scratch file. POSIX record
    locks belong to a process (a fork does not inherit them, and they go with the process), and
    taking one is atomic, so each window has exactly one searcher and a dead helper holds none."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def take(self, window: int) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, window, os.SEEK_SET)
        except OSError as error:
            # Anything but "the other process has it" (no locks here): each searches it itself.
            return error.errno not in (errno.EACCES, errno.EAGAIN)
        return True


class _Helper:
    def __init__(self, pid: int, pipe: BinaryIO, claims: _Claims, lifeline: int) -> None:
        self.pid = pid
        self.pipe: BinaryIO | None = pipe
        self.claims = claims
        self.lifeline = lifeline  # the helper lives (and holds its claims) until this closes

    @classmethod
    def start(cls, reopen: Callable[[], ByteInput], claims: _Claims) -> _Helper:
        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
            with contextlib.suppress(ValueError, OSError):
                stream.flush()
        read_end, write_end = os.pipe()
        wait_end, live_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (read_end, write_end, wait_end, live_end):
                os.close(fd)
            raise
        if pid == 0:  # the helper: never returns
            os.close(read_end)
            os.close(live_end)
            _serve(reopen, claims, write_end, wait_end)
        os.close(write_end)
        os.close(wait_end)
        return cls(pid, os.fdopen(read_end, "rb", buffering=0), claims, live_end)

    def prime(self, document: Document) -> None:
        """Give `document` the spans the helper sent for it, unless this process got to the
        window first (the reader then searches it) or the spans are not the window's own."""
        if self.pipe is None or self.claims.take(document.index):
            return
        if not select.select([self.pipe], [], [], 0)[0]:
            # The helper is still searching this window: this process searches the next one
            # meanwhile (the helper skips it), so that neither waits for the other for long.
            self.claims.take(document.index + 1)
        indexes = self._receive(document)
        if indexes is None:
            self.stop()
        elif indexes:
            document.cached(SPANS_KEY, indexes)

    def _receive(self, document: Document) -> list[SpanIndex] | None:
        """The helper's spans for `document` ([] when it found it no protocol log window);
        None when the helper is gone or sent another text's."""
        assert self.pipe is not None
        header = self._read(_WINDOW.size)
        if len(header) < _WINDOW.size:
            return None
        index, count = _WINDOW.unpack(header)
        if index != document.index or count not in (0, len(document.segments)):
            return None
        indexes: list[SpanIndex] = []
        for segment in document.segments[:count]:
            spans = self._segment(segment.text)
            if spans is None:
                return None
            indexes.append(SpanIndex(segment.text, spans))
        return indexes

    def _segment(self, text: str) -> list[tuple[int, int]] | None:
        assert self.pipe is not None
        header = self._read(_SEGMENT.size)
        if len(header) < _SEGMENT.size:
            return None
        length, print_, count = _SEGMENT.unpack(header)
        flat = array("q")
        payload = self._read(count * 2 * flat.itemsize)
        if len(payload) != count * 2 * flat.itemsize or length != len(text):
            return None
        if print_ != fingerprint(text):
            return None
        flat.frombytes(payload)
        return list(zip(flat[0::2], flat[1::2], strict=True))

    def _read(self, size: int) -> bytes:
        """`size` bytes from the helper, fewer only when it is gone (the pipe is unbuffered, so
        that select sees whether anything has come)."""
        assert self.pipe is not None
        parts: list[bytes] = []
        while size > 0:
            part = self.pipe.read(size)
            if not part:
                break
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def stop(self) -> None:
        if self.pipe is None:
            return
        self.pipe.close()
        self.pipe = None
        os.close(self.lifeline)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)  # done already, or the parser stopped early
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve(reopen: Callable[[], ByteInput], claims: _Claims, fd: int, lifeline: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        with os.fdopen(fd, "wb") as pipe:
            for document in documents(reopen()):
                if document.is_message:
                    break  # an e-mail, not a log
                if claims.take(document.index):  # else the parser searches it
                    pipe.write(_window(document))
                    pipe.flush()
        os.read(lifeline, 1)  # its claims go with it: wait until the parser is done
    except BaseException:  # the parent finds the spans itself from where this stopped
        code = 1
    os._exit(code)  # no atexit handlers, no flushing of the parent's inherited buffers


def _window(document: Document) -> bytes:
    if ProtocolLogReader().detect(document) <= 0:
        return _WINDOW.pack(document.index, 0)
    parts = [_WINDOW.pack(document.index, len(document.segments))]
    for segment in document.segments:
        spans = SpanIndex(segment.text).spans
        flat = array("q", [offset for span in spans for offset in span])
        parts.append(_SEGMENT.pack(len(segment.text), fingerprint(segment.text), len(spans)))
        parts.append(flat.tobytes())
    return b"".join(parts)
