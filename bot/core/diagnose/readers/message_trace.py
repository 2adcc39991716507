"""Exchange Online message traces: LED reasons wherever they appear, and trace exports.

    Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch]
    [LastAttemptedServerName=mail.contoso.com] [LastAttemptedIP=203.0.113.5:25]
    [AM4PEPF00027A5F.eurprd04.prod.outlook.com 2024-05-06T08:10:11.123Z 08DC6B...]};
    {MSG=SubjectMismatch};{FQDN=mail.contoso.com};{IP=203.0.113.5};{LRT=5/6/2024 8:10:11 AM}].
    OutboundProxyTargetIP: 203.0.113.5. OutboundProxyTargetHostName: mail.contoso.com

Every `{KEY=value}` and every `[Key=Value]` of the LED becomes a fact. Trace exports
(Get-MessageTrace / Get-MessageTraceDetail output in any shape, the portal's CSV downloads) give
one fact per failed or pending recipient: a "Failed" status with no LED is still a failure, and
its sender, recipient and time are the facts that matter.
"""

from __future__ import annotations

import re

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.decode.records import Record, records
from bot.core.diagnose.fact import TRACE_STATUS_TEXT, Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in, ip_value

_LED_LINE = re.compile(r"LED=|\{MSG=|OutboundProxyTarget")
_BRACE_FIELD = re.compile(r"\{([A-Za-z][A-Za-z0-9_]{0,40})=([^{}]{0,4000})\}")
_BRACKET_FIELD = re.compile(r"\[([A-Za-z][A-Za-z0-9_.-]{0,60})=([^\[\]]{0,2000})\]")
_BRACKET_PLAIN = re.compile(r"\[([^\[\]=]{1,500})\]")
_PROXY = re.compile(r"OutboundProxyTarget(IP|HostName)\s{0,5}[:=]\s{0,5}([^\s,;\]}]{1,255})")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENDPOINT = re.compile(r"^\[?([0-9A-Fa-f.:]{2,45}?)\]?(?::(\d{1,5}))?$")
_FAILED = frozenset({"failed", "fail", "pending", "deferred", "expanded", "quarantined"})
_RECIPIENT_COLUMNS = ("recipientaddress", "recipient address", "recipient_status")
_STATUS_PROPERTIES = ("Status", "DeliveryStatus", "Delivery status", "Event", "recipient_status")


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).replace("-", "_").replace(".", "_").lower()


def split_endpoint(value: str) -> tuple[str, str]:
    """'203.0.113.5:25' -> ('203.0.113.5', '25'); '[2001:db8::1]:25' -> ('2001:db8::1', '25')."""
    value = value.strip()
    if value.count(":") == 1 or value.startswith("["):
        match = _ENDPOINT.match(value)
        if match:
            return match.group(1), match.group(2) or ""
    return value, ""


def led_facts(text: str) -> dict[str, str]:
    """The named values of a trace reason, under canonical fact names."""
    raw: dict[str, str] = {}
    for key, value in _BRACE_FIELD.findall(text):
        # A value that Format-List wrapped goes on, indented, on the next lines: one line again.
        raw.setdefault(key.upper() if len(key) <= 4 else key, " ".join(value.split()))
    led = raw.get("LED", "")
    found: dict[str, str] = {}
    if led:
        found["led"] = led
    for key, value in _BRACKET_FIELD.findall(led or text):
        if key == "LastAttemptedIP":
            ip, port = split_endpoint(value)
            if ip_value(ip):
                found.setdefault("ip", ip_value(ip) or ip)
            if port:
                found.setdefault("remote_port", port)
        elif key == "LastAttemptedServerName":
            found.setdefault("remote_host", value.strip().lower())
        elif key == "Message":
            found.setdefault("message", " ".join(value.split()))
        else:
            found.setdefault(snake(key), value.strip())
    for inner in _BRACKET_PLAIN.findall(led):
        host = inner.split()[0] if inner.split() else ""
        if host.endswith((".outlook.com", ".outlook.cn")):
            found.setdefault("reporting_mta", host.lower())
    if raw.get("MSG"):
        found.setdefault("message", raw["MSG"])
    if raw.get("FQDN"):
        found.setdefault("remote_host", raw["FQDN"].lower())
        found.setdefault("fqdn", raw["FQDN"])
    if raw.get("IP") and ip_value(raw["IP"]):
        found.setdefault("ip", ip_value(raw["IP"]) or raw["IP"])
    if raw.get("LRT"):
        found.setdefault("timestamp", raw["LRT"])
    for which, raw_value in _PROXY.findall(text):
        value = raw_value.rstrip(".")
        if which.lower() == "ip" and ip_value(value):
            found.setdefault("ip", ip_value(value) or value)
        elif which.lower() == "hostname" and value:
            found.setdefault("remote_host", value.lower())
    return {name: value for name, value in found.items() if value}


class MessageTraceReader(Reader):
    name = "message_trace"

    def detect(self, document: Document) -> int:
        text = document.text
        if "LED=" in text or "{MSG=" in text or "OutboundProxyTarget" in text:
            return 35
        lowered = document.text[:65536].lower()
        named = any(name in lowered for name in _RECIPIENT_COLUMNS)
        if named and "status" in lowered:
            return 20
        return 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        covered: set[int] = set()
        for record in records(document):
            fact = self._record(record)
            if fact is not None:
                facts.append(fact)
                covered.update(range(record.first_line, record.last_line + 1))
        for segment in document.segments:
            facts.extend(f for f in self._led_lines(segment) if f.lines[0] not in covered)
        return [
            fact
            for fact in facts
            if fact.status
            or fact.extra.get("led")
            or fact.extra.get("message")
            or fact.extra.get("trace_status")
        ]

    def _led_lines(self, segment: Segment) -> list[Fact]:
        out: list[Fact] = []
        text = segment.text
        position = 0
        while True:
            found = _LED_LINE.search(text, position)
            if found is None:
                return out
            start = text.rfind("\n", 0, found.start()) + 1
            end = _end_of_reason(text, found.start())
            out.append(self._fact(text[start:end], segment.span(start, end)))
            position = max(end, found.end())

    def _fact(
        self,
        text: str,
        lines: tuple[int, int],
        *,
        action: str | None = None,
        recipient: str | None = None,
        sender: str | None = None,
        connector: str | None = None,
        known: dict[str, str] | None = None,
    ) -> Fact:
        facts = led_facts(text)
        led = facts.pop("led", "")
        main = led.split("[", 1)[0].strip() if led else facts.get("message", text)
        reply = codes.find_reply(main)
        message = facts.pop("message", "")
        remote_host = facts.pop("remote_host", None)
        ip = facts.pop("ip", None)
        reporting = facts.pop("reporting_mta", None)
        timestamp = facts.pop("timestamp", None)
        extra = {**(known or {}), **facts, **({"led": clip(led, 2000)} if led else {})}
        if message:
            extra["message"] = clip(message, 500)
        diagnostic = clip(led or " ".join(text.split()), 2000)
        return Fact(
            source=self.name,
            action=action or ("delayed" if (reply.status or "").startswith("4") else "failed"),
            status=reply.status,
            reply_code=reply.reply_code,
            replies=(Reply(reply.reply_code, reply.status, clip(main, 1000)),) if main else (),
            diagnostic=diagnostic,
            remote_host=remote_host,
            ip=ip,
            reporting_mta=reporting,
            timestamp=timestamp,
            lines=lines,
            extra=extra,
            recipient=recipient,
            sender=sender,
            connector=connector,
        )

    def _record(self, record: Record) -> Fact | None:
        """A trace row of a failed or pending recipient (Get-MessageTrace, -Detail, CSV)."""
        status = next((record.get(name) for name in _STATUS_PROPERTIES if record.get(name)), "")
        recipient = address_in(record.get("RecipientAddress", "recipient_address", "Recipient"))
        recipient_status = record.get("recipient_status")
        if "##" in recipient_status:
            address, _, status = recipient_status.partition("##")
            recipient = recipient or address_in(address)
        detail = record.get("Detail", "Data", "custom_data")
        words = {word.strip().lower() for word in re.split(r"[,;]", status)}
        if not words & _FAILED and not _LED_LINE.search(detail):
            return None
        delayed = bool(words & {"pending", "deferred"})
        line = record.line_of("Detail", "Data", "custom_data")
        known = {
            "message_id": record.get("MessageId", "message_id"),
            "message_subject": record.get("Subject", "message_subject"),
            "trace_status": "" if detail else clip(status, 200),  # an export without the reason
        }
        return self._fact(
            detail or f"{TRACE_STATUS_TEXT}{status}",
            (line, line) if detail else (record.first_line, record.last_line),
            recipient=recipient,
            sender=address_in(record.get("SenderAddress", "sender_address", "Sender")),
            action="delayed" if delayed else None,
            connector=record.get("connector_id", "ConnectorId") or None,
            known={name: value for name, value in known.items() if value},
        )


def _end_of_reason(text: str, start: int) -> int:
    """Where a trace reason that starts at `start` ends: its closing bracket, or the end of a
    paragraph (reasons are wrapped over several lines when pasted from the portal)."""
    close = text.find("}]", start)
    blank = text.find("\n\n", start)
    line_end = text.find("\n", start)
    candidates = [x + 2 for x in (close,) if x >= 0]
    if blank >= 0:
        candidates.append(blank)
    end = min(candidates) if candidates else len(text)
    if line_end >= 0 and close < 0:
        end = line_end
    proxy = _PROXY.search(text, end, min(len(text), end + 400))
    if proxy is not None and "\n\n" not in text[end : proxy.start()]:
        end = text.find("\n", proxy.end())
        end = len(text) if end < 0 else end
    return min(end, start + 8000)
