"""Format readers: one small module per source of text, like Sisimai's Lhost parsers.

Each reader class has a `name`, `detect(document) -> int` (0: not mine; higher: surer and more
specific) and `parse(document) -> list[Fact]`, and may keep state across the windows of one input
(`finish()` returns what it held back). Every reader that claims a document parses all of it: no
reader's claim hides text from the others; bot.core.diagnose.readers.merge then joins what
several readers said about the same recipient or the same lines into one fact. The one exception
is the records of a line-structured log (`owns_records`): they belong to the log's reader, which
alone knows their fields, and the other readers read the document's other lines (`foreign`), so
that a 200 MB log is searched once and not by every reader.
"""

from __future__ import annotations

from typing import ClassVar

from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import Fact


class Reader:
    """Base class: subclasses set `name` and implement `detect` and `parse`."""

    name: ClassVar[str] = ""
    # Readers of whole reports (e-mail bounces, NDRs) read only the first window of an input.
    first_window_only: ClassVar[bool] = False
    # Readers of line-structured logs claim their records (see the module's docstring).
    owns_records: ClassVar[bool] = False

    def detect(self, document: Document) -> int:
        raise NotImplementedError

    def parse(self, document: Document) -> list[Fact]:
        raise NotImplementedError

    def finish(self) -> list[Fact]:
        return []

    def foreign(self, document: Document) -> Document:
        """What the other readers read of a document this reader claimed: all of it, unless
        the reader `owns_records`."""
        return document
