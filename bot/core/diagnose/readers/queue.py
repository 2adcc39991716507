"""Exchange queues: `Get-Queue` and `Get-Message` output (any shape) and bare LastError texts.

    Identity      : EX01\\7                      Get-Queue: the queue, its next hop and LastError
    NextHopDomain : contoso-com.mail.protection.outlook.com
    LastError     : 451 4.4.0 Primary target IP address responded with: "421 4.4.1 Connection
                    timed out." ... The last endpoint attempted was 203.0.113.5:25

A LastError pasted alone counts when it has the wording only Exchange queues use. An LED trace
inside a LastError is the message-trace reader's too; both facts are merged by their lines.
"""

from __future__ import annotations

import re

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document
from bot.core.diagnose.decode.records import Record, records
from bot.core.diagnose.fact import Fact, FactKind, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in, addresses_in, host_and_ip, ip_value

# Texts that only Exchange queues (on-premises or EOP) produce.
SIGNATURES = (
    "TlsCertificateName of the SendConnector",
    "TLS negotiation failed with error",
    "Primary target IP address responded with",
    "The last endpoint attempted was",
    "Attempted failover to alternate host",
    "STARTTLS is required to send mail",
    "Failed to connect. Winsock error code",
    "Unable to connect to remote server",
    "SMTPSEND.",
)
EOP_QUEUE_STATUSES = frozenset({"4.4.312", "4.4.315", "4.4.316", "4.4.317", "4.4.318", "4.7.320"})
_SIGNATURE = re.compile("|".join(re.escape(s) for s in SIGNATURES))
_EOP_CODE = re.compile(r"4\.(?:4\.31[2-8]|7\.320)(?![\d.])")
_LAST_ENDPOINT = re.compile(r"last endpoint attempted was \[?([0-9A-Fa-f.:]{2,45}?)\]?:(\d{1,5})")
_TLS_FAILED = re.compile(r"(?:TLS negotiation failed with error|Security status) ([A-Z]\w{1,80})")
_QUEUE_PROPERTIES = ("lasterror",)
# Properties only Get-Queue (NextHopDomain, DeliveryType) and Get-Message (FromAddress) print
_QUEUE_COLUMNS = ("NextHopDomain", "DeliveryType", "FromAddress")
# Exchange 2016/2019 show LastError as [{LRT=<last retry>};{LED=<error>};{FQDN=..};{IP=..}]
_LED_VALUE = re.compile(r"^\[?(?:\{LRT=[^{}]{0,80}\};)?\{LED=(.{1,4000}?)\};\{", re.DOTALL)


def error_facts(text: str) -> dict[str, str]:
    """Facts inside a LastError text: the attempted endpoint and the TLS error."""
    found: dict[str, str] = {}
    endpoint = _LAST_ENDPOINT.search(text)
    if endpoint:
        ip = ip_value(endpoint.group(1))
        if ip:
            found["ip"] = ip
        found["remote_port"] = endpoint.group(2)
    tls = _TLS_FAILED.search(text)
    if tls:
        found["tls_error"] = tls.group(1)
    return found


def _join_waiting(facts: list[Fact]) -> list[Fact]:
    """A Get-Queue table and, pasted after it, the LastError of one of its queues (`Get-Queue
    X | fl LastError`): when exactly one queue waits and the errors name no queue, they are
    that queue's errors, so the waiting queue is not reported as one without a reason."""
    waiting = [f for f in facts if f.status is None and f.reply_code is None and "queue" in f.extra]
    errors = [f for f in facts if (f.status or f.reply_code) and "queue" not in f.extra]
    if len(waiting) != 1 or not errors:
        return facts
    queue = waiting[0]
    if any(f.server and queue.server and f.server != queue.server for f in errors):
        return facts
    joined = {
        id(f): f.with_(server=f.server or queue.server, extra={**queue.extra, **f.extra})
        for f in errors
    }
    return [joined.get(id(f), f) for f in facts if f is not queue]


class QueueReader(Reader):
    name = "queue"

    def detect(self, document: Document) -> int:
        text = document.text
        if "LastError" in text and any(name in text for name in _QUEUE_COLUMNS):
            return 40  # Get-Queue or Get-Message output: its LED traces are the queue's errors
        if "LastError" in text or any(signature in text for signature in SIGNATURES):
            return 25
        if "NextHopDomain" in text and "DeliveryType" in text:
            return 25  # Get-Queue's own columns, without LastError
        return 25 if _EOP_CODE.search(text) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        covered: set[int] = set()
        for record in records(document):
            fact = self._record(record, document)
            if fact is not None:
                facts.append(fact)
                covered.update(range(record.first_line, record.last_line + 1))
        for segment in document.segments:
            text = segment.text
            signatures = _SIGNATURE.finditer(text) if any(s in text for s in SIGNATURES) else ()
            for found in signatures:
                start = text.rfind("\n", 0, found.start()) + 1
                end = text.find("\n", found.end())
                end = len(text) if end < 0 else end
                line = segment.line(start)
                if line in covered:
                    continue
                covered.add(line)
                facts.append(self._text(text[start:end].strip(), line))
            for found in _EOP_CODE.finditer(text):
                start = text.rfind("\n", 0, found.start()) + 1
                line = segment.line(start)
                if line in covered or "LED=" in text[start : found.end() + 200]:
                    continue
                end = text.find("\n", found.end())
                covered.add(line)
                facts.append(self._text(text[start : len(text) if end < 0 else end].strip(), line))
        return _join_waiting(facts)

    def _record(self, record: Record, document: Document) -> Fact | None:
        error = record.get("LastError")
        if not error or error in ("{}", "-"):
            return self._waiting(record, document) if not error else None
        if "LED=" in error:
            led = _LED_VALUE.search(error)
            if led is None:
                return None
            error = led.group(1).strip()
        identity = record.get("Identity")
        queue = record.get("Queue") or identity
        server = (
            queue.split("\\", 1)[0] if "\\" in queue else record.get("Server", "PSComputerName")
        )
        next_hop = record.get("NextHopDomain").strip("[]")
        host, ip = host_and_ip(next_hop) if next_hop else (None, None)
        # Get-Message lists each recipient as {address;status;...;[{LRT=};{LED=}];...}
        recipients = addresses_in(record.get("Recipients").replace("{", " ").replace(";", " "), 20)
        extra: dict[str, object] = {
            "queue": clip(queue) if queue else "",
            "delivery_type": record.get("DeliveryType"),
            "queue_status": record.get("Status"),
            "message_count": record.get("MessageCount"),
            "next_hop_domain": next_hop,
            "tls_domain": record.get("TlsDomain"),
            "message_subject": record.get("Subject"),
            "next_hop_connector": record.get("NextHopConnector"),
        }
        line = record.line_of("LastError")
        error_lines = (line, record.last_line if line == record.first_line else line)
        # The whole object is what this fact is about (a reader may have read a Recipients LED
        # of it); its evidence is the LastError line.
        return _fact(
            self.name,
            error,
            (record.first_line, record.last_line),
            evidence=document.line_texts(*error_lines),
            recipient=recipients[0] if recipients else None,
            sender=address_in(record.get("FromAddress")),
            server=server or None,
            remote_host=host,
            ip=ip,
            timestamp=record.get("LastRetryTime", "DateReceived") or None,
            extra={k: v for k, v in extra.items() if v},
        )

    def _waiting(self, record: Record, document: Document) -> Fact | None:
        """A queue that holds messages in Retry or Suspended, shown without its LastError (the
        default table of Get-Queue): worth a finding, the reason is one command away."""
        status, count = record.get("Status"), record.get("MessageCount")
        identity = record.get("Identity")
        if status not in ("Retry", "Suspended") or not count.isdigit() or int(count) == 0:
            return None
        if not identity or "\\" not in identity:
            return None
        hop = record.get("NextHopDomain")
        where = hop or "unknown"
        text = f"Queue {identity} is in {status} with {count} messages (next hop {where})"
        line = record.first_line
        return Fact(
            source=self.name,
            action="delayed",
            diagnostic=clip(text, 500),
            server=identity.split("\\", 1)[0],
            lines=(line, line),
            evidence=document.line_texts(line, line),
            extra={
                "queue": clip(identity),
                "queue_status": status,
                "message_count": count,
                **({"next_hop_domain": clip(hop, 300)} if hop else {}),
            },
        )

    def _text(self, text: str, line: int) -> Fact:
        return _fact(self.name, text, (line, line))


def _fact(source: str, text: str, lines: tuple[int, int], **known: object) -> Fact:
    text = clip(text, 2000)
    reply = codes.find_reply(text)
    facts = error_facts(text)
    extra = dict(known.pop("extra", {}) or {})  # type: ignore[call-overload]
    if "tls_error" in facts:
        extra["tls_error"] = facts["tls_error"]
    if "remote_port" in facts:
        extra["remote_port"] = facts["remote_port"]
    kind = FactKind.TLS if "tls_error" in facts and not reply.status else FactKind.DELIVERY
    return Fact(
        source=source,
        kind=kind,
        action="delayed" if (reply.status or "4")[0] == "4" else "failed",
        status=reply.status,
        reply_code=reply.reply_code,
        replies=(Reply(reply.reply_code, reply.status, text),),
        diagnostic=text,
        ip=known.pop("ip", None) or facts.get("ip"),  # type: ignore[arg-type]
        lines=lines,
        extra=extra,
        **known,  # type: ignore[arg-type]
    )
