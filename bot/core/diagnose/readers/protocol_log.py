"""Exchange SmtpReceive / SmtpSend protocol logs.

    #Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,
             event,data,context  (one line in the real file)
    2024-05-06T08:10:11.123Z,SERVER1\\Default Frontend SERVER1,08DC6B...,6,10.0.0.5:25,
      40.107.1.2:1234,*," CN=SERVER1 CN=SERVER1 <serial> <thumbprint> <not-before> <not-after>
      SERVER1;SERVER1.contoso.local",Sending certificate Subject Issuer name Serial number
      Thumbprint Not before Not after Subject alternate names

Exchange 2016/2019 log a certificate on one line as above; Exchange 2010/2013 log a line with the
context `Sending certificate` / `Remote certificate` / `Received certificate` followed by lines
whose context is `Certificate subject`, `Certificate issuer name`, `Certificate serial number`,
`Certificate thumbprint` and `Certificate alternate names`. Both are understood.

Speed matters (logs of 200 MB): a record is recognised by its shape (`YYYY-MM-DDTHH:MM:SS.fffZ,`
at the start), and only the few records about certificates, TLS, banners, EHLO, errors and
disconnects are split into fields. Observations are aggregated: one CERT_PRESENTED event per
(connector, certificate) with a count, emitted at the end.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.core import dn
from bot.core.diagnose.codes import find_reply
from bot.core.diagnose.decode import Document
from bot.core.diagnose.decode.document import LineCounter, Segment
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.ehlo import MASKED, NOT_ADVERTISED, ehlo_problem
from bot.core.diagnose.readers.linesink import (
    MAX_ITEMS,
    MAX_LINE,
    EventKind,
    InputKind,
    LineSink,
    MailEvent,
    clean_fields,
    clip,
)
from bot.core.diagnose.readers.message_trace import split_endpoint
from bot.core.models import FieldValue

MAX_SESSIONS = 5000  # sessions whose state is kept (oldest dropped first)
MAX_CERTS = 500  # distinct (connector, certificate) pairs
MAX_FAILURES = 500  # distinct (connector, TLS error) pairs
LOOKBACK = 128 * 1024  # characters of earlier records searched for a session's greetings
MAX_LOOKUPS = 50  # sessions per observation whose greetings are looked up
_MAX_WORDS = 100  # words of a record's data searched for EHLO keywords
_MAX_SESSION_RECORDS = 60  # earlier records of a session searched for STARTTLS
_CERT_TYPES = ("Sending certificate", "Remote certificate", "Received certificate")
_VALIDATED = "Validated received certificate"
_DETAIL = {
    "Certificate subject": "subject",
    "Certificate issuer name": "issuer",
    "Certificate serial number": "serial",
    "Certificate thumbprint": "thumbprint",
    "Certificate alternate names": "sans",
}
_EXO_SUFFIXES = (".protection.outlook.com", ".outlook.com")
_HEX = frozenset("0123456789abcdefABCDEF")
# A record is split into fields only when it holds one of these: certificates, TLS domain
# capabilities, TLS failures, enhanced status codes (4xx/5xx replies) and keywords or commands
# masked by SMTP inspection on a firewall (XXXXXXXA instead of STARTTLS).
# A multi-line reply received in a send log (",<,250  "): the peer's EHLO reply.
_NEEDLES = ("ertificate", "TlsDomainCapabilities", "negotiation failed", "XXXX", ",<,250  ")
# In a receive log "<" is what the client sent: no EHLO reply to look for (a pass less).
_RECEIVE_NEEDLES = _NEEDLES[:-1]
_CLASS_4_OR_5 = re.compile(r" [45]\.")  # one regex pass beats two str.find passes here
# The record shape, `YYYY-MM-DDTHH:MM:SS.fffZ,`: "-" at 4, "T" at 10, "Z," at 23 (is_record);
# _NON_RECORD finds a line that does not have it.
_NON_RECORD = re.compile(r"\n(?!.{4}-.{5}T.{12}Z,)")
# After the time stamp of a record without its file's header: the connector, a session id of 16
# hex digits and the sequence number. A message tracking log line has the same time stamp, then
# an IP address.
_SESSION_FIELDS = re.compile(r".{24},[^,\n]*,[0-9A-Fa-f]{16},\d+,")
_EVENTS = frozenset({"<", ">", "*", "+", "-", "&lt;", "&gt;"})
_CHAIN_OK = frozenset({"Valid", "EmptyCertificate", "TestBypassed"})
_CHAIN_LINE = "ertificate chain validation status"
_CHAIN_OK_ENDINGS = tuple(f"'{status}'" for status in _CHAIN_OK)
_DIRECTIONS = {"<": "<", ">": ">", "&lt;": "<", "&gt;": ">"}


def has_log_header(text: str) -> bool:
    """Does the text hold the header of an Exchange protocol log file?"""
    head = text[:65536]
    return "#Fields: date-time,connector-id,session-id" in head or "#Log-type: SMTP" in head


def is_record(line: str) -> bool:
    return line[10:25:14] == "T," and line[23:3:-19] == "Z-"


def non_record_starts(text: str) -> list[int]:
    """The offsets of the lines of `text` that are not records, in order."""
    starts = [] if is_record(text) else [0]
    starts.extend(match.start() + 1 for match in _NON_RECORD.finditer(text))
    return starts


@dataclass(slots=True)
class _Session:
    session_id: str = ""
    connector: str = ""
    remote_ip: str = ""  # remote endpoint, ip:port
    local_ip: str = ""  # local endpoint, ip:port
    resolved: bool = False  # greetings looked up
    log_type: str = ""  # "receive" or "send", from the direction of banner / EHLO
    local_name: str = ""  # our banner (receive) or our EHLO (send)
    remote_name: str = ""  # their EHLO (receive) or their banner (send)
    own_cert: tuple[str, ...] | None = None
    remote_cert: tuple[str, ...] | None = None
    pending_type: str = ""  # old format: the certificate whose detail lines follow
    pending: dict[str, str] = field(default_factory=dict)
    pending_stamp: str = ""


_SMTP_PORTS = frozenset({"25", "465", "587", "2525", "717", "475"})


def _log_type_of_endpoints(local: str, remote: str) -> str:
    """A record's endpoints tell whose connector it was when no header or greeting does: the
    side on an SMTP server port is the server (receive log: ours; send log: theirs)."""
    local_port = local.rpartition(":")[2]
    remote_port = remote.rpartition(":")[2]
    if remote_port in _SMTP_PORTS and local_port not in _SMTP_PORTS:
        return "send"
    if local_port in _SMTP_PORTS and remote_port not in _SMTP_PORTS:
        return "receive"
    return ""


@dataclass(slots=True)
class _CertSeen:
    kind: EventKind
    connector: str
    cert: dict[str, str]
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    fqdn: str = ""
    remote_ehlo: str = ""
    remote_ip: str = ""
    local_ip: str = ""
    log_type: str = ""
    exchange_online: bool = False
    capabilities: str = ""
    capability_status: str = ""
    capability_domain: str = ""
    chain_status: str = ""
    evidence: tuple[tuple[int, str], ...] = ()


@dataclass(slots=True)
class _ConnectorSeen:
    """What a connector's sessions showed about TLS, whichever certificate was involved."""

    capabilities: str = ""
    capability_status: str = ""
    capability_domain: str = ""
    chain_status: str = ""
    exchange_online: bool = False
    latest_cert: tuple[str, ...] | None = None


@dataclass(slots=True)
class _FailureSeen:
    connector: str
    error: str
    text: str
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    fqdn: str = ""
    remote_ip: str = ""
    remote_ehlo: str = ""
    thumbprint: str = ""
    subject: str = ""
    exchange_online: bool = False
    log_type: str = ""  # "send" or "receive": whose connector it was
    evidence: tuple[tuple[int, str], ...] = ()


class ProtocolLogParser:
    """Streams records in; emits aggregated events into the sink at `finish`.

    Records are handled in blocks. Every block's records are searched for `_NEEDLES`; a
    session's greetings (banner, EHLO) are looked up backwards, within `LOOKBACK` characters of
    earlier records, only when a certificate, failure or error of that session needs them. The
    result does not depend on how the input was cut into blocks.
    """

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink
        self._errors = LineSink()  # 4xx/5xx replies, merged into `sink` at the end
        # Where the records of the current block came from (see _where).
        self._block: tuple[int, str, int, int, LineCounter] = (0, "", 0, 0, LineCounter(""))
        self._seen_log = False
        self._log_type = ""
        self._tail = ""  # the last LOOKBACK characters of records, each followed by LF
        self._sessions: dict[str, _Session] = {}
        self._certs: dict[tuple[str, ...], _CertSeen] = {}
        self._failures: dict[tuple[str, str], _FailureSeen] = {}
        self._lookups: dict[tuple[str, ...], int] = {}
        self._banners: dict[str, str] = {}  # connector -> the name in its own banner
        self._connectors: dict[str, _ConnectorSeen] = {}  # TLS domain capabilities, chain status
        self._known: dict[tuple[str, str], tuple[str, ...]] = {}  # (connector, data+context)
        self._parsed: dict[str, dict[str, str]] = {}  # one-line certificate data -> fields
        self._capability_values: dict[str, dict[str, str]] = {}
        self.dropped = 0

    # -- finding the interesting records -------------------------------------------------------
    def feed_block(
        self,
        text: str,
        first_line: int = 0,
        starts: list[int] | None = None,
        spans: SpanIndex | None = None,
    ) -> None:
        """Take the records among the lines of `text` (a block from `split_lines`); the header
        lines of a log file (`#Fields: ...`) among the others set what follows, and the rest is
        not this parser's. `starts`: the offsets of the lines that are not records
        (`non_record_starts(text)`), `spans`: `SpanIndex(text)`, when the caller has them.

        The lines that hold `_NEEDLES` are found for the whole block at once, at C speed,
        without a Python loop over its lines; the records between two other lines are a run."""
        if starts is None:
            starts = non_record_starts(text)
        if spans is None:
            spans = SpanIndex(text)
        lines = LineCounter(text)
        run_start = 0  # where the current run of records began
        for position in starts:
            if position > run_start:  # the records before it, fed as one run
                self._records(text, (run_start, position - 1), lines, first_line, spans)
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            raw = text[position:end][:MAX_LINE]
            if raw.startswith("#") and raw[1:2].isalpha() and ": " in raw:
                self._header(raw.rstrip("\r"))
            run_start = end + 1
        if run_start < len(text):
            self._records(text, (run_start, len(text)), lines, first_line, spans)

    def _records(
        self,
        block: str,
        run: tuple[int, int],
        lines: LineCounter,
        first_line: int,
        spans: SpanIndex,
    ) -> None:
        """The run of records `block[offset:end]` (`run`) of the block whose lines `lines`
        counts and whose first line is input line `first_line`."""
        offset, end = run
        self._mark_seen()
        text = block[offset:end] if offset or end < len(block) else block
        self._block = (len(self._tail), text, offset, first_line, lines)
        window = self._tail + text
        shift = len(self._tail) - offset
        for start, stop in spans.between(offset, end, replies=self._log_type != "receive"):
            self._record(window, start + shift, stop + shift)
        self._tail = (window[1 - LOOKBACK :] if len(window) >= LOOKBACK else window) + "\n"

    def _record(self, window: str, start: int, end: int) -> None:
        line = window[start : min(end, start + MAX_LINE)]
        if self._information(line, window, start):
            return
        parts = self._fields(line)
        if parts is None:
            return
        event = _DIRECTIONS.get(parts[6])
        if event is not None:
            data = parts[7].strip()
            code = data[:3]
            if code[:1] in {"4", "5"} and code.isdigit() and data[3:4] in {" ", "-", ""}:
                self._error_reply(parts, event, data, window, start)
            elif event == "<" and data.startswith("250"):
                self._ehlo_reply(parts, data, window, start)
            elif "XXXX" in data:
                masked = masked_command(data)
                if masked:
                    self._error_reply(parts, event, masked, window, start, EventKind.TLS_FAILURE)
        else:
            self._tls_record(parts, window, start, line)

    def _information(self, line: str, window: str, start: int) -> bool:
        """The frequent information records, handled without splitting the whole record:
        a certificate seen before on the same connector, TLS domain capabilities and the client
        certificate chain status. False when the record needs the full treatment."""
        comma = line.find(",", 25)
        star = line.find(",*,", comma)
        if line[25:26] == '"' or star < 0 or line.count(",", comma, star) != 4:
            return False
        connector, tail = line[25:comma], line[star + 3 :].rstrip("\r")
        if tail.startswith(",TlsDomainCapabilities="):
            self._capabilities(connector, tail[1:])
            return True
        if tail.startswith(",Client certificate chain validation status"):
            status = tail.rsplit(":", 1)[-1].strip().strip("'")
            if status not in _CHAIN_OK:  # only failures are worth reporting
                self._connector(connector).chain_status = status
            return True
        key = self._known.get((connector, tail))
        if key is None:
            return False
        seen_cert = self._certs[key]
        stamp = line[:24]
        seen_cert.count += 1
        seen_cert.first_seen = min(seen_cert.first_seen, stamp)
        seen_cert.last_seen = max(seen_cert.last_seen, stamp)
        if seen_cert.kind is EventKind.CERT_PRESENTED:
            self._connector(connector).latest_cert = key
        if self._lookups.get(key, 0) < MAX_LOOKUPS:
            parts = line.split(",", 6)
            session = self._session(parts)
            self._greetings(session, parts, window, start, key)
            self._learn(seen_cert, session)
        return True

    def _where(self, start: int) -> tuple[tuple[int, str], ...]:
        """The input line (number, text) of the record at window offset `start`, for the
        evidence of what it shows; records from an earlier block are not located."""
        base, text, run_offset, first, lines = self._block
        offset = start - base
        if offset < 0 or not first:
            return ()
        number = first + lines.index(run_offset + offset)
        end = text.find("\n", offset)
        return ((number, clip(text[offset : len(text) if end < 0 else end], 300)),)

    def _connector(self, connector: str) -> _ConnectorSeen:
        seen = self._connectors.get(connector)
        if seen is None:
            seen = self._connectors[connector] = _ConnectorSeen()
        return seen

    def _fields(self, line: str) -> list[str] | None:
        """The nine fields of a record: date-time, connector-id, session-id, sequence-number,
        local-endpoint, remote-endpoint, event, data, context."""
        parts = line.split(",", 7)
        if len(parts) < 8 or parts[1].startswith('"') or parts[6] not in _EVENTS:
            return _csv_fields(line.rstrip("\r"))
        rest = parts[7].rstrip("\r")
        if rest.startswith('"'):
            end = rest.find('"', 1)
            if end < 0 or rest[end + 1 : end + 2] not in ("", ","):  # doubled quotes inside
                return _csv_fields(line.rstrip("\r"))
            data, context = rest[1:end], rest[end + 2 :]
        else:
            data, _, context = rest.partition(",")
        if context.startswith('"'):
            context = context[1:-1].replace('""', '"') if context.endswith('"') else context[1:]
        if "&" in data:
            data = data.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return [*parts[:7], data, context]

    def _mark_seen(self) -> None:
        if not self._seen_log:
            self._seen_log = True
            self._sink.seen(InputKind.PROTOCOL_LOG)

    def _header(self, line: str) -> None:
        name, _, value = line[1:].partition(": ")
        if name not in {"Software", "Version", "Log-type", "Date", "Fields"}:
            return
        self._mark_seen()
        if name == "Log-type":
            lowered = value.lower()
            self._log_type = (
                "send" if "send" in lowered else "receive" if "receive" in lowered else ""
            )

    # -- sessions ------------------------------------------------------------------------------
    def _session(self, parts: list[str]) -> _Session:
        session_id = parts[2]
        session = self._sessions.get(session_id)
        if session is None:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = next(iter(self._sessions))
                self._pending_done(self._sessions.pop(oldest), "")
            session = self._sessions[session_id] = _Session(
                session_id, parts[1], parts[5], parts[4]
            )
            session.log_type = _log_type_of_endpoints(parts[4], parts[5])
        return session

    def _greetings(
        self,
        session: _Session,
        parts: list[str],
        window: str,
        start: int,
        budget_key: tuple[str, ...],
    ) -> None:
        """Look up the session's banner and EHLO in earlier records (a bounded number of times
        per observation, so that a huge log costs no more than a small one)."""
        if session.resolved:
            return
        used = self._lookups.get(budget_key, 0)
        if used >= MAX_LOOKUPS:
            return
        self._lookups[budget_key] = used + 1
        session.resolved = True
        low = max(0, start - LOOKBACK)
        key = f",{parts[2]},"
        position = start
        for _ in range(200):
            found = window.rfind(key, low, position)
            if found < 0:
                break
            position = max(low, window.rfind("\n", low, found) + 1)
            line_end = window.find("\n", found)
            cells = window[found + len(key) : line_end].split(",", 4)
            if len(cells) < 5:
                continue
            event = _DIRECTIONS.get(cells[3])
            if cells[3] == "+":
                break
            if event is not None:
                self._greeting(session, event, cells[4].rstrip("\r"))
        log_type = session.log_type or self._log_type
        if log_type != "send":
            if session.local_name:
                self._banners.setdefault(parts[1], session.local_name)
            else:
                session.local_name = self._banners.get(parts[1], "")

    @staticmethod
    def _greeting(session: _Session, event: str, data: str) -> None:
        """Called from the latest record backwards: the earliest greeting wins."""
        if data.startswith('"'):
            data = data[1:]
        word = data[:5].upper()
        if word in {"EHLO ", "HELO "}:
            name = data[5:].strip().split(" ", 1)[0].split(",", 1)[0]
            if event == "<":  # a client greeted us: receive log
                session.log_type, session.remote_name = "receive", name
            else:
                session.log_type, session.local_name = "send", name
        elif data[:3] == "220" and data[3:4] in {" ", "-"}:
            name = data[4:].strip().split(" ", 1)[0].split(",", 1)[0]
            # "220 2.0.0 SMTP server ready" after STARTTLS; "220 *****" behind SMTP inspection
            if not name or not name[:1].isalpha():
                return
            if event == ">":
                session.log_type, session.local_name = "receive", name
            else:
                session.log_type, session.remote_name = "send", name

    # -- errors --------------------------------------------------------------------------------
    def _error_reply(  # noqa: PLR0917 - the record and where it was found
        self,
        parts: list[str],
        event: str,
        data: str,
        window: str,
        start: int,
        kind: EventKind = EventKind.SMTP_ERROR,
    ) -> None:
        stamp, connector = parts[0], parts[1]
        session = self._session(parts)
        self._pending_done(session, connector)
        reply = find_reply(data)
        self._greetings(session, parts, window, start, ("error", connector, reply.status or ""))
        log_type = session.log_type or self._log_type
        if not session.local_name and log_type != "send":
            session.local_name = self._banners.get(connector, "")
        fields: dict[str, FieldValue] = {
            "connector": connector,
            "server": _server(connector),
            "timestamp": stamp,
            "direction": "sent" if event == ">" else "received",
            "remote_ip": split_endpoint(session.remote_ip)[0],
            "remote_ehlo": session.remote_name if log_type != "send" else "",
            "remote_host": session.remote_name if log_type == "send" else "",
            "fqdn": session.local_name if log_type != "send" else session.remote_name,
            "log_type": log_type,
        }
        self._errors.add(
            InputKind.PROTOCOL_LOG,
            kind,
            data,
            status=reply.status,
            reply_code=reply.reply_code,
            fields=fields,
            locate=lambda: next(iter(self._where(start)), (0, "")),
        )

    def _ehlo_reply(self, parts: list[str], data: str, window: str, start: int) -> None:
        """The peer's EHLO reply in a send log (one record, its lines joined by spaces):
        keywords masked by SMTP inspection, or no STARTTLS before TLS was started."""
        words = data[3:].split()[:_MAX_WORDS]
        problem = ehlo_problem([word.upper() for word in words])
        if problem is None or not words:
            return
        if problem == NOT_ADVERTISED and self._tls_started(parts[2], window, start):
            return  # the EHLO reply after STARTTLS no longer offers it
        session = self._session(parts)
        session.remote_name = session.remote_name or words[0]
        self._error_reply(parts, "<", problem, window, start, EventKind.TLS_FAILURE)

    @staticmethod
    def _tls_started(session_id: str, window: str, start: int) -> bool:
        """Whether an earlier record of the session (within LOOKBACK) shows STARTTLS."""
        low = max(0, start - LOOKBACK)
        key = f",{session_id},"
        position = start
        for _ in range(_MAX_SESSION_RECORDS):
            found = window.rfind(key, low, position)
            if found < 0:
                return False
            line_end = window.find("\n", found)
            record = window[found : line_end if line_end >= 0 else len(window)]
            if "STARTTLS" in record or ",<,220 2.0.0" in record:
                return True
            if ",+," in record:  # the session's first record
                return False
            position = max(low, window.rfind("\n", low, found) + 1)
        return False

    # -- certificates and TLS --------------------------------------------------------------------
    def _tls_record(self, parts: list[str], window: str, start: int, line: str) -> None:
        stamp, connector = parts[0], parts[1]
        data, context = parts[7], parts[8]
        session = self._session(parts)
        if context.startswith(_CERT_TYPES) or context.startswith(_VALIDATED):
            self._pending_done(session, connector)
            if data.strip():  # Exchange 2016+: the whole certificate on this line
                cert = self._parse_one_line(data)
                key = self._certificate(parts, session, context, cert, window, start)
                if key is not None:
                    self._remember(line, key)
            else:
                session.pending_type, session.pending, session.pending_stamp = context, {}, stamp
            return
        detail = _DETAIL.get(context)
        if detail is not None:
            if session.pending_type:
                session.pending[detail] = data.strip()
                if detail == "sans":
                    self._pending_done(session, connector, window, start)
            return
        self._pending_done(session, connector, window, start)
        if context.startswith("TlsDomainCapabilities="):
            self._capabilities(connector, context)
        elif context.startswith("Client certificate chain validation status"):
            status = context.rsplit(":", 1)[-1].strip().strip("'")
            if status not in _CHAIN_OK:
                self._connector(connector).chain_status = status
        elif "TLS negotiation failed" in context or "TLS negotiation failed" in data:
            text = context if "TLS negotiation failed" in context else data
            error = text.strip().rsplit(" ", 1)[-1]
            self._failure(parts, session, error, text.strip(), window, start)

    def _parse_one_line(self, data: str) -> dict[str, str]:
        cached = self._parsed.get(data)
        if cached is None:
            cached = parse_certificate_data(data)
            if len(self._parsed) < MAX_CERTS:
                self._parsed[data] = cached
        return cached

    def _pending_done(
        self, session: _Session, connector: str, window: str = "", start: int = 0
    ) -> None:
        if not session.pending_type:
            return
        context, cert, stamp = session.pending_type, session.pending, session.pending_stamp
        session.pending_type, session.pending, session.pending_stamp = "", {}, ""
        if cert:
            connector = connector or session.connector
            parts = [stamp, connector, session.session_id, "", "", "", "*", "", context]
            self._certificate(parts, session, context, cert, window, start)

    def _certificate(  # noqa: PLR0917 - the record and where it was found
        self,
        parts: list[str],
        session: _Session,
        context: str,
        cert: dict[str, str],
        window: str,
        start: int,
    ) -> tuple[str, ...] | None:
        stamp, connector = parts[0], parts[1]
        own = context.startswith("Sending certificate")
        kind = EventKind.CERT_PRESENTED if own else EventKind.REMOTE_CERT
        identity = cert.get("thumbprint") or f"{cert.get('subject', '')}|{cert.get('serial', '')}"
        key = (kind.value, connector, identity.upper())
        seen = self._certs.get(key)
        if seen is None:
            if len(self._certs) >= MAX_CERTS:
                self.dropped += 1
                return None
            seen = self._certs[key] = _CertSeen(
                kind, connector, cert, first_seen=stamp, evidence=self._where(start)
            )
        if own:
            session.own_cert = key
            self._connector(connector).latest_cert = key
        else:
            session.remote_cert = key
        seen.count += 1
        if stamp:
            seen.first_seen = min(seen.first_seen or stamp, stamp)
            seen.last_seen = max(seen.last_seen, stamp)
        if parts[2] and window:
            self._greetings(session, parts, window, start, key)
        self._learn(seen, session)
        if not own and "protection.outlook.com" in cert.get("subject", "").lower():
            self._connector(connector).exchange_online = True
        return key

    def _learn(self, seen: _CertSeen, session: _Session) -> None:
        """What a session tells about the certificate it saw: names, peers, Exchange Online."""
        own = seen.kind is EventKind.CERT_PRESENTED
        seen.log_type = seen.log_type or session.log_type or self._log_type
        seen.fqdn = seen.fqdn or (session.local_name if own else session.remote_name)
        remote_name = session.remote_name
        if _is_exchange_online(remote_name) and not seen.exchange_online:
            seen.exchange_online = True
            seen.remote_ehlo, seen.remote_ip = remote_name, session.remote_ip
        if not seen.remote_ehlo and remote_name:
            seen.remote_ehlo, seen.remote_ip = remote_name, session.remote_ip
        seen.remote_ip = seen.remote_ip or session.remote_ip
        seen.local_ip = seen.local_ip or session.local_ip

    def _remember(self, line: str, key: tuple[str, ...]) -> None:
        """Later records with the same connector and certificate data take the fast path."""
        comma = line.find(",", 25)
        star = line.find(",*,", comma)
        if line[25:26] != '"' and star > 0 and len(self._known) < MAX_CERTS * 4:
            self._known[(line[25:comma], line[star + 3 :].rstrip("\r"))] = key

    def _capabilities(self, connector: str, context: str) -> None:
        values = self._capability_values.get(context)
        if values is None:
            values = {}
            for part in context.split(";"):
                name, _, value = part.strip().partition("=")
                values[name] = value.strip("'")
            if len(self._capability_values) < MAX_CERTS:
                self._capability_values[context] = values
        capabilities = values.get("TlsDomainCapabilities", "")
        domain = values.get("Domain", "")
        seen = self._connector(connector)
        if not seen.capabilities or (capabilities != "None" and seen.capabilities == "None"):
            seen.capabilities = capabilities
            seen.capability_status = values.get("Status", "")
            seen.capability_domain = domain or seen.capability_domain
        if "AcceptCloudServicesMail" in capabilities or "protection.outlook.com" in domain:
            seen.exchange_online = True

    def _failure(  # noqa: PLR0917 - the record and where it was found
        self,
        parts: list[str],
        session: _Session,
        error: str,
        text: str,
        window: str,
        start: int,
    ) -> None:
        stamp, connector = parts[0], parts[1]
        key = (connector, error)
        seen = self._failures.get(key)
        if seen is None:
            if len(self._failures) >= MAX_FAILURES:
                self.dropped += 1
                return
            seen = self._failures[key] = _FailureSeen(
                connector, error, text, first_seen=stamp, evidence=self._where(start)
            )
        seen.count += 1
        seen.first_seen = min(seen.first_seen or stamp, stamp)
        seen.last_seen = max(seen.last_seen, stamp)
        self._greetings(session, parts, window, start, ("failure", *key))
        own_fqdn = session.local_name if (session.log_type or self._log_type) != "send" else ""
        seen.fqdn = seen.fqdn or own_fqdn or session.remote_name
        seen.remote_ip = seen.remote_ip or session.remote_ip
        seen.remote_ehlo = seen.remote_ehlo or session.remote_name
        seen.log_type = seen.log_type or session.log_type or self._log_type
        if _is_exchange_online(session.remote_name):
            seen.exchange_online = True
            self._connector(connector).exchange_online = True
        cert_key = session.own_cert or self._connector(connector).latest_cert
        cert = self._certs.get(cert_key) if cert_key else None
        if cert is not None and not seen.thumbprint:
            seen.thumbprint = cert.cert.get("thumbprint", "")
            seen.subject = cert.cert.get("subject", "")

    # -- the end ---------------------------------------------------------------------------------
    def finish(self) -> None:
        for session in self._sessions.values():
            self._pending_done(session, "")
        self._sessions.clear()
        for event in self._errors.events():
            self._sink.add_event(event)
        self.dropped += self._errors.dropped
        for seen in self._certs.values():
            connector = self._connectors.get(seen.connector)
            if connector is not None:
                seen.exchange_online = seen.exchange_online or connector.exchange_online
                if seen.kind is EventKind.CERT_PRESENTED:
                    seen.capabilities = connector.capabilities
                    seen.capability_status = connector.capability_status
                    seen.capability_domain = connector.capability_domain
                else:
                    seen.chain_status = connector.chain_status
            self._sink.add_event(_cert_event(seen))
        for failure in self._failures.values():
            self._sink.add_event(_failure_event(failure))


class SpanIndex:
    """Where the lines of a block that the parser splits are: (line start, line end) in order,
    the lines holding one of `_RECEIVE_NEEDLES` or an enhanced status code of class 4 or 5
    within their first MAX_LINE characters; those holding a received multi-line reply (send
    logs only) are searched for when first asked."""

    __slots__ = ("_replies", "_spans", "_starts", "_text")

    def __init__(self, text: str, spans: list[tuple[int, int]] | None = None) -> None:
        self._text = text
        self._spans = _needle_spans(text, _RECEIVE_NEEDLES, codes=True) if spans is None else spans
        self._starts = [start for start, _ in self._spans]
        self._replies: tuple[list[tuple[int, int]], list[int]] | None = None

    @property
    def spans(self) -> list[tuple[int, int]]:
        return self._spans

    def between(self, start: int, end: int, *, replies: bool) -> list[tuple[int, int]]:
        """The spans of the lines that start in text[start:end]; `replies`: with the lines of
        received multi-line replies."""
        found = _slice(self._spans, self._starts, start, end)
        if not replies:
            return found
        if self._replies is None:
            extra = _needle_spans(self._text, _NEEDLES[-1:], codes=False)
            self._replies = extra, [line for line, _ in extra]
        more = _slice(*self._replies, start, end)
        return sorted({**dict(more), **dict(found)}.items()) if more else found


def _slice(
    spans: list[tuple[int, int]], starts: list[int], start: int, end: int
) -> list[tuple[int, int]]:
    return spans[bisect_left(starts, start) : bisect_left(starts, end)]


def _needle_spans(text: str, needles: tuple[str, ...], *, codes: bool) -> list[tuple[int, int]]:
    """(start, end) of the lines of `text` that hold one of `needles` (or, with `codes`, an
    enhanced status code of class 4 or 5) within the first MAX_LINE characters of the line, in
    order."""
    spans: dict[int, int] = {}
    size = len(text)
    find, rfind, startswith, endswith = text.find, text.rfind, text.startswith, text.endswith
    for needle in needles:
        reach = MAX_LINE - len(needle)
        found = find(needle)
        while found >= 0:
            end = find("\n", found)
            if end < 0:
                end = size
            line_start = rfind("\n", 0, found) + 1
            # "Client certificate chain validation status: 'Valid'" (or no certificate at all)
            # is the usual case and tells nothing: skipped here, as _information would.
            if found - line_start <= reach and not (
                startswith(_CHAIN_LINE, found)
                and endswith(_CHAIN_OK_ENDINGS, found, _cr(text, end))
            ):
                spans[line_start] = end
            found = find(needle, end)
    if codes:
        for match in _CLASS_4_OR_5.finditer(text):
            found = match.start()
            line_start = rfind("\n", 0, found) + 1
            if line_start not in spans and found + 3 <= line_start + MAX_LINE:
                end = find("\n", found)
                spans[line_start] = size if end < 0 else end
    return sorted(spans.items())


def _cr(text: str, end: int) -> int:
    """`end` without the CR before it (a document keeps a CR only where nothing folded it)."""
    return end - 1 if end and text[end - 1] == "\r" else end


def masked_command(data: str) -> str | None:
    """The event text for a command whose keyword SMTP inspection replaced with X's (the
    client's `XXXXXXXX` where STARTTLS was), or None when nothing is masked."""
    masked = [
        word.strip("'\"")
        for word in data.split()[:_MAX_WORDS]
        if MASKED.fullmatch(word.strip("'\""))
    ]
    if not masked:
        return None
    return f"Command masked by SMTP inspection (STARTTLS hidden): {' '.join(masked)}"


def _csv_fields(line: str) -> list[str] | None:
    try:
        row = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None
    if len(row) < 8:
        return None
    return [*row[:8], row[8] if len(row) > 8 else ""]


def _cert_event(seen: _CertSeen) -> MailEvent:
    cert = seen.cert
    sans = tuple(name for name in cert.get("sans", "").split(";") if name.strip())[:MAX_ITEMS]
    fields: dict[str, FieldValue] = {
        "connector": seen.connector,
        "server": _server(seen.connector),
        "subject": cert.get("subject", ""),
        "issuer": cert.get("issuer", ""),
        "serial": cert.get("serial", ""),
        "thumbprint": cert.get("thumbprint", "").upper(),
        "not_before": cert.get("not_before", ""),
        "not_after": cert.get("not_after", ""),
        "sans": sans,
        "fqdn": seen.fqdn,
        "remote_ehlo": seen.remote_ehlo,
        "remote_ip": split_endpoint(seen.remote_ip)[0],
        "local_ip": split_endpoint(seen.local_ip)[0],
        "log_type": seen.log_type,
        "exchange_online": "yes" if seen.exchange_online else "no",
        "capabilities": seen.capabilities,
        "capability_status": seen.capability_status,
        "capability_domain": seen.capability_domain,
        "chain_status": seen.chain_status,
        "count": seen.count,
        "first_seen": seen.first_seen,
        "last_seen": seen.last_seen,
    }
    if cert.get("subject") and cert.get("issuer"):
        fields["self_signed"] = "yes" if same_name(cert["subject"], cert["issuer"]) else "no"
    who = seen.connector or "a connector"
    verb = "presented" if seen.kind is EventKind.CERT_PRESENTED else "received"
    text = f"{who} {verb} the certificate {cert.get('subject', '?')}"
    if cert.get("thumbprint"):
        text += f" (thumbprint {cert['thumbprint'].upper()})"
    return _event(seen.kind, text, fields, seen.evidence)


def _failure_event(seen: _FailureSeen) -> MailEvent:
    fields: dict[str, FieldValue] = {
        "connector": seen.connector,
        "server": _server(seen.connector),
        "tls_error": seen.error,
        "fqdn": seen.fqdn,
        "remote_ip": split_endpoint(seen.remote_ip)[0],
        "remote_ehlo": seen.remote_ehlo,
        "thumbprint": seen.thumbprint,
        "subject": seen.subject,
        "exchange_online": "yes" if seen.exchange_online else "no",
        "log_type": seen.log_type,
        "count": seen.count,
        "first_seen": seen.first_seen,
        "last_seen": seen.last_seen,
    }
    return _event(EventKind.TLS_FAILURE, seen.text, fields, seen.evidence)


def _event(
    kind: EventKind,
    text: str,
    fields: dict[str, FieldValue],
    evidence: tuple[tuple[int, str], ...] = (),
) -> MailEvent:
    cleaned = clean_fields(fields)
    return MailEvent(
        InputKind.PROTOCOL_LOG, kind, clip(text, 1000), None, None, MappingProxyType(cleaned),
        evidence,
    )  # fmt: skip


def _server(connector: str) -> str:
    return connector.split("\\", 1)[0] if "\\" in connector else ""


def _is_exchange_online(name: str) -> bool:
    return name.lower().rstrip(".").endswith(_EXO_SUFFIXES)


# -- certificate data and names ------------------------------------------------------------------
def parse_certificate_data(data: str) -> dict[str, str]:
    """Split Exchange 2016+ one-line certificate data: `subject issuer serial thumbprint
    not-before not-after sans` (subject and issuer contain spaces; the rest do not)."""
    text = data.strip()
    tail = text.rsplit(" ", 5)
    if len(tail) == 6 and _is_thumbprint(tail[2]) and _is_stamp(tail[3]) and _is_stamp(tail[4]):
        names, serial, thumbprint, not_before, not_after, sans = tail
    else:
        tail = text.rsplit(" ", 4)  # no SAN list at all
        if len(tail) == 5 and _is_thumbprint(tail[2]) and _is_stamp(tail[3]):
            names, serial, thumbprint, not_before, not_after = tail
            sans = ""
        else:
            return {"subject": text}
    if _is_stamp(sans):  # the SAN list was empty and the split shifted by one
        return parse_certificate_data(text + " ")
    subject, issuer = split_subject_issuer(names)
    return {
        "subject": subject,
        "issuer": issuer,
        "serial": serial,
        "thumbprint": thumbprint.upper(),
        "not_before": not_before,
        "not_after": not_after,
        "sans": sans,
    }


def _is_thumbprint(value: str) -> bool:
    return len(value) == 40 and all(ch in _HEX for ch in value)


def _is_stamp(value: str) -> bool:
    return len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T"


def split_subject_issuer(names: str) -> tuple[str, str]:
    """Find where the issuer starts in `subject issuer`: the first space outside quotes that is
    not part of an RDN separator (`, `) and is followed by an attribute type and `=`."""
    quoted = False
    for index, char in enumerate(names):
        if char == '"':
            quoted = not quoted
        elif (
            char == " "
            and not quoted
            and index > 0
            and names[index - 1] not in ",+"
            and _starts_attribute(names, index + 1)
        ):
            return names[:index], names[index + 1 :]
    return names, ""


def _starts_attribute(text: str, start: int) -> bool:
    end = text.find("=", start, start + 70)
    if end <= start:
        return False
    name = text[start:end]
    return name[:1].isalpha() and all(ch.isalnum() or ch in ".-" for ch in name)


def same_name(subject: str, issuer: str) -> bool:
    """Subject equals issuer attribute by attribute (the kernel's DN reader): self-signed."""
    return dn.same(subject, issuer)


class ProtocolLogReader(Reader):
    """SmtpReceive / SmtpSend protocol logs of Exchange, streamed block by block."""

    name = "protocol_log"
    owns_records = True

    def __init__(self) -> None:
        self._sink = LineSink()
        self._parser = ProtocolLogParser(self._sink)

    def detect(self, document: Document) -> int:
        if has_log_header(document.text):
            return 40
        lines = document.text[:65536].split("\n", 200)[:200]
        return 40 if any(is_record(line) and _SESSION_FIELDS.match(line) for line in lines) else 0

    def parse(self, document: Document) -> list[Fact]:
        split = _split(document)
        indexes = span_indexes(document)
        for segment, (_, starts), spans in zip(document.segments, split, indexes, strict=True):
            self._parser.feed_block(segment.text, segment.first_line, starts, spans)
        return []

    def foreign(self, document: Document) -> Document:
        segments = tuple(part for parts, _ in _split(document) for part in parts)
        if len(segments) == len(document.segments) and all(
            new.text is old.text for new, old in zip(segments, document.segments, strict=True)
        ):
            return document
        return Document(segments, index=document.index, message=document.message, raw=document.raw)

    def finish(self) -> list[Fact]:
        self._parser.finish()
        return self._sink.facts()


SPANS_KEY = "protocol_log.spans"


def span_indexes(document: Document) -> list[SpanIndex]:
    """Per segment, its SpanIndex: computed once per document, unless it was given beforehand
    (`document.cached(SPANS_KEY, [...])`: bot.scan_ahead finds the spans in another process)."""
    indexes = document.cached(
        SPANS_KEY, lambda: [SpanIndex(segment.text) for segment in document.segments]
    )
    assert isinstance(indexes, list)
    return indexes


def _split(document: Document) -> list[tuple[list[Segment], list[int]]]:
    """Per segment: the runs of its lines that are not records (nor the log's own header and
    blank lines), and where its lines that are not records start. Computed once per
    document."""
    split = document.cached(
        "protocol_log.split", lambda: [_foreign_runs(segment) for segment in document.segments]
    )
    assert isinstance(split, list)
    return split


def _foreign_runs(segment: Segment) -> tuple[list[Segment], list[int]]:
    text = segment.text
    starts = non_record_starts(text)
    runs: list[Segment] = []
    lines = LineCounter(text)
    run_start = run_end = -1
    for start in starts:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if run_start < 0 or start != run_end + 1:
            if run_start >= 0:
                _add_run(runs, segment, text[run_start:run_end], lines, run_start)
            run_start = start
        run_end = end
    if run_start >= 0:
        _add_run(runs, segment, text[run_start:run_end], lines, run_start)
    if len(runs) == 1 and runs[0].text == text:
        runs[0] = segment  # nothing of it is a record
    return runs, starts


def _add_run(
    runs: list[Segment], segment: Segment, text: str, lines: LineCounter, offset: int
) -> None:
    """A run of lines the other readers read, unless it is only blank or header lines."""
    if any(
        line.strip() and not (line.startswith("#") and ": " in line) for line in text.split("\n")
    ):
        number = segment.line_number(lines.index(offset))
        runs.append(Segment(text, number, segment.exact, segment.part))
