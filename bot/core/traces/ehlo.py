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
from dataclasses import dataclass, field

from bot.core.models import FieldValue
from bot.core.traces.events import EventKind, InputKind
from bot.core.traces.sink import EventSink

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


@dataclass(slots=True)
class _Reply:
    lines: int = 0
    fqdn: str = ""
    masked: list[str] = field(default_factory=list)
    extensions: int = 0
    starttls: bool = False


class EhloReplyParser:
    def __init__(self, sink: EventSink) -> None:
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
        reply.lines += 1
        keyword = text.split(" ", 1)[0].upper()
        if MASKED.fullmatch(keyword):
            reply.masked.append(f"250{match.group(1)}{text}")
        elif keyword == "STARTTLS":
            reply.starttls = True
        elif keyword in _EXTENSIONS or keyword.startswith("AUTH"):
            reply.extensions += 1
        if last or reply.lines >= _MAX_REPLY_LINES:
            self._reply = None
            self._report(reply)
        return True

    def _report(self, reply: _Reply) -> None:
        fields: dict[str, FieldValue] = {"fqdn": reply.fqdn}
        if reply.masked:
            fields["masked_keywords"] = tuple(reply.masked)
            if self._banner_masked:
                fields["banner"] = "masked with asterisks"
            text = f"EHLO reply with keywords masked by SMTP inspection: {' '.join(reply.masked)}"
        elif not reply.starttls and reply.extensions >= 2:
            text = "STARTTLS not advertised in the EHLO reply"
        else:
            return
        self._sink.add(InputKind.TEXT, EventKind.TLS_FAILURE, text, fields=fields)
