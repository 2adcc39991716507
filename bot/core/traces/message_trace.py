"""Exchange Online message-trace reasons and message-tracking recipient status.

    Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch]
    [LastAttemptedServerName=mail.contoso.com] [LastAttemptedIP=203.0.113.5:25]
    [AM4PEPF00027A5F.eurprd04.prod.outlook.com 2024-05-06T08:10:11.123Z 08DC6B...]};
    {MSG=SubjectMismatch};{FQDN=mail.contoso.com};{IP=203.0.113.5};{LRT=5/6/2024 8:10:11 AM}].
    OutboundProxyTargetIP: 203.0.113.5. OutboundProxyTargetHostName: mail.contoso.com

Every `{KEY=value}` and every `[Key=Value]` inside the LED becomes a field.
"""

from __future__ import annotations

import re

from bot.core.models import FieldValue
from bot.core.traces.codes import find_reply
from bot.core.traces.events import EventKind, InputKind
from bot.core.traces.sink import EventSink

_BRACE_FIELD = re.compile(r"\{([A-Za-z][A-Za-z0-9_]{0,40})=([^{}]{0,4000})\}")
_BRACKET_FIELD = re.compile(r"\[([A-Za-z][A-Za-z0-9_.-]{0,60})=([^\[\]]{0,2000})\]")
_BRACKET_PLAIN = re.compile(r"\[([^\[\]=]{1,500})\]")
_PROXY = re.compile(r"OutboundProxyTarget(IP|HostName)\s{0,5}[:=]\s{0,5}([^\s,;\]}]{1,255})")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENDPOINT = re.compile(r"^\[?([0-9A-Fa-f.:]{2,45}?)\]?(?::(\d{1,5}))?$")

_BRACE_NAMES = {"LED": "led", "MSG": "msg", "FQDN": "fqdn", "IP": "ip", "LRT": "lrt"}
_BRACKET_NAMES = {"Message": "message", "LastAttemptedServerName": "last_attempted_server"}


def is_trace(line: str) -> bool:
    return "LED=" in line or "{MSG=" in line or "OutboundProxyTarget" in line


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


class MessageTraceParser:
    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    def feed(self, line: str) -> bool:
        if not is_trace(line):
            return False
        fields: dict[str, FieldValue] = {}
        for key, value in _BRACE_FIELD.findall(line):
            name = _BRACE_NAMES.get(key, snake(key))
            fields.setdefault(name, value.strip())
        led = str(fields.get("led", ""))
        for key, value in _BRACKET_FIELD.findall(led):
            if key == "LastAttemptedIP":
                ip, port = split_endpoint(value)
                fields.setdefault("last_attempted_ip", ip)
                if port:
                    fields.setdefault("port", port)
                continue
            fields.setdefault(_BRACKET_NAMES.get(key, snake(key)), value.strip())
        for inner in _BRACKET_PLAIN.findall(led):
            host = inner.split()[0] if inner.split() else ""
            if host.endswith((".outlook.com", ".outlook.cn")):
                fields.setdefault("generating_server", host)
        for which, value in _PROXY.findall(line):
            fields.setdefault(f"outbound_proxy_target_{which.lower()}", value.rstrip("."))
        fields = {name: value for name, value in fields.items() if value}
        if not fields:
            return False
        main = led.split("[", 1)[0].strip() if led else str(fields.get("msg", line))
        reply = find_reply(main)
        if not fields.get("fqdn") and fields.get("last_attempted_server"):
            fields["fqdn"] = fields["last_attempted_server"]
        if not fields.get("ip") and fields.get("last_attempted_ip"):
            fields["ip"] = fields["last_attempted_ip"]
        if not fields.get("message") and fields.get("msg"):
            fields["message"] = fields["msg"]
        self._sink.add(
            InputKind.MESSAGE_TRACE,
            EventKind.SMTP_ERROR,
            main or line,
            status=reply.status,
            reply_code=reply.reply_code,
            fields=fields,
        )
        return True
