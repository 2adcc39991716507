"""`scan(chunks)`: the one entry point that turns pasted or uploaded text into MailEvents.

The input is streamed line by line (see `lines.split_lines`); every parser keeps bounded state;
repeated observations are merged (see `sink.EventSink`). Events come out once the input is
consumed; afterwards `Scan.kind` tells what the input was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.core.traces.events import InputKind, MailEvent
from bot.core.traces.lines import split_lines, strip_decoration, unslack
from bot.core.traces.message_trace import MessageTraceParser
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
        for text, block in split_lines(self._counted()):
            self.lines += len(block)
            blank = lines.feed_block(text, block) and blank
        lines.finish()
        events = sink.events()
        self.events = len(events)
        self.dropped = sink.dropped + lines.dropped
        self.kinds = frozenset(sink.kinds)
        self.kind = _overall_kind(sink.kinds, blank)
        return events


def scan(chunks: Iterable[str]) -> Scan:
    return Scan(chunks)


def _overall_kind(kinds: set[InputKind], blank: bool) -> InputKind:
    specific = kinds - {InputKind.TEXT}
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
        self._chain = (
            MessageTraceParser(sink).feed,
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
        for parser in self._chain:
            if parser(line):
                return

    def finish(self) -> None:
        for logical in self._powershell.finish():
            self._dispatch(logical)
        self._protocol.finish()
