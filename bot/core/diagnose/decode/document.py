"""`Document`: what the readers look at, with the way back to input line numbers.

A document is either a plain text window (a paste, a log, a CSV export: the input cut into
windows of whole lines so that a 200 MB log never sits in memory) or one e-mail message. Its text
comes as `segments`; each knows the input line it starts on, so a reader can say which lines a fact
rests on (the `evidence` of a finding).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from functools import cached_property

from bot.core.diagnose.decode.mime import Message, Part


@dataclass(slots=True)
class Segment:
    """A stretch of text that starts on input line `first_line`. When `exact` is False (a
    base64 or quoted-printable part) every offset maps to `first_line`."""

    text: str
    first_line: int
    exact: bool = True
    part: Part | None = None
    _newlines: list[int] | None = field(default=None, repr=False)
    _last_line: int = field(default=0, repr=False)  # 0: not counted yet

    def line(self, offset: int) -> int:
        """The 1-based input line of character `offset` of `text`."""
        if not self.exact:
            return self.first_line
        if self._newlines is None:
            if offset < 4096:
                return self.first_line + self.text.count("\n", 0, max(offset, 0))
            self._newlines = _newline_offsets(self.text)
        return self.first_line + bisect.bisect_left(self._newlines, offset)

    def line_number(self, index: int) -> int:
        """The input line of the segment's line `index` (0-based)."""
        return self.first_line + index if self.exact else self.first_line

    def span(self, start: int, end: int) -> tuple[int, int]:
        last = max(start, end - 1)
        return self.line(start), self.line(last)

    def line_texts(self, first: int, last: int) -> tuple[tuple[int, str], ...]:
        if not self.exact:
            return ()
        start = self._offset_of(first)
        out = []
        for number in range(first, last + 1):
            if start < 0 or start > len(self.text):
                break
            end = self.text.find("\n", start)
            end = len(self.text) if end < 0 else end
            out.append((number, self.text[start:end]))
            start = end + 1
        return tuple(out)

    def _offset_of(self, line: int) -> int:
        index = line - self.first_line
        if index <= 0:
            return 0
        if self._newlines is None and len(self.text) > 65536:
            self._newlines = _newline_offsets(self.text)
        if self._newlines is not None:
            return self._newlines[index - 1] + 1 if index - 1 < len(self._newlines) else -1
        position = -1
        for _ in range(index):
            position = self.text.find("\n", position + 1)
            if position < 0:
                return -1
        return position + 1

    @property
    def last_line(self) -> int:
        """The input line of the segment's last line (counted once: evidence asks often)."""
        if not self.exact:
            return self.first_line
        if not self._last_line:
            ending = 1 if self.text.endswith("\n") else 0
            self._last_line = self.first_line + self.text.count("\n") - ending
        return self._last_line


class LineCounter:
    """The 0-based line index of offsets of one text, mostly asked in increasing order:
    newlines are counted once, and only as far as the offsets asked for."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = self._index = 0

    def index(self, offset: int) -> int:
        if offset < self._offset:
            self._offset = self._index = 0
        self._index += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._index


_SPACED_SAMPLE = 80  # lines looked at
_SPACED_MINIMUM = 6  # non-blank lines among them


def double_spaced(lines: list[str]) -> bool:
    """Text copied from a web page or a chat client that put a blank line after every line:
    among its first lines, no two non-blank lines follow each other."""
    sample = lines[:_SPACED_SAMPLE]
    filled = [bool(line.strip()) for line in sample]
    if sum(filled) < _SPACED_MINIMUM:
        return False
    return not any(a and b for a, b in itertools.pairwise(filled))


def _newline_offsets(text: str) -> list[int]:
    offsets: list[int] = []
    find = text.find
    position = find("\n")
    while position >= 0:
        offsets.append(position)
        position = find("\n", position + 1)
    return offsets


@dataclass
class Document:
    segments: tuple[Segment, ...]
    index: int = 0  # window number: 0 for the first (readers of whole reports only read it)
    message: Message | None = None  # set when the document is an e-mail message
    raw: str = ""  # the message as raw text (Latin-1, LF), for part offsets
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def is_message(self) -> bool:
        return self.message is not None

    @property
    def first_line(self) -> int:
        return self.segments[0].first_line if self.segments else 1

    @cached_property
    def text(self) -> str:
        """All segments' text joined by blank lines (for detection; offsets are per segment)."""
        if len(self.segments) == 1:
            return self.segments[0].text
        return "\n\n".join(segment.text for segment in self.segments)

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    def head(self, size: int = 65536) -> str:
        return self.text[:size]

    def cached(self, key: str, build: object) -> object:
        """Memo of derived views (Format-List records, CSV rows) shared by the readers."""
        if key not in self._cache:
            self._cache[key] = build() if callable(build) else build
        return self._cache[key]

    def line_texts(self, first: int, last: int, limit: int = 3) -> tuple[tuple[int, str], ...]:
        """The input lines first..last (at most `limit`), as (number, text)."""
        if first <= 0:
            return ()
        last = min(max(first, last), first + limit - 1)
        if self.raw:
            lines = self.cached("raw_lines", lambda: self.raw.split("\n"))
            assert isinstance(lines, list)
            return tuple(
                (n, lines[n - 1].encode("latin-1", "replace").decode("utf-8", "replace"))
                for n in range(first, last + 1)
                if 0 < n <= len(lines)
            )
        for segment in self.segments:
            if segment.first_line <= first <= segment.last_line:
                return segment.line_texts(first, last)
        return ()

    def raw_line(self, offset: int) -> int:
        """The 1-based input line of raw message offset `offset`."""
        return self.raw.count("\n", 0, offset) + 1
