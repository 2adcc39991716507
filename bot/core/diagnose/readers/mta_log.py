"""Postfix, Exim and qmail-send log lines about delivery errors and TLS.

Nov 20 09:00:02 mx1 postfix/smtp[2211]: 4QbC2x1yZ: to=<megan.bowen@contoso.com>,
  relay=contoso-com.mail.protection.outlook.com[52.101.40.26]:25, ..., dsn=4.7.5,
  status=deferred (Server certificate not verified)
Nov 20 09:00:02 mx1 postfix/smtp[2211]: certificate verification failed for
  mx.fabrikam.example[203.0.113.7]:25: untrusted issuer /C=US/O=Example/CN=Example CA
2026-11-20 09:00:02 1rXyZa-0004Qm-2B ** megan.bowen@contoso.com R=dnslookup T=remote_smtp
  H=mx.contoso.com [198.51.100.25]: SMTP error from remote mail server after RCPT
  TO:<megan.bowen@contoso.com>: 550 5.1.1 User unknown
2026-11-20 09:00:03 TLS error on connection to mx.fabrikam.example [203.0.113.7]
  (gnutls_handshake): The TLS connection was non-properly terminated.
@4000000055f1380e2efdbb54 starting delivery 17: msg 1234567 to remote user@example.net
@4000000055f1380e336347f4 delivery 17: failure: 203.0.113.25_does_not_like_recipient./
  Remote_host_said:_550_5.1.1_User_unknown/Giving_up_on_203.0.113.25./
  (qmail-log(5): the report with blanks as "_" and line ends as "/"; multilog's TAI64N label
  or splogger's "Nov 15 11:41:13 mail qmail: 1289842873.750403 " in front)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.core.diagnose.codes import find_reply
from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.linesink import EventKind, InputKind, LineSink
from bot.core.models import FieldValue

_POSTFIX = re.compile(r"\bpostfix(?:-[\w.-]{1,40})?/([\w/-]{1,40})\[\d{1,10}\]: (.{0,65000})")
_SYSLOG_TIME = re.compile(
    r"(\w{3} [ \d]\d \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
)
_QUEUE_ID = re.compile(r"([0-9A-F]{6,12}|[0-9A-Za-z]{10,20}): ")
_KEYVALUE = re.compile(r"\b(to|orig_to|relay|dsn|status|from)=(<[^>]{0,500}>|[^,\s]{1,500})")
_RELAY = re.compile(r"([\w.-]{1,253})\[([0-9A-Fa-f.:]{2,45})\](?::(\d{1,5}))?")
_STATUS_DETAIL = re.compile(r"status=(\w{1,20}) \((.{1,4000})\)\s*$")
# ... said: / ... refused to talk to me: (the smtp client's line for a greeting it was refused)
_HOST_SAID = re.compile(r"host ([\w.-]{1,253})\[([0-9A-Fa-f.:]{2,45})\]"
                        r"(?::\d{1,5})? (?:said|refused to talk to me): (.{1,4000}?)"
                        r"(?: \(in reply to (.{1,200}?)(?: command)?\))?$")  # fmt: skip
_CERT_FAILED = re.compile(
    r"certificate verification failed for ([\w.-]{1,253})\[([0-9A-Fa-f.:]{2,45})\]"
    r"(?::(\d{1,5}))?: (.{1,1000})"
)
_NOT_OFFERED = re.compile(r"TLS is required, but (?:was not offered by )?host ([\w.-]{1,253})"
                          r"\[([0-9A-Fa-f.:]{2,45})\](.{0,1000})")  # fmt: skip
_UNTRUSTED = "Untrusted TLS connection established"
_MAX_HOSTS = 500  # hosts remembered for the untrusted-connection bookkeeping
_POSTFIX_TLS = (
    _UNTRUSTED,
    "server certificate not trusted",
    "Server certificate not trusted",
    "server certificate not verified",
    "TLS library problem",
    "SSL_accept error",
    "SSL_connect error",
    "Cannot start TLS",
    "refused to start TLS",
    "TLS handshake failed",
    "lost connection after STARTTLS",
)
# postscreen names the client without a host name and with its port: "from [192.0.2.1]:51234:"
_NOQUEUE = re.compile(r"NOQUEUE: reject: (\w{1,12}) from ([\w.-]{0,253})\[([0-9A-Fa-f.:]{2,45})\]"
                      r"(?::\d{1,5})?: (.{1,4000})")  # fmt: skip
_ENDPOINT = re.compile(r"([\w.-]{1,253})\[([0-9A-Fa-f.:]{2,45})\]")

_EXIM_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d{1,6})?(?: [+-]\d{4})? ")
_EXIM_ID = re.compile(r"[\w]{6}-[\w]{6,11}-[\w]{2,4}")
_POSTFIX_TO = re.compile(r"\bto=<([^<>\s]{1,500})>")
# "1swxyB-000ABE-St => paul@example.net R=dnslookup ...": a delivery (the first address)
_EXIM_DELIVERED = re.compile(r"([\w]{6}-[\w]{6,11}-[\w]{2,4}) => (\S{1,500}?@\S{1,500}?)[\s,]")
_MAX_DELIVERED = 100_000
_EXIM_DELIVERY = re.compile(r" (\*\*|==) (\S{1,500})")
_EXIM_HOST = re.compile(r"H=([\w.-]{1,253}) \[([0-9A-Fa-f.:]{2,45})\](?::(\d{1,5}))?")
_EXIM_ROUTER = re.compile(r"\b([RTX])=(\S{1,200})")
_EXIM_SMTP_ERROR = re.compile(
    r"SMTP error from remote (?:mail server|mailer) after (?:pipelined )?"
    r"([^:]{1,40}(?::<[^>]{0,300}>)?(?: SIZE=\d{1,12})?):"
    r"\s{0,8}(.{1,4000})"
)
_EXIM_COMMAND_ADDRESS = re.compile(r":<([^<>\s]{1,500})>")
_EXIM_TLS_ERROR = re.compile(
    r"TLS error on connection (to|from) ([\w.-]{1,253})? ?(?:\([^)]{0,200}\) )?"
    r"\[([0-9A-Fa-f.:]{2,45})\](?::\d{1,5})? ?(.{0,1000})"
)
_EXIM_TLS = (
    "a TLS session is required, but the server did not offer TLS support",
    "TLS session: (",
    "SSL verify error",
    "certificate verification failed",
    "TLS error on connection",
    "TLS session required",
)
# qmail-send: which recipient and message a delivery number is, the message's sender, the result.
_QMAIL_START = re.compile(
    r"\bstarting delivery (\d{1,12}): msg (\d{1,20}) to (?:local|remote) (\S{1,500})"
)
_QMAIL_INFO = re.compile(r"\binfo msg (\d{1,20}): bytes \d{1,20} from <([^<>\s]{0,500})>")
_QMAIL_END = re.compile(r"\bend msg (\d{1,20})\b")
_QMAIL_RESULT = re.compile(r"\bdelivery (\d{1,12}): (success|failure|deferral): (\S{0,8000})")
_QMAIL_TAI64N = re.compile(r"@(4[0-9a-f]{15})[0-9a-f]{8} ")
_QMAIL_UNIX = re.compile(r" (\d{9,11})\.\d{6} (?:new|info|starting|delivery|bounce|end|status) ")
# Where a report's line ends ("/"), not a slash inside a URL: before a capital, "<", a reply code
# or the end, or after a sentence.
_QMAIL_LINE_END = re.compile(r"/(?=[A-Z<]|\d{3}[- ]|$)|(?<=[.)])/")
_QMAIL_PEER = re.compile(
    r"(?:^|\. )(?:Connected to )?([0-9A-Fa-f.:]{7,45}|[\w.-]{1,253}\.[a-z]{2,63})"
    r" (?:does not like recipient|does not like sender|but sender was rejected"
    r"|failed after I sent the message|but greeting failed|but connection died)"
)
_QMAIL_GIVING_UP = re.compile(r"Giving up on ([0-9A-Fa-f.:]{7,45})\.")
_QMAIL_COMMANDS = (
    ("does not like recipient", "RCPT"),
    ("does not like sender", "MAIL"),
    ("sender was rejected", "MAIL"),
    ("failed after I sent the message", "DATA"),
    ("greeting failed", "CONNECT"),
)
_TAI64_EPOCH = 2**62 + 10  # a TAI64 label of the Unix epoch (libtai: no leap seconds counted)
_MAX_QMAIL = 100_000  # deliveries and messages in flight remembered

# Exim names the host a certificate was checked for at the end: H="mx.fabrikam.example".
_EXIM_VERIFY_HOST = re.compile(r'\bH="([\w.-]{1,253})"')


_POSTFIX_HINTS = (
    "status=",
    "TLS",
    "SSL",
    "certificate",
    "reject",
    " said: ",
    "STARTTLS",
    "refused to talk to me",
)


def _postfix_worth_reading(message: str) -> bool:
    """Most Postfix lines (connect, cleanup, qmgr, sent) tell nothing about errors."""
    for hint in _POSTFIX_HINTS:  # noqa: SIM110 - faster than any() over a generator
        if hint in message:
            return True
    return False


class MtaLogParser:
    def __init__(self, sink: LineSink) -> None:
        self._sink = sink
        # "Untrusted TLS connection established" is only worth a finding of its own when the
        # log holds no certificate failure for that host (with a verify policy both appear).
        self._untrusted: dict[str, tuple[str, dict[str, FieldValue]]] = {}
        self._failed_hosts: set[str] = set()
        # (queue id, recipient) delivered later in the log: its earlier deferrals are history
        self.delivered: set[tuple[str, str]] = set()
        self._qmail_deliveries: dict[str, tuple[str, str]] = {}  # number -> (msg, recipient)
        self._qmail_senders: dict[str, str] = {}  # msg -> sender

    def finish(self) -> None:
        for host, (message, fields) in self._untrusted.items():
            if host not in self._failed_hosts:
                self._tls_failure(InputKind.POSTFIX, message, fields)
        self._untrusted.clear()

    def feed(self, line: str) -> bool:
        if "postfix" in line:
            match = _POSTFIX.search(line)
            if match:
                self._postfix(line, match.group(1), match.group(2))
                return True
        if line[:2].isdigit() and _EXIM_TIME.match(line):
            return self._exim(line)
        if " msg " in line or "delivery " in line:
            return self._qmail(line)
        return False

    # -- Postfix ---------------------------------------------------------------------------------
    def _postfix(self, line: str, program: str, message: str) -> None:
        self._sink.seen(InputKind.POSTFIX)
        if "status=sent" in message:
            queue_id, recipient = _QUEUE_ID.match(message), _POSTFIX_TO.search(message)
            if queue_id and recipient:
                self._delivered(queue_id.group(1), recipient.group(1))
            return
        if not _postfix_worth_reading(message):
            return
        base: dict[str, FieldValue] = {"mta": "postfix", "program": f"postfix/{program}"}
        stamp = _SYSLOG_TIME.match(line)
        if stamp:
            base["timestamp"] = stamp.group(1)
        queue_id = _QUEUE_ID.match(message)
        if queue_id and any(char.isdigit() for char in queue_id.group(1)):
            base["queue_id"] = queue_id.group(1)
            message = message[queue_id.end() :]
        if self._postfix_tls(message, base):
            return
        if "status=" in message:
            self._postfix_status(message, base)
            return
        noqueue = _NOQUEUE.search(message)
        if noqueue:
            fields = {
                **base,
                "smtp_command": noqueue.group(1),
                "client": noqueue.group(2),
                "client_ip": noqueue.group(3),
                "remote_ip": noqueue.group(3),
                "direction": "incoming",  # this server refused a client: its own policy
            }
            self._postfix_addresses(message, fields)
            self._smtp_error(InputKind.POSTFIX, noqueue.group(4).split("; from=", 1)[0], fields)
            return
        said = _HOST_SAID.search(message)
        if said:
            fields = {**base, "remote_server": said.group(1), "ip": said.group(2)}
            if said.group(4):
                fields["smtp_command"] = _command_answered(said.group(4))
            self._smtp_error(InputKind.POSTFIX, said.group(3), fields)

    def _postfix_tls(self, message: str, base: dict[str, FieldValue]) -> bool:
        failed = _CERT_FAILED.search(message)
        if failed:
            fields = {
                **base,
                "remote_server": failed.group(1),
                "ip": failed.group(2),
                "port": failed.group(3) or "",
                "tls_error": failed.group(4),
            }
            self._tls_failure(InputKind.POSTFIX, message, fields)
            return True
        if "status=" not in message:
            offered = _NOT_OFFERED.search(message)
            if offered:
                fields = {
                    **base,
                    "remote_server": offered.group(1),
                    "ip": offered.group(2),
                    "tls_error": "STARTTLS not offered",
                }
                self._tls_failure(InputKind.POSTFIX, message, fields)
                return True
            for phrase in _POSTFIX_TLS:
                if phrase in message:
                    fields = {**base, "tls_error": phrase}
                    endpoint = _ENDPOINT.search(message)
                    if endpoint:
                        fields["ip"] = endpoint.group(2)
                        if endpoint.group(1) != "unknown":
                            fields["remote_server"] = endpoint.group(1)
                    if phrase != _UNTRUSTED:
                        self._tls_failure(InputKind.POSTFIX, message, fields)
                    elif len(self._untrusted) < _MAX_HOSTS:
                        self._untrusted.setdefault(str(fields.get("ip", "")), (message, fields))
                    return True
        return False

    def _postfix_status(self, message: str, base: dict[str, FieldValue]) -> None:
        values = dict(_KEYVALUE.findall(message))
        detail = _STATUS_DETAIL.search(message)
        outcome = values.get("status", "")
        if outcome in {"sent", "deliverable", "expired"} and outcome != "expired":
            return
        fields = {**base, "delivery_status": outcome}
        self._postfix_addresses(message, fields)
        relay = _RELAY.match(values.get("relay", ""))
        if relay:
            fields.update(remote_server=relay.group(1), ip=relay.group(2))
            if relay.group(3):
                fields["port"] = relay.group(3)
        text = detail.group(2) if detail else message
        said = _HOST_SAID.search(text)
        if said:
            text = said.group(3)
            fields.update(remote_server=said.group(1), ip=said.group(2))
            if said.group(4):
                fields["smtp_command"] = _command_answered(said.group(4))
        if "ip" not in fields:
            endpoint = _ENDPOINT.search(text)
            if endpoint:
                fields.update(remote_server=endpoint.group(1), ip=endpoint.group(2))
        status = values.get("dsn")
        if "TLS is required" in text or "certificate" in text.lower() or "TLS" in text:
            fields["tls_error"] = text
        self._smtp_error(InputKind.POSTFIX, text, fields, status)

    @staticmethod
    def _postfix_addresses(message: str, fields: dict[str, FieldValue]) -> None:
        for key, value in _KEYVALUE.findall(message):
            address = value.strip("<>")
            if key == "to" and address:
                fields.setdefault("recipient", address)
            elif key == "orig_to" and address:
                fields.setdefault("original_recipient", address)
            elif key == "from" and address:
                fields.setdefault("sender", address)

    # -- Exim ------------------------------------------------------------------------------------
    def _delivered(self, queue_id: str, recipient: str) -> None:
        if len(self.delivered) < _MAX_DELIVERED:
            self.delivered.add((queue_id, recipient.lower()))

    def _exim(self, line: str) -> bool:
        stamp = _EXIM_TIME.match(line)
        rest = line[stamp.end() :] if stamp else line
        if " => " in rest:
            delivered = _EXIM_DELIVERED.match(rest)
            if delivered:
                self._delivered(delivered.group(1), delivered.group(2))
                return True
        base: dict[str, FieldValue] = {"mta": "exim"}
        if stamp:
            base["timestamp"] = stamp.group(1)
        message_id = _EXIM_ID.match(rest)
        if message_id:
            base["queue_id"] = message_id.group(0)
        tls = _EXIM_TLS_ERROR.search(rest)
        if tls:
            fields = {
                **base,
                "direction": "outgoing" if tls.group(1) == "to" else "incoming",
                "remote_server": tls.group(2) or "",
                "ip": tls.group(3),
                "tls_error": tls.group(4).lstrip(": "),
            }
            self._tls_failure(InputKind.EXIM, rest, fields)
            return True
        delivery = _EXIM_DELIVERY.search(rest)
        host = _EXIM_HOST.search(rest)
        for phrase in _EXIM_TLS:
            if phrase in rest:
                fields = {**base, "tls_error": rest[rest.index(phrase) :]}
                verified = _EXIM_VERIFY_HOST.search(rest)
                if host:
                    fields.update(remote_server=host.group(1), ip=host.group(2))
                elif verified:
                    fields["remote_server"] = verified.group(1)
                if delivery:
                    fields["recipient"] = delivery.group(2)
                self._tls_failure(InputKind.EXIM, rest, fields)
                return True
        if delivery is None:
            return self._exim_attempt(rest, base, host)
        outcome = "bounced" if delivery.group(1) == "**" else "deferred"
        # "** a@b.example: Unrouteable address": the address ends before the colon
        fields = {**base, "recipient": delivery.group(2).rstrip(":"), "delivery_status": outcome}
        for key, value in _EXIM_ROUTER.findall(rest):
            fields[{"R": "router", "T": "transport", "X": "tls_cipher"}[key]] = value.rstrip(":")
        if host:
            fields.update(remote_server=host.group(1), ip=host.group(2))
        smtp_error = _EXIM_SMTP_ERROR.search(rest)
        if smtp_error:
            fields["smtp_command"] = smtp_error.group(1)
            text = smtp_error.group(2)
        else:
            text = rest.rsplit(": ", 1)[-1] if ": " in rest else rest
        self._smtp_error(InputKind.EXIM, text, fields)
        return True

    def _exim_attempt(
        self, rest: str, base: dict[str, FieldValue], host: re.Match[str] | None
    ) -> bool:
        """An SMTP error Exim logs for one attempt on its own line, before (or instead of) the
        `==`/`**` line: "[H=mx [ip]:] SMTP error from remote mail server after RCPT TO:<a>: 550
        ..." (cPanel's exim_mainlog shows Yahoo's TSS04 this way). Exim retries a 4xx and
        bounces a 5xx."""
        smtp_error = _EXIM_SMTP_ERROR.search(rest)
        if smtp_error is None:
            return False
        command, text = smtp_error.group(1), smtp_error.group(2)
        reply = find_reply(text)
        fields: dict[str, FieldValue] = {**base, "smtp_command": command}
        fields["delivery_status"] = "bounced" if (reply.reply_code or "4")[0] == "5" else "deferred"
        address = _EXIM_COMMAND_ADDRESS.search(command)
        if address:
            role = "recipient" if command.upper().startswith("RCPT") else "sender"
            fields[role] = address.group(1)
        if host:
            fields.update(remote_server=host.group(1), ip=host.group(2))
        self._smtp_error(InputKind.EXIM, text, fields)
        return True

    # -- qmail-send -------------------------------------------------------------------------------
    def _qmail(self, line: str) -> bool:
        result = _QMAIL_RESULT.search(line)
        if result is None:
            return self._qmail_bookkeeping(line)
        self._sink.seen(InputKind.QMAIL)
        number, outcome, report = result.groups()
        message, recipient = self._qmail_deliveries.pop(number, ("", ""))
        if outcome == "success":
            if message and recipient:
                self._delivered(message, recipient)
            return True
        fields: dict[str, FieldValue] = {
            "mta": "qmail",
            "delivery_status": "bounced" if outcome == "failure" else "deferred",
        }
        stamp = _qmail_time(line)
        if stamp:
            fields["timestamp"] = stamp
        if message:
            fields["queue_id"] = message
            sender = self._qmail_senders.get(message)
            if sender:
                fields["sender"] = sender
        if recipient:
            fields["recipient"] = recipient
        self._smtp_error(InputKind.QMAIL, _qmail_reply(_qmail_text(report), fields), fields)
        return True

    def _qmail_bookkeeping(self, line: str) -> bool:
        started = _QMAIL_START.search(line)
        if started:
            if len(self._qmail_deliveries) < _MAX_QMAIL:
                number, message, recipient = started.groups()
                self._qmail_deliveries[number] = (message, recipient)
            return True
        info = _QMAIL_INFO.search(line)
        if info:
            if len(self._qmail_senders) < _MAX_QMAIL and info.group(2):
                self._qmail_senders[info.group(1)] = info.group(2)
            return True
        ended = _QMAIL_END.search(line)
        if ended:
            self._qmail_senders.pop(ended.group(1), None)
            return True
        return False

    # -- events ----------------------------------------------------------------------------------
    def _note_certificate_failure(self, fields: dict[str, FieldValue]) -> None:
        error, ip = fields.get("tls_error"), fields.get("ip")
        if (
            isinstance(error, str)
            and isinstance(ip, str)
            and "certificate" in error.lower()
            and len(self._failed_hosts) < _MAX_HOSTS
        ):
            self._failed_hosts.add(ip)

    def _smtp_error(
        self,
        source: InputKind,
        text: str,
        fields: dict[str, FieldValue],
        status: str | None = None,
    ) -> None:
        reply = find_reply(text)
        self._note_certificate_failure(fields)
        if "remote_server" in fields:
            fields.setdefault("fqdn", fields["remote_server"])
        self._sink.add(
            source,
            EventKind.SMTP_ERROR,
            text,
            status=reply.status or status,
            reply_code=reply.reply_code,
            fields=fields,
        )

    def _tls_failure(self, source: InputKind, text: str, fields: dict[str, FieldValue]) -> None:
        reply = find_reply(text)
        self._note_certificate_failure(fields)
        if fields.get("remote_server"):
            fields.setdefault("fqdn", fields["remote_server"])
        self._sink.add(
            source,
            EventKind.TLS_FAILURE,
            text.strip(),
            status=reply.status,
            reply_code=reply.reply_code,
            fields=fields,
        )


# A Postfix syslog line, or a line that starts with an Exim-style time stamp. Two patterns with a
# literal start each ("postfix", a newline) instead of one alternation: the regex engine then
# skips to candidates at C speed.
_POSTFIX_MARK = re.compile(r"\bpostfix(?:-[\w.-]{1,40})?/[\w/-]{1,40}\[\d{1,10}\]: ")
_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_STAMP_FIRST = re.compile(_STAMP)
_STAMP_LINE = re.compile("\n" + _STAMP)
_QMAIL_MARK = re.compile(
    r"\bdelivery \d{1,12}: (?:failure|deferral|success): \S|\bstarting delivery \d{1,12}: msg \d"
)


_NOT_EXIM = ("CLIENT -> SERVER", "SERVER -> CLIENT", "SMTP ERROR", "SMTP NOTICE", "SMTP Error")
_POLICY_SERVICE = re.compile(
    r"(?<![\w-])(?:policyd-spf|policyd-weight|postgrey|postfwd|policyd)\[\d{1,10}\]: "
)


def _marked(text: str) -> bool:
    return bool(
        ("postfix" in text and _POSTFIX_MARK.search(text))
        or _STAMP_FIRST.match(text)
        or _STAMP_LINE.search(text)
        or ("delivery " in text and _QMAIL_MARK.search(text))
    )


def _qmail_text(report: str) -> str:
    """A qmail-send report as the lines qmail-remote wrote, joined by blanks."""
    lines = _QMAIL_LINE_END.split(report.replace("_", " "))
    return " ".join(part.strip() for part in lines if part.strip())


def _qmail_reply(text: str, fields: dict[str, FieldValue]) -> str:
    """The remote server's reply in a qmail-remote report (the whole report when it has none),
    with the peer and the command it answered put into `fields`."""
    peer = _QMAIL_PEER.search(text) or _QMAIL_GIVING_UP.search(text)
    if peer:
        name = peer.group(1)
        fields["ip" if name[:1].isdigit() or ":" in name else "remote_server"] = name
    for phrase, command in _QMAIL_COMMANDS:
        if phrase in text:
            fields["smtp_command"] = command
            break
    said = text.find("Remote host said: ")
    if said < 0:
        return text
    reply = text[said + len("Remote host said: ") :]
    giving_up = reply.find(" Giving up on ")
    return reply[:giving_up] if giving_up > 0 else reply


def _qmail_time(line: str) -> str:
    """The time of a qmail-send line (multilog's TAI64N label, or splogger's Unix seconds), as
    ISO 8601 UTC."""
    tai = _QMAIL_TAI64N.match(line)
    unix = _QMAIL_UNIX.search(line) if tai is None else None
    if tai is not None:
        seconds = int(tai.group(1), 16) - _TAI64_EPOCH
    elif unix is not None:
        seconds = int(unix.group(1))
    else:
        return ""
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _command_answered(words: str) -> str:
    """Postfix's "(in reply to end of DATA command)" answers DATA, "RCPT TO" answers RCPT."""
    upper = words.upper().split()
    return "DATA" if "DATA" in upper else (upper[0] if upper else words)


def is_log_line(line: str) -> bool:
    """A Postfix, Exim or qmail-send log line (what MtaLogParser reads), or one of the local
    policy services Postfix asks (policyd-spf, postgrey, ...): their verdict on an incoming
    message is this server's own, and smtpd's NOQUEUE line for it follows."""
    if "postfix" in line and _POSTFIX.search(line):
        return True
    if ("policyd" in line or "postgrey" in line or "postfwd" in line) and _POLICY_SERVICE.search(
        line
    ):
        return True
    if "delivery " in line and _QMAIL_RESULT.search(line):
        return True
    if not line[:2].isdigit():
        return False
    stamp = _EXIM_TIME.match(line)
    # PHPMailer's debug output has the same time stamp: "... SMTP ERROR: RCPT TO command failed"
    return stamp is not None and not line.startswith(_NOT_EXIM, stamp.end())


class MtaLogReader(Reader):
    """Postfix, Exim and qmail-send log lines (one reader: a paste often mixes both sides of a
    hop)."""

    name = "mta_log"

    def __init__(self) -> None:
        self._sink = LineSink()
        self._parser = MtaLogParser(self._sink)

    def detect(self, document: Document) -> int:
        return 30 if _marked(document.text[:65536]) else 0

    def parse(self, document: Document) -> list[Fact]:
        sink, parser = self._sink, self._parser
        for segment in document.segments:
            for index, line in enumerate(segment.text.split("\n")):
                if (
                    "postfix" in line
                    or (line[:2].isdigit() and line[4:5] == "-")
                    or " msg " in line
                    or "delivery " in line
                ):
                    sink.line, sink.line_text = segment.line_number(index), line
                    parser.feed(line[:65536])
        return self._pending(sink.facts())  # per window: other readers' facts of a line merge in

    def finish(self) -> list[Fact]:
        self._parser.finish()
        return self._pending(self._sink.facts())

    def _pending(self, facts: list[Fact]) -> list[Fact]:
        """Without the deferrals of a recipient that the log shows delivered afterwards."""
        delivered = self._parser.delivered
        if not delivered:
            return facts
        queues = {queue for queue, _ in delivered}
        pending = (_still_pending(fact, delivered, queues) for fact in facts)
        return [fact for fact in pending if fact is not None]


def _still_pending(fact: Fact, delivered: set[tuple[str, str]], queues: set[str]) -> Fact | None:
    """A temporary failure without the recipients the log shows delivered afterwards (None when
    that leaves none). A line that names no recipient (Postfix's "host X said: 451 ..." before
    it tries the next MX) counts as delivered when its queue id was."""
    queue = str(fact.extra.get("queue_id", ""))
    if not queue or fact.action == "failed" or not (fact.status or "4").startswith("4"):
        return fact
    if not fact.recipient:
        return None if queue in queues else fact
    listed = fact.extra.get("recipients")
    everyone = list(listed) if isinstance(listed, tuple) else [fact.recipient]
    left = [r for r in everyone if (queue, str(r).lower()) not in delivered]
    if len(left) == len(everyone):
        return fact
    if not left:
        return None
    extra = {k: v for k, v in fact.extra.items() if k != "recipients"}
    if len(left) > 1:
        extra["recipients"] = tuple(left)
    removed = len(everyone) - len(left)
    return fact.with_(recipient=str(left[0]), extra=extra, count=max(1, fact.count - removed))
