"""Windows events of the Exchange transport services, as Event Viewer copies them or as
`Get-WinEvent` / `Get-EventLog` print them.

    Log Name:      Application
    Source:        MSExchangeFrontEndTransport
    Event ID:      12014
    Computer:      EX02.contoso.com
    Description:
    Microsoft Exchange could not find a certificate that contains the domain name
    mail.contoso.com in the personal store on the local computer. Therefore, it is unable to
    support the STARTTLS SMTP verb for the connector Default Frontend EX02 with a FQDN parameter
    of mail.contoso.com. ...

One fact per event: its ID, source, server, time and description, plus what the description
names (the domain name, the connector, the thumbprint, the client IP).
"""

from __future__ import annotations

import re

from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.decode.records import records
from bot.core.diagnose.fact import Fact, FactKind, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import ip_value

_BLOCK_START = re.compile(r"^\s*Log Name:\s", re.MULTILINE)
_FIELD = re.compile(
    r"^\s*(Log Name|Source|Date|Event ID|Task Category|Level|Keywords|User|Computer|Description)"
    r":\s*(.*)$"
)
_QUOTED = ("Event ID", "Computer")  # with the description's first line: what a finding quotes
_MARK = re.compile(r"Event ?ID\s*:|EventID\s+:|Id\s+:\s+\d{3,5}", re.I)
_NAMED = (
    # a connector's TlsCertificateName that names a removed certificate (Microsoft KB 2989382)
    (
        "tls_certificate_name",
        re.compile(r"contains the domain name (<I>.{1,600}?<S>.{1,600}?) in the personal store"),
    ),
    ("domain_name", re.compile(r"contains the domain name (\S{1,300}?) in the personal store")),
    ("connector", re.compile(r"for the connector (.{1,200}?) with a FQDN parameter")),
    # an event logged for a connector without an FQDN reads "with a FQDN parameter of . If the
    # connector's FQDN is not specified, ..." (copies often drop the lone dot)
    ("fqdn", re.compile(r"with a FQDN parameter of (?!If )(\S{1,300}?)\.?(?:\s|$)")),
    ("fqdn", re.compile(r"certificate for the FQDN of (\S{1,300}?)\.?(?:\s|$)")),
    ("thumbprint", re.compile(r"thumbprint(?: of)?:? ?([0-9A-Fa-f]{40})", re.IGNORECASE)),
    ("connector", re.compile(r"for Receive connector (.{1,200}?)\. ")),
    ("connector", re.compile(r"for (?:the )?Send connector (.{1,200}?)[.,] ")),
    (
        "remote_ip",
        re.compile(
            r"source IP address of the client who tried to authenticate to "
            r"Microsoft Exchange is \[?([0-9A-Fa-f.:]{2,45})\]?"
        ),
    ),
    ("message", re.compile(r"authentication failed with error (\w{1,80})")),  # LogonDenied ...
    ("subject", re.compile(r"subject: (.{1,400}?), thumbprint")),
)


# A paragraph after the description that opens with an SMTP reply or status code ("450 4.4.101
# Proxy session setup failed ..."): something else pasted below the event.
_NEW_PARAGRAPH = re.compile(r"[ \t]*(?:[245]\d\d[ -]|[245]\.\d{1,3}\.\d{1,3}\b)")


# The transport service's certificate sentences, recognised in a description pasted on its own.
_BARE_DESCRIPTION = re.compile(
    r"Microsoft Exchange (?:could not|couldn.t|cannot) (?:find|load) (?:a|the) certificate"
)
_MAX_BARE = 100


class EventLogReader(Reader):
    name = "event_log"

    def detect(self, document: Document) -> int:
        head = document.text[:65536]
        if "MSExchange" in head and _MARK.search(head):  # the cheap test first
            return 30
        return 20 if "Microsoft Exchange" in head and _BARE_DESCRIPTION.search(head) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for segment in document.segments:
            facts.extend(self._viewer_blocks(segment))
        if not facts and "MSExchange" not in document.text[:65536]:
            return self._bare_descriptions(document)
        if not facts:
            for record in records(document):
                event_id = record.get("EventID", "Id", "InstanceId", "Event ID")
                message = record.get("Message", "Description")
                source = record.get("Source", "ProviderName")
                if event_id.isdigit() and message and "MSExchange" in source:
                    facts.append(
                        _fact(
                            event_id,
                            source,
                            record.get("MachineName", "Computer"),
                            record.get("TimeGenerated", "TimeCreated"),
                            message,
                            (record.first_line, record.last_line),
                        )
                    )
        return facts

    def _bare_descriptions(self, document: Document) -> list[Fact]:
        """An event's description pasted without the Event Viewer fields around it: the
        paragraph that holds the transport service's sentence, as an event with no ID."""
        facts: list[Fact] = []
        for segment in document.segments:
            text = segment.text
            for found in _BARE_DESCRIPTION.finditer(text):
                start = text.rfind("\n\n", 0, found.start())
                start = 0 if start < 0 else start + 2
                end = text.find("\n\n", found.end())
                end = len(text) if end < 0 else end
                facts.append(_fact("", "", "", "", text[start:end], segment.span(start, end)))
                if len(facts) >= _MAX_BARE:
                    return facts
        return facts

    def _viewer_blocks(self, segment: Segment) -> list[Fact]:
        out: list[Fact] = []
        starts = [m.start() for m in _BLOCK_START.finditer(segment.text)]
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else len(segment.text)
            block = segment.text[start:end]
            values: dict[str, str] = {}
            description: list[str] = []
            shown: list[int] = []  # offsets in the block of the lines the finding quotes
            in_description = False
            offset = 0
            after_blank = False
            for line in block.split("\n"):
                if in_description and after_blank and _NEW_PARAGRAPH.match(line):
                    end = start + offset  # a reply pasted after the event is not its description
                    break
                after_blank = not line.strip()
                found = _FIELD.match(line)
                if found and not in_description:
                    values[found.group(1)] = found.group(2).strip()
                    in_description = found.group(1) == "Description"
                    if found.group(1) in _QUOTED or (in_description and found.group(2).strip()):
                        shown.append(offset)
                    if in_description and found.group(2).strip():
                        description.append(found.group(2).strip())
                elif in_description or (values.get("Computer") and line.strip()):
                    if line.strip().startswith("Event Xml:"):
                        break
                    if line.strip() and len(shown) < len(_QUOTED) + 1:
                        shown.append(offset)
                    description.append(line.strip())
                offset += len(line) + 1
            event_id = values.get("Event ID", "")
            if not event_id.isdigit() or "MSExchange" not in values.get("Source", ""):
                continue
            fact = _fact(
                event_id,
                values.get("Source", ""),
                values.get("Computer", ""),
                values.get("Date", ""),
                " ".join(d for d in description if d),
                segment.span(start, end),
            )
            quoted = [
                segment.line_texts(line, line) for line in (segment.line(start + o) for o in shown)
            ]
            out.append(fact.with_(evidence=tuple(line for lines in quoted for line in lines)))
        return out


def _fact(  # noqa: PLR0917 - the parts of one event, as both shapes give them
    event_id: str, source: str, computer: str, when: str, message: str, lines: tuple[int, int]
) -> Fact:
    text = clip(" ".join(message.split()), 2000)
    named: dict[str, str] = {}
    for name, pattern in _NAMED:
        found = pattern.search(text)
        if found and name not in named:
            named[name] = found.group(1).strip().rstrip(".")
    server = computer.split(".", 1)[0].upper() if computer else None
    remote_ip = named.pop("remote_ip", "")
    extra = {"event_id": event_id, "source_name": source, **named}
    if ip_value(remote_ip):
        extra["remote_ip"] = ip_value(remote_ip) or remote_ip
    fqdn = extra.pop("fqdn", None) or extra.get("domain_name")
    connector = extra.pop("connector", None)
    if connector and server and "\\" not in connector:
        connector = f"{server}\\{connector}"
    return Fact(
        source="event_log",
        kind=FactKind.EVENT,
        diagnostic=text,
        server=server,
        connector=connector,
        fqdn=fqdn,
        timestamp=when or None,
        lines=lines,
        extra=extra,
    )
