"""Facts of a bounce message itself (not of one recipient): who sent the original, its subject
and message id, when the bounce was written. Every fact read from the message gets them."""

from __future__ import annotations

from bot.core.diagnose.decode import Document
from bot.core.diagnose.enrich import MessageContext
from bot.core.diagnose.fact import clip
from bot.core.diagnose.readers.bounce import original_headers
from bot.core.diagnose.readers.common import address_in


def message_context(document: Document) -> MessageContext | None:
    message = document.message
    if message is None:
        return None
    headers = message.headers
    original = original_headers(document)
    sender = (
        address_in(original.get("return-path"))
        or address_in(original.get("from"))
        or address_in(headers.get("to"))
    )
    extra: dict[str, str] = {}
    subject = original.get("subject")
    if subject:
        extra["message_subject"] = clip(subject, 300)
    message_id = original.get("message-id")
    if message_id:
        extra["message_id"] = clip(message_id, 300)
    return MessageContext(
        sender=sender,
        recipient=address_in(original.get("to")),
        timestamp=clip(headers.get("date"), 100) or None,
        extra=extra,
    )
