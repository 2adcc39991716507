"""Anything else: a reply/status code in free text that reads like a mail-delivery error."""

from __future__ import annotations

import re

from bot.core.models import FieldValue
from bot.core.traces.codes import free_text_error
from bot.core.traces.events import EventKind, InputKind
from bot.core.traces.sink import EventSink

_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d|[245]\d\d")
_ADDRESS = re.compile(r"(?<![\w.+-])([\w.+'-]{1,64}@[\w-]{1,63}\.[\w.-]{1,253})")


class FreeTextParser:
    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    def feed(self, line: str) -> bool:
        if not _DIGIT_DOT_DIGIT.search(line):
            return False
        reply = free_text_error(line)
        if reply is None:
            return False
        fields: dict[str, FieldValue] = {}
        address = _ADDRESS.search(line)
        if address:
            fields["recipient"] = address.group(1).rstrip(".")
        self._sink.add(
            InputKind.TEXT,
            EventKind.SMTP_ERROR,
            line.strip(),
            status=reply.status,
            reply_code=reply.reply_code,
            fields=fields,
        )
        return True
