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
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in
from bot.core.diagnose.readers.mta_log import is_log_line
from bot.core.diagnose.readers.protocol_log import has_log_header, is_record

# A status code (`5.7.1`) or a reply code not glued to a digit before it (`550 `, `421-`):
#   [245]\.\d{1,3}\.\d{1,3} | (?<!\d)[45]\d\d[ -]
# written so that every match starts with one of [245]: the regex engine then skips to those
# characters at C speed instead of trying both branches at every position (5x on chat text).
_CANDIDATE = re.compile(r"[245](?:\.\d{1,3}\.\d{1,3}|(?<![0-9][245])(?<=[45])\d\d[ -])")
MAX_FACTS = 2000


class FreeTextReader(Reader):
    name = "text"

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
                stripped = clip(line.strip(), 2000)
                facts.append(
                    Fact(
                        source=self.name,
                        recipient=address_in(line),
                        status=reply.status,
                        reply_code=reply.reply_code,
                        replies=(Reply(reply.reply_code, reply.status, stripped),),
                        diagnostic=stripped,
                        lines=(number, number),
                    )
                )
        return facts
