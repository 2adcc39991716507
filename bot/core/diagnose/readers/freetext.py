"""The fallback: a reply or status code in any text that reads like a mail-delivery error.

Lines of the logs that have readers of their own (Exchange protocol logs, Postfix and Exim logs)
are theirs: their readers understand what a code in them means.

Ordinary chat must not raise false alarms ("section 4.2.5", "version 5.7.1", prices, dates): a
status code counts when it has class 4 or 5 and a reply code right before it or mail words around
it (bot.core.diagnose.codes.free_text_error). Only the lines that hold a candidate are looked at,
so arbitrary text of any size costs one regular-expression pass.
"""

from __future__ import annotations

import re

from bot.core.diagnose.codes import free_text_error
from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import FREE_TEXT_SOURCE, Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import recipient_in
from bot.core.diagnose.readers.mta_log import is_log_line
from bot.core.diagnose.readers.protocol_log import has_log_header, is_record

# A status code (`5.7.1`) or a reply code not glued to a digit before it (`550 `, `421-`):
#   [245]\.\d{1,3}\.\d{1,3} | (?<!\d)[45]\d\d[ -]
# written so that every match starts with one of [245]: the regex engine then skips to those
# characters at C speed instead of trying both branches at every position (5x on chat text).
_CANDIDATE = re.compile(r"[245](?:\.\d{1,3}\.\d{1,3}|(?<![0-9][245])(?<=[45])\d\d[ -])")
MAX_FACTS = 2000
# A reply that a mail client or an MTA wrapped goes on in the next lines: each is indented or
# follows a line as long as a wrapped one, and the line before it did not end a sentence. A new
# reply, a "Name: value" line, a separator or a blank line ends it.
MAX_CONTINUATION_LINES = 6
WRAPPED_LINE = range(40, 81)  # the length of a line that a wrap at 72-80 columns cut
_INDENTED = re.compile(r"[ \t]+\S")
_NOT_CONTINUATION = re.compile(r"[ \t]*(?:[245]\d\d[ -]|[245]\.\d|[A-Za-z][\w-]{0,40}: |--|==|#)")
_SENTENCE_END = (".", "!", "?", ")", "]", ":", ">")
# "Diagnostic-Code: smtp; 550 ..." pasted or in a report: the reply is what follows the label.
_DSN_LABEL = re.compile(r"[ \t]*diagnostic-code:[ \t]*(?:[\w-]{1,20}[ \t]*;)?[ \t]*", re.IGNORECASE)


class FreeTextReader(Reader):
    name = FREE_TEXT_SOURCE

    def __init__(self) -> None:
        self._log_file = False

    def detect(self, document: Document) -> int:
        if self._log_file or has_log_header(document.text):
            self._log_file = True  # a protocol log file: every line is its reader's
            return 0
        return 1 if _CANDIDATE.search(document.text) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for segment in document.segments:
            text = segment.text
            position = 0
            while len(facts) < MAX_FACTS:
                found = _CANDIDATE.search(text, position)
                if found is None:
                    break
                start = text.rfind("\n", 0, found.start()) + 1
                end = text.find("\n", found.end())
                end = len(text) if end < 0 else end
                position = end + 1
                line = text[start:end][:4096]
                if is_record(line) or is_log_line(line):
                    continue  # a protocol-log or MTA-log line: its own reader reads it
                reply = free_text_error(line)
                if reply is None:
                    continue
                number = segment.line(start)
                wrapped, end = _continuation(text, end, line)
                position = end + 1
                stripped = clip(" ".join((_without_label(line), *wrapped)), 2000)
                facts.append(
                    Fact(
                        source=self.name,
                        recipient=recipient_in(line),
                        status=reply.status,
                        reply_code=reply.reply_code,
                        replies=(Reply(reply.reply_code, reply.status, stripped),),
                        diagnostic=stripped,
                        lines=(number, number + len(wrapped)),
                    )
                )
        return facts


def _without_label(line: str) -> str:
    label = _DSN_LABEL.match(line)
    return (line[label.end() :] if label else line).strip()


def _continuation(text: str, end: int, line: str) -> tuple[list[str], int]:
    """The lines after the reply `line` (which ends at `end`) that continue it, and where the
    last of them ends."""
    wrapped: list[str] = []
    last = previous = line.rstrip()
    while len(wrapped) < MAX_CONTINUATION_LINES and end < len(text) and last:
        if last.endswith(_SENTENCE_END):
            break
        following = text.find("\n", end + 1)
        following = len(text) if following < 0 else following
        candidate = text[end + 1 : following][:4096]
        wrapped_here = len(previous) in WRAPPED_LINE and candidate.strip()
        if not (_INDENTED.match(candidate) or wrapped_here) or _NOT_CONTINUATION.match(candidate):
            break
        if is_record(candidate) or is_log_line(candidate):
            break
        if _CANDIDATE.search(candidate) and free_text_error(candidate) is not None:
            break  # a reply of its own
        previous, last = candidate.rstrip(), candidate.strip()
        wrapped.append(last)
        end = following
    return wrapped, end
