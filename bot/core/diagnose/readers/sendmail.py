"""Sendmail (V8, Sentrion): "Returned mail: see transcript for details".

A Sendmail bounce holds a transcript of the failed SMTP session next to its DSN fields:

       ----- Transcript of session follows -----
    ... while talking to mx.example.org.:
    >>> RCPT To:<kijitora@example.org>
    <<< 550 5.1.1 <kijitora@example.org>... User unknown
    550 5.1.1 <kijitora@example.org>... User unknown

The server's own reply (`<<<`) says more than the DSN's Diagnostic-Code, and the command of the
transcript (`>>>`) is the one the reply answered; a transcript without a command means the server
refused the connection or its greeting. Recipients come from the DSN fields.
"""

from __future__ import annotations

import re

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.enrich import command_of
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.bounce import squeeze
from bot.core.diagnose.readers.rfc3464 import group_fact, read_groups

_SUBJECT = re.compile(r"^(?:Warning: |Returned mail: )|see transcript for details\s*$")
_TRANSCRIPT = "----- Transcript of session follows -----"
_RECIPIENT_LINE = re.compile(r"^<([^<>\s]{1,512}@[^<>\s]{1,255})>\.{3}\s*(.*)$")


class SendmailReader(Reader):
    name = "sendmail"
    first_window_only = True

    def detect(self, document: Document) -> int:
        message = document.message
        if message is None or "x-aol-ip" in message.headers:
            return 0
        if not _SUBJECT.search(message.headers.get("subject")):
            return 0
        return 45 if any(_TRANSCRIPT in segment.text for segment in document.segments) else 0

    def parse(self, document: Document) -> list[Fact]:
        session = _Session()
        facts: list[Fact] = []
        for segment in document.segments:
            session.read(segment)
            if segment.part is not None and segment.part.content_type.endswith("delivery-status"):
                message, groups = read_groups(segment)
                facts.extend(group_fact(group, message, self.name) for group in groups)
        if not facts:
            for segment in document.segments:
                message, groups = read_groups(segment)
                facts.extend(group_fact(group, message, self.name) for group in groups)
        return [session.complete(fact, len(facts)) for fact in facts]


class _Session:
    """What the transcript says: the first command, the server's replies, other error lines."""

    def __init__(self) -> None:
        self.command: str | None = None
        self.replies: list[str] = []
        self.diagnosis = ""
        self.status: str | None = None
        self.first_line = 0
        self.remote_host: str | None = None
        self._talking = False

    def read(self, segment: Segment) -> None:
        start = segment.text.find(_TRANSCRIPT)
        if start < 0:
            return
        if not self.first_line:
            self.first_line = segment.line(start)
        for line in segment.text[start:].split("\n")[1:]:
            self._line(line.rstrip())

    def _line(self, line: str) -> None:
        if not line or line.startswith(" "):
            return
        if line.startswith(">>> "):
            self.command = self.command or command_of(line)
        elif line.startswith("<<< "):
            reply = line[4:].strip()
            if reply and reply not in self.replies:
                self.replies.append(reply)
        elif not self._talking:
            if line.startswith("... while talking to "):
                self._talking = True
                host = line.removeprefix("... while talking to ").strip().rstrip(":").rstrip(".")
                self.remote_host = self.remote_host or (host.lower() if "." in host else None)
                return
            found = _RECIPIENT_LINE.match(line)
            if found is not None:
                self.diagnosis = found.group(2)
                return
            found_reply = codes.find_reply(line)
            if found_reply.reply_code and found_reply.status:
                self.status = found_reply.status
                self.diagnosis = f"{self.diagnosis} {line}".strip()
            elif line.startswith(("Message: ", "Warning: ")):
                self.diagnosis = f"{self.diagnosis} {line}".strip()

    def complete(self, fact: Fact, recipients: int) -> Fact:
        diagnostic = fact.diagnostic
        if self.diagnosis and (not diagnostic.strip() or diagnostic.strip().isdigit()):
            diagnostic = self.diagnosis
        if self.replies and recipients == 1:
            diagnostic = f"{' '.join(self.replies)} {diagnostic}"
        diagnostic = clip(squeeze(diagnostic), 2000)
        command = fact.command or self.command or command_of(diagnostic)
        if command is None and self.replies:
            command = "EHLO"
        status = fact.status if codes.status_in(fact.status or "") else self.status
        reply = codes.find_reply(diagnostic)
        first = self.first_line or fact.lines[0]
        return fact.with_(
            diagnostic=diagnostic,
            replies=(Reply(reply.reply_code, reply.status, diagnostic),) if diagnostic else (),
            reply_code=fact.reply_code or reply.reply_code,
            status=status,
            command=command,
            remote_host=fact.remote_host or (self.remote_host if recipients == 1 else None),
            lines=(
                min(x for x in (first, fact.lines[0]) if x) if first else fact.lines[0],
                fact.lines[1],
            ),
        )


def _earliest(one: int, other: int) -> int:
    known = [line for line in (one, other) if line]
    return min(known) if known else 0
