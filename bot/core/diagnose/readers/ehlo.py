"""An EHLO reply pasted from a telnet / swaks / openssl session:

    220 ****************************************************
    EHLO test.fabrikam.com
    250-mail.contoso.com Hello [203.0.113.9]
    250-SIZE 37748736
    250-XXXXXXXA
    250 XXXXXXXB

Keywords made only of X's (and a banner of asterisks) are what SMTP inspection on a firewall
(Cisco ASA `inspect esmtp`) leaves of extensions it does not know, STARTTLS among them. A complete
multi-line EHLO reply that lists ESMTP extensions but no STARTTLS is reported too: the server (or
something in front of it) does not offer TLS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.linesink import EventKind, InputKind, LineSink
from bot.core.models import FieldValue

# "250-KEYWORD params" or "250 KEYWORD", optionally behind a client's direction marker
# ("<-  " swaks, "S: ", "< ").
_REPLY_LINE = re.compile(r"(?:<-{1,2}|<\*{1,2}|<|S:)?\s{0,4}250([- ])(.{0,500})")
MASKED = re.compile(r"X{4,}[A-Z]?")  # a keyword rewritten by SMTP inspection
# The server's name opens the reply: "250-mail.contoso.com Hello [203.0.113.9]".
_GREETING = re.compile(r"([\w-]{1,63}\.[\w.-]{1,253})(?:\s|$)")
_EXTENSIONS = frozenset(
    {"SIZE", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "SMTPUTF8",
     "AUTH", "BINARYMIME", "ETRN", "VRFY", "X-ANONYMOUSTLS", "XEXCH50", "XRDST"}
)  # fmt: skip
_MAX_REPLY_LINES = 60


NOT_ADVERTISED = "STARTTLS not advertised in the EHLO reply"
_MASKED_PREFIX = "EHLO reply with keywords masked by SMTP inspection: "


def ehlo_problem(keywords: Sequence[str]) -> str | None:
    """What is wrong with an EHLO reply whose lines start with `keywords` (upper case), as an
    event text: masked keywords, or ESMTP extensions without STARTTLS; None when nothing is."""
    masked = [keyword for keyword in keywords if MASKED.fullmatch(keyword)]
    if masked:
        return _MASKED_PREFIX + ", ".join(f"250 {keyword}" for keyword in masked)
    if "STARTTLS" in keywords:
        return None
    extensions = sum(1 for k in keywords if k in _EXTENSIONS or k.startswith("AUTH"))
    return NOT_ADVERTISED if extensions >= 2 else None


@dataclass(slots=True)
class _Reply:
    fqdn: str = ""
    keywords: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)  # the masked lines as pasted


class EhloReplyParser:
    def __init__(self, sink: LineSink) -> None:
        self._sink = sink
        self._reply: _Reply | None = None
        self._banner_masked = False

    def feed(self, line: str) -> bool:
        stripped = line.strip()
        if stripped.startswith("220 ") and stripped[4:].strip().strip("*") == "":
            self._banner_masked = len(stripped) > 8  # "220 ****" is an inspected banner
            return False
        if "250" not in stripped[:8]:
            self._reply = None
            return False
        match = _REPLY_LINE.fullmatch(stripped)
        if match is None:
            self._reply = None
            return False
        last, text = match.group(1) == " ", match.group(2).strip()
        reply = self._reply
        if reply is None:
            if last:  # a one-line "250 OK" is no EHLO reply
                return False
            reply = self._reply = _Reply()
            greeting = _GREETING.match(text)
            if greeting:
                reply.fqdn = greeting.group(1)
        keyword = text.split(" ", 1)[0].upper()
        reply.keywords.append(keyword)
        if MASKED.fullmatch(keyword):
            reply.masked.append(f"250{match.group(1)}{text}")
        if last or len(reply.keywords) >= _MAX_REPLY_LINES:
            self._reply = None
            self._report(reply)
        return True

    def _report(self, reply: _Reply) -> None:
        text = ehlo_problem(reply.keywords)
        if text is None:
            return
        fields: dict[str, FieldValue] = {"fqdn": reply.fqdn}
        if reply.masked:
            fields["masked_keywords"] = tuple(reply.masked)
            if self._banner_masked:
                fields["banner"] = "masked with asterisks"
        self._sink.add(InputKind.TEXT, EventKind.TLS_FAILURE, text, fields=fields)


_MARK = re.compile(r"^\W{0,4}\s{0,4}250[- ]", re.MULTILINE)


class EhloReader(Reader):
    """An EHLO reply pasted from telnet, swaks or openssl s_client."""

    name = "ehlo"

    def detect(self, document: Document) -> int:
        return 20 if _MARK.search(document.text[:65536]) else 0

    def parse(self, document: Document) -> list[Fact]:
        sink = LineSink()
        parser = EhloReplyParser(sink)
        for segment in document.segments:
            for index, line in enumerate(segment.text.split("\n")):
                sink.line, sink.line_text = segment.line_number(index), line
                parser.feed(line[:4096])
        return sink.facts()
