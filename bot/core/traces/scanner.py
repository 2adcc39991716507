"""`scan(chunks)`: the one entry point that turns pasted or uploaded text into MailEvents.

The input is streamed line by line (see `lines.split_lines`); every parser keeps bounded state;
repeated observations are merged (see `sink.EventSink`). Events come out once the input is
consumed; afterwards `Scan.kind` tells what the input was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.core.models import FieldValue
from bot.core.traces.dsn import MAX_EML, DsnParser, looks_like_message, message_lines
from bot.core.traces.events import InputKind, MailEvent
from bot.core.traces.lines import split_lines, strip_decoration, unslack
from bot.core.traces.message_trace import MessageTraceParser
from bot.core.traces.mta_log import MtaLogParser
from bot.core.traces.ndr import BounceParser
from bot.core.traces.protocol_log import ProtocolLogParser
from bot.core.traces.queue import PowerShellOutput, QueueParser
from bot.core.traces.sink import EventSink
from bot.core.traces.text import FreeTextParser


class Scan(Iterator[MailEvent]):
    """Iterator of the events found in `chunks`; `kind` and the counters are final once the
    iterator is exhausted."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._events: Iterator[MailEvent] | None = None
        self.kind: InputKind = InputKind.EMPTY
        self.kinds: frozenset[InputKind] = frozenset()
        self.chars = 0  # characters read
        self.lines = 0  # lines read
        self.events = 0  # events produced
        self.dropped = 0  # distinct observations beyond the caps (not reported)
        self._was_message = False

    def __iter__(self) -> Scan:
        return self

    def __next__(self) -> MailEvent:
        if self._events is None:
            self._events = iter(self._run())
        return next(self._events)

    def _counted(self) -> Iterator[str]:
        for chunk in self._chunks:
            self.chars += len(chunk)
            yield chunk

    def _run(self) -> list[MailEvent]:
        sink = EventSink()
        lines = _LineScanner(sink)
        blank = True
        head, chunks = _peek(self._counted(), _SNIFF)
        facts: dict[str, FieldValue] = {}
        if looks_like_message(head):
            self._was_message = True
            block, facts = self._message(head, chunks)
            blank = lines.feed_block(None, block)
        else:
            for text, block in split_lines(chunks):
                self.lines += len(block)
                blank = lines.feed_block(text, block) and blank
        lines.finish()
        sink.merge_reports(prefer_dsn=self._was_message)
        if facts:
            sink.add_facts(facts)
        events = sink.events()
        self.events = len(events)
        self.dropped = sink.dropped + lines.dropped
        self.kinds = frozenset(sink.kinds)
        self.kind = _overall_kind(sink.kinds, blank, message=bool(facts) or self._was_message)
        return events

    def _message(self, head: str, chunks: Iterator[str]) -> tuple[list[str], dict[str, FieldValue]]:
        """An .eml file: its first MAX_EML characters go to the email package, the rest is
        read and dropped (an attached original message, usually)."""
        pieces, size = [head], len(head)
        for chunk in chunks:
            if size < MAX_EML:
                pieces.append(chunk[: MAX_EML - size])
                size += len(pieces[-1])
        text = "".join(pieces)
        self.lines += text.count("\n") + 1
        return message_lines(text)


_SNIFF = 64 * 1024  # characters read before deciding whether the input is an .eml file


def _peek(chunks: Iterator[str], size: int) -> tuple[str, Iterator[str]]:
    """The first `size` characters (or all) and an iterator over the rest."""
    head: list[str] = []
    length = 0
    for chunk in chunks:
        head.append(chunk)
        length += len(chunk)
        if length >= size:
            break
    joined = "".join(head)

    def rest() -> Iterator[str]:
        yield joined
        yield from chunks

    return joined, rest()


def scan(chunks: Iterable[str]) -> Scan:
    return Scan(chunks)


_REPORT_KINDS = (InputKind.NDR, InputKind.BOUNCE, InputKind.DSN)


def _overall_kind(kinds: set[InputKind], blank: bool, message: bool = False) -> InputKind:
    """One kind for the input. A bounce holds a human-readable report and a DSN part: that is
    one report (an .eml file is a DSN), not a mixture."""
    specific = kinds - {InputKind.TEXT}
    if len(specific) > 1 and specific <= set(_REPORT_KINDS):
        if message:
            return InputKind.DSN
        specific = {next(kind for kind in _REPORT_KINDS if kind in specific)}
    if len(specific) > 1:
        return InputKind.MIXED
    if specific:
        return next(iter(specific))
    return InputKind.EMPTY if blank else InputKind.TEXT


class _LineScanner:
    """Sends protocol-log records to the protocol-log parser (fast path) and every other line
    through the chain of text parsers."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._protocol = ProtocolLogParser(sink)
        self._queue = QueueParser(sink)
        self._powershell = PowerShellOutput(self._queue.record)
        self._dsn = DsnParser(sink)
        self._bounces = BounceParser(sink)
        self._chain = (
            self._dsn.feed,
            MessageTraceParser(sink).feed,
            self._bounces.feed,
            MtaLogParser(sink).feed,
            self._queue.feed,
            FreeTextParser(sink).feed,
        )

    @property
    def dropped(self) -> int:
        return self._protocol.dropped

    def feed_block(self, text: str | None, block: list[str]) -> bool:
        """Returns True when every line of the block was blank."""
        return self._protocol.feed_block(block, self._other, text)

    def _other(self, raw: str) -> None:
        line = strip_decoration(unslack(raw.rstrip("\r"))) if raw else raw
        for logical in self._powershell.feed(line):
            self._dispatch(logical)

    def _dispatch(self, line: str) -> None:
        if not line.strip():
            for parser in self._chain[:3]:  # blank lines end DSN groups and report paragraphs
                parser(line)
            return
        for parser in self._chain:
            if parser(line):
                return

    def finish(self) -> None:
        for logical in self._powershell.finish():
            self._dispatch(logical)
        self._dsn.finish()
        self._bounces.finish()
        self._protocol.finish()
