"""Exchange message tracking: `Get-MessageTrackingLog` output (Format-List, Format-Table,
Export-Csv) and the MessageTracking log files themselves (`#Fields: date-time,...,event-id,...`).

    EventId         : FAIL
    Source          : SMTP
    Recipients      : {megan@fabrikam.com}
    RecipientStatus : {550 5.1.1 RESOLVER.ADR.RecipNotFound; not found}
    ServerHostname  : EX01
    ConnectorId     : EX01\\Internet

A FAIL, DEFER, DSN, BADMAIL or POISONMESSAGE event, and a DROP that gives a reason, is a fact per
recipient, with its server, connector, sender, subject, time and the agent that acted (the
SourceContext of an AGENT event); other events (RECEIVE, SEND, DELIVER) are healthy and quiet.
"""

from __future__ import annotations

import re

from bot.core.diagnose import codes
from bot.core.diagnose.decode import Document
from bot.core.diagnose.decode.records import TRACKING_LINE, Record, records
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import address_in, addresses_in, ip_value
from bot.core.diagnose.readers.message_trace import led_facts

_FAILURES = {"FAIL": "failed", "DEFER": "delayed", "DSN": "failed", "BADMAIL": "failed",
             "POISONMESSAGE": "failed", "HAREDIRECTFAIL": "failed", "DROP": "failed"}  # fmt: skip
# PowerShell's names, the log file's, and the extended message trace's (event_id, recipient_status)
_MARK = re.compile(r"Event ?Id|event[-_]id|Recipient ?Status|recipient[-_]status", re.I)


class TrackingLogReader(Reader):
    name = "tracking_log"

    def detect(self, document: Document) -> int:
        head = document.text[:65536]
        if "EventId" not in head and "event-id" not in head and "event_id" not in head:
            return 30 if "Z," in head and _headerless(head) else 0
        return 30 if _MARK.search(head) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for record in records(document):
            facts.extend(self._record(record))
        return facts

    def _record(self, record: Record) -> list[Fact]:
        event = record.get("EventId", "event-id").upper()
        action = _FAILURES.get(event)
        if action is None:
            return []
        status_text = record.get("RecipientStatus", "recipient-status").strip("{}[] ")
        if "LED=" in status_text:  # an extended message trace: the reason as a trace
            status_text = led_facts("{" + status_text + "}").get("led", status_text)
        if event == "DSN" and not status_text:
            return []  # the NDR's own delivery, addressed to the sender: the FAIL tells why
        if event == "DROP" and not status_text:
            return []  # dropped without a reason: a completed moderation request, say
        recipients: list[str | None] = [
            *addresses_in(record.get("Recipients", "recipient-address"), 50)
        ] or [None]
        text = clip(
            status_text or record.get("MessageInfo", "message-info") or f"{event} event", 2000
        )
        reply = codes.find_reply(text)
        connector = record.get("ConnectorId", "connector-id") or None
        server, remote = _endpoints(record, event, connector)
        extra = {
            key: value
            for key, value in {
                "event_id": event,
                "source_name": record.get("Source", "source"),
                # the agent of an AGENT event ("Sender Id Agent", "Transport Rule Agent")
                "source_context": _agent(record),
                "message_subject": record.get("MessageSubject", "message-subject"),
                "message_id": record.get("MessageId", "message-id"),
            }.items()
            if value
        }
        return [
            Fact(
                source=self.name,
                recipient=recipient,
                # A DSN event is the NDR itself: its sender is Exchange's system mailbox, not
                # the sender of the mail that failed (its FAIL event names that one).
                sender=None
                if event == "DSN"
                else address_in(record.get("Sender", "sender-address")),
                action=action,
                status=reply.status,
                reply_code=reply.reply_code,
                replies=(Reply(reply.reply_code, reply.status, text),),
                diagnostic=text,
                server=server.split(".", 1)[0].upper() if server else None,
                remote_host=remote,
                connector=connector,
                ip=_remote_ip(record, event),
                timestamp=record.get("Timestamp", "date-time", "date_time_utc") or None,
                lines=(record.first_line, record.last_line),
                extra=extra,
            )
            for recipient in recipients[:50]
        ]


def _remote_ip(record: Record, event: str) -> str | None:
    """The other side's IP of a FAIL: the server Exchange sent to, or, when an agent refused
    the message during receipt (Source SMTP, SourceContext "Sender Id Agent"), the client."""
    if event != "FAIL":
        return None
    if record.get("Source", "source").upper() == "SMTP" and _agent(record):
        return ip_value(record.get("ClientIp", "client-ip"))
    return ip_value(record.get("ServerIp", "server-ip"))


def _agent(record: Record) -> str:
    context = record.get("SourceContext", "source-context")
    is_agent = record.get("Source", "source").upper() == "AGENT" or context.endswith("Agent")
    return clip(context, 300) if is_agent else ""


def _headerless(head: str) -> bool:
    """Tracking log lines pasted without the file's header (a line of grep output)."""
    return any(TRACKING_LINE.match(line) for line in head.split("\n", 200)[:200])


def _endpoints(record: Record, event: str, connector: str | None) -> tuple[str | None, str | None]:
    """(our Exchange server, the remote host). When Exchange sends over SMTP (the events of a
    send connector), client-hostname is our server and server-hostname the destination; on
    receipt it is the other way round. A connector identity `EX01\\Internet` names the server."""
    client = record.get("ClientHostname", "client-hostname") or None
    server = record.get("ServerHostname", "server-hostname") or None
    sending = record.get("Source", "source").upper() == "SMTP" and event in ("FAIL", "DEFER")
    prefix = connector.split("\\", 1)[0] if connector and "\\" in connector else None
    if sending:  # an extended message trace leaves client-hostname empty on DEFER
        return prefix or client, server.lower() if server and "." in server else None
    return prefix or server, None
