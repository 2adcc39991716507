"""bot.scan_ahead: a forked helper finds a big protocol log's lines; the result never changes."""

from __future__ import annotations

import errno
import fcntl
import io
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import scan_ahead
from bot.core.diagnose import decode
from bot.core.diagnose.decode import Document, documents
from bot.core.diagnose.readers.protocol_log import SPANS_KEY, SpanIndex
from bot.diagnosis import diagnose_input
from bot.inputs import ByteInput, open_input
from bot.render.jsonout import diagnosis_to_json

_HEADER = (
    "#Software: Microsoft Exchange Server\r\n#Version: 15.2.1544.4\r\n"
    "#Log-type: SMTP {kind} Protocol Log\r\n#Date: 2026-11-20T00:00:00.000Z\r\n"
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
    "remote-endpoint,event,data,context\r\n"
)
_SELF_SIGNED = (
    '" CN=SERVER1 CN=SERVER1 5A3F6E1D2C9B8A7F4E3D2C1B0A998877'
    " 3B7D9E2A4C6F8B1D3E5A7C9F0B2D4E6A8C1F3B5D"
    ' 2022-03-14T09:12:44.000Z 2027-03-14T09:12:44.000Z SERVER1;SERVER1.corp.contoso.com"'
)


def _session(rng: random.Random, number: int, kind: str) -> str:
    session = f"08DC{number:012X}"
    stamp = f"2026-11-20T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.123Z"
    lines = [(">", '"220 mail.contoso.com Microsoft ESMTP MAIL Service ready"', "")]
    if kind == "Send":
        lines.append(("<", "250  mail.fabrikam.example Hello STARTTLS SIZE", ""))
    pick = rng.random()
    client = "NAM12-BN8-obe.outbound.protection.outlook.com" if pick < 0.3 else "relay.example"
    lines.append(("<", f"EHLO {client}", ""))
    if pick < 0.3:
        context = (
            "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after"
            " Subject alternate names"
        )
        lines.append(("*", _SELF_SIGNED, context))
    elif pick < 0.4:
        lines.append(("*", "", "TLS negotiation failed with error UnknownCredentials"))
    elif pick < 0.5:
        lines.append((">", "451 4.7.0 Temporary server error. Please try again later", ""))
    lines.append(("-", "", "Local"))
    return "".join(
        f"{stamp},SERVER1\\Default Frontend SERVER1,{session},{sequence},10.0.0.5:25,"
        f"40.107.1.{number % 250}:1234,{event},{data},{context}\r\n"
        for sequence, (event, data, context) in enumerate(lines)
    )


def _log(size: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    parts: list[str] = []
    length = number = 0
    while length < size:
        kind = "Send" if (length // 100_000) % 2 else "Receive"
        piece = _HEADER.format(kind=kind) if number % 500 == 0 else ""
        piece += _session(rng, number, kind)
        if number % 777 == 0:
            piece += "a line someone pasted in between\r\n"
        parts.append(piece)
        length += len(piece)
        number += 1
    return "".join(parts).encode()


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "WINDOW_CHARS", 64 * 1024)
    monkeypatch.setattr(scan_ahead, "MIN_BYTES", 0)


def _opener(*contents: bytes) -> Callable[[], ByteInput]:
    """Opens the first content, then the next at each call (the last one stays)."""
    calls = [0]

    def reopen() -> ByteInput:
        data = contents[min(calls[0], len(contents) - 1)]
        calls[0] += 1
        return ByteInput("log", io.BytesIO(data), max_bytes=len(data) + 1, size=len(data))

    return reopen


def _primed(
    reopen: Callable[[], ByteInput], pause: float = 0.05
) -> tuple[list[Document], list[bool]]:
    """The parser's documents of the first content, and which of them the helper primed; the
    parser waits `pause` seconds per window, as if it parsed, so that the helper is ahead."""
    source = reopen()  # as bot.diagnosis does: the parser's input is opened first
    with scan_ahead.scan_ahead(reopen, 1, jobs=2) as prime:
        assert prime is not None
        docs = []
        for document in documents(source):
            time.sleep(pause)
            prime(document)
            docs.append(document)
    return docs, [document.cached(SPANS_KEY, None) is not None for document in docs]


@pytest.mark.usefixtures("small_windows")
def test_every_window_gets_the_spans_the_parser_would_find() -> None:
    data = _log(600_000)
    docs, primed = _primed(_opener(data, data))
    assert len(docs) > 5
    assert all(primed)
    for document in docs:
        given = document.cached(SPANS_KEY, None)
        assert isinstance(given, list)
        assert [index.spans for index in given] == [
            SpanIndex(segment.text).spans for segment in document.segments
        ]
        for index in given:  # the lines of received multi-line replies, asked for later
            assert index.between(0, 10**9, replies=True) is not None


class _SlowStream(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        time.sleep(0.01)
        return super().read(size)


@pytest.mark.usefixtures("small_windows")
def test_a_parser_ahead_of_its_helper_searches_the_windows_itself() -> None:
    data = _log(600_000)
    calls = [0]

    def reopen() -> ByteInput:  # the parser's input is quick, the helper's reads are slow
        calls[0] += 1
        stream = io.BytesIO(data) if calls[0] == 1 else _SlowStream(data)
        return ByteInput("log", stream, max_bytes=len(data) + 1, size=len(data), chunk_size=4096)

    docs, primed = _primed(reopen, pause=0)
    assert len(docs) > 5
    assert primed.count(True) < len(docs) // 2  # the parser took the windows the helper had not


def test_each_window_is_claimed_by_one_process_only() -> None:
    with tempfile.TemporaryFile() as scratch:
        claims = scan_ahead._Claims(scratch.fileno())
        assert claims.take(3)
        assert claims.take(3)  # a process keeps what it took
        pid = os.fork()
        if pid == 0:
            os._exit(0 if not claims.take(3) and claims.take(4) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert claims.take(4)  # the child's claim went with it


@pytest.mark.usefixtures("small_windows")
def test_a_file_that_changed_in_between_is_not_trusted() -> None:
    data = _log(600_000)
    changed = data.replace(b"UnknownCredentials", b"UnknownCredentialZ", 1)
    docs, primed = _primed(_opener(data, changed))
    first_changed = next(
        i for i, d in enumerate(docs) if "UnknownCredentials" in d.segments[0].text
    )
    assert primed[:first_changed] == [True] * first_changed
    assert not any(primed[first_changed:])


@pytest.mark.usefixtures("small_windows")
def test_a_helper_that_cannot_open_the_input_primes_nothing() -> None:
    data = _log(200_000)
    calls = [0]

    def reopen() -> ByteInput:
        calls[0] += 1
        if calls[0] > 1:
            raise OSError("gone")
        return ByteInput("log", io.BytesIO(data), max_bytes=len(data) + 1, size=len(data))

    docs, primed = _primed(reopen)
    assert docs and not any(primed)


@pytest.mark.usefixtures("small_windows")
def test_an_email_is_not_scanned() -> None:
    message = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n" * 3
    docs, primed = _primed(_opener(message))
    assert len(docs) == 1 and not any(primed)


@pytest.mark.usefixtures("small_windows")
def test_the_diagnosis_is_the_same_with_and_without_the_helper(tmp_path: Path) -> None:
    path = tmp_path / "SMTPRECV2026112001-1.LOG"
    path.write_bytes(_log(900_000, seed=9))
    alone = diagnosis_to_json(diagnose_input(str(path), jobs=1))
    helped = diagnosis_to_json(diagnose_input(str(path), jobs=2))
    assert alone == helped
    assert {finding["id"] for finding in alone["findings"]} >= {
        "protocol.cert.self_signed",
        "tls.negotiation_failed",
    }


def test_small_files_stdin_and_one_job_use_no_helper(tmp_path: Path) -> None:
    reopen = _opener(b"x")
    for size, jobs in ((scan_ahead.MIN_BYTES - 1, 2), (None, 2), (scan_ahead.MIN_BYTES, 1)):
        with scan_ahead.scan_ahead(reopen, size, jobs) as prime:
            assert prime is None
    with scan_ahead.scan_ahead(reopen, scan_ahead.MIN_BYTES, 2) as prime:
        assert prime is not None
    path = tmp_path / "a.log"
    path.write_bytes(b"12345")
    assert open_input(str(path)).size == 5  # a regular file's size is known: it may be helped
    assert open_input("-", stdin=io.BytesIO(b"12345")).size is None


@pytest.mark.parametrize("broken", ["tempfile", "fork"])
def test_no_scratch_file_or_no_process_means_no_helper(
    broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise OSError(errno.EAGAIN, "refused")

    target = (tempfile, "TemporaryFile") if broken == "tempfile" else (os, "fork")
    monkeypatch.setattr(*target, refuse)
    opened = len(os.listdir("/proc/self/fd"))
    with scan_ahead.scan_ahead(_opener(b"x"), scan_ahead.MIN_BYTES, 2) as prime:
        assert prime is None
    assert len(os.listdir("/proc/self/fd")) == opened  # no pipe left open


@pytest.mark.usefixtures("small_windows")
def test_without_record_locks_the_parser_searches_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_locks(*_: object) -> None:
        raise OSError(errno.ENOLCK, "no locks available")

    monkeypatch.setattr(fcntl, "lockf", no_locks)
    data = _log(300_000)
    docs, primed = _primed(_opener(data, data), pause=0.01)
    assert len(docs) > 2 and not any(primed)  # and it did not wait for the helper forever
