"""Enrich: what the text of a fact says without a label, for every fact whatever its reader.

- the chain of nested replies (`LED=450 4.7.320 ...`, `... -> 421 4.4.1 ...`, "responded with",
  "Remote server returned '550 ...'", "said: 550 ...", `[Message=451 5.7.3 ...]`, `(#5.5.0)`);
- the codes when the reader found none (the first reply code / status of the text);
- the SMTP command the reply answered ("in reply to RCPT TO command", "after end of data",
  `>>> RCPT To:`, "did not like our final DATA", "for RCPT TO response");
- the remote host and its IP ("host mx.example.net[192.0.2.1] said", "by mx [ip]",
  `[LastAttemptedServerName=...]`, `{FQDN=...};{IP=...}`);
- the sender's IP a rejection names ("Client host [192.0.2.1] blocked"; see
  config/knowledge/sending_ip.toml);
- `[Key=Value]` and `{KEY=value}` facts;
- defaults from the message a bounce came in (sender, subject, message id, reporting MTA);
- the provider behind the remote host or reporting MTA is decided after enrich, by
  reasons.provider_of (config/reasons/providers: hosts, recipient domain, reply marks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.diagnose import codes
from bot.core.diagnose.fact import Fact, Reply, clip
from bot.core.diagnose.readers.common import address_in, host_and_ip, ip_value
from bot.core.diagnose.sending_ip import sending_ip_in

MAX_REPLIES = 8
_SCAN = 4000  # characters of a diagnostic looked at

_CODE_AT = re.compile(
    r"(?<![\w.])(?:(?P<reply>[245]\d\d)(?:[ -]{1,2}|(?=\s*$))"
    r"(?:#?(?P<status>[245]\.\d{1,3}\.\d{1,3})(?!\.?\d))?"
    r"|#?(?P<bare>[245]\.\d{1,3}\.\d{1,3})(?!\.?\d))"
)
# (pattern, command, words): every text the pattern matches contains one of the words in lower
# case, so an ASCII text with none of them is not searched (the patterns' alternations, under
# IGNORECASE, leave the regex engine nothing to skip ahead with).
_COMMANDS = (
    (re.compile(r"in reply to (?:end of )?data\b|after end of data|final data|after data\b"
                r"|>>> data|for data response|message content rejected|end of data", re.I), "DATA",
     ("data", "message content rejected")),
    (re.compile(r"in reply to rcpt to|after rcpt to|>>> rcpt|rcpt to response|rcpt to:?<"
                r"|\brcpt to command|for rcpt to", re.I), "RCPT", ("rcpt",)),
    (re.compile(r"in reply to mail from|after mail from|>>> mail from|mail from response"
                r"|\bmail from command|for mail from", re.I), "MAIL", ("mail from",)),
    (re.compile(r"in reply to (?:ehlo|helo)|after (?:ehlo|helo)|>>> (?:ehlo|helo)"
                r"|(?:ehlo|helo) response", re.I), "EHLO", ("ehlo", "helo")),
    (re.compile(r"\bstarttls\b|tls negotiation|handshake", re.I), "STARTTLS",
     ("starttls", "tls negotiation", "handshake")),
    (re.compile(r"\bauth(?:entication)? (?:command|failed)|in reply to auth", re.I), "AUTH",
     ("auth",)),
    (re.compile(r"after initial connection|connection greeting"
                r"|in reply to (?:the )?(?:banner|greeting)|while connecting|smtp greeting"
                r"|after connect", re.I), "CONN", ("connect", "greeting", "banner")),
)  # fmt: skip
_REMOTE = (
    re.compile(r"\bhost\s+(?P<host>[A-Za-z0-9.-]{3,255})\s*\[(?P<ip>[0-9A-Fa-f:.]{3,45})\]", re.I),
    re.compile(r"\bby\s+(?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})\.?\s*\[(?P<ip>[0-9A-Fa-f:.]{3,45})\]"),
    re.compile(r"\bremote host\s+(?P<ip>\d{1,3}(?:\.\d{1,3}){3})\b", re.I),
    re.compile(r"\bwhile talking to\s+(?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})\.?", re.I),
    # Exim (cPanel builds): "SMTP error from remote server for RCPT TO command, host: mx.example
    # (192.0.2.1) reason: 550 ..."
    re.compile(r"\bhost: (?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})"
               r" \((?P<ip>[0-9A-Fa-f:.]{3,45})\) reason: "),
    # qmail-send: "198.51.100.12 does not like recipient.", "Connected to 192.0.2.1 but ..."
    re.compile(r"(?:^|\s)(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) does not like (?:recipient|sender)"),
    re.compile(r"\bConnected to (?P<ip>\d{1,3}(?:\.\d{1,3}){3}) but "),
    # Google: "[mail.contoso.example 203.0.113.9: timed out]", the name also with its final dot
    re.compile(r"\[(?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})\.?"
               r" (?P<ip>[0-9A-Fa-f:.]{3,45}): "),
    re.compile(r"\b(?:LastAttemptedServerName|FQDN|RemoteHost|TargetHost|Server)=(?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})"),
    re.compile(r"\b(?:LastAttemptedIP|IP|RemoteIP|TargetIP)=(?P<ip>[0-9A-Fa-f:.]{3,45})\b"),
    re.compile(r"\b(?P<host>[A-Za-z0-9.-]{3,255}\.[A-Za-z]{2,63})\s*\[(?P<ip>\d{1,3}(?:\.\d{1,3}){3})\]"),
)  # fmt: skip
_KEY_VALUE = re.compile(r"[\[{]([A-Za-z][A-Za-z0-9_]{1,40})=([^\]\[{}]{0,500})[\]}]")
# 5.4.317: Exchange Online's "Message expired, cannot connect to remote server" after a day of
# 4.4.317 attempts (5.4.316 has a cause of its own: exo.connector.refused)
_WRAPPERS = frozenset({"4.4.7", "5.4.7", "4.0.0", "5.0.0", "4.4.0", "5.4.0", "5.4.300", "5.4.317"})


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Facts of the bounce message itself, defaults for every fact read from it."""

    sender: str | None = None
    recipient: str | None = None  # the original's To:, for reports that name no recipient
    reporting_mta: str | None = None
    timestamp: str | None = None
    extra: Mapping[str, str] | None = None


def enrich(fact: Fact, context: MessageContext | None = None) -> Fact:
    changes: dict[str, object] = {}
    if "-" in fact.diagnostic[:_SCAN]:
        joined = codes.joined_multiline(fact.diagnostic)
        if joined != fact.diagnostic:
            changes["diagnostic"] = joined
    text = str(changes.get("diagnostic", fact.diagnostic))[:_SCAN]
    replies = reply_chain(text) if text else ()
    if replies and len(replies) > len(fact.replies):
        changes["replies"] = replies
    if text and not (fact.status or fact.reply_code) and replies:
        changes["status"] = replies[0].status
        changes["reply_code"] = replies[0].reply_code
    elif text and fact.status and not fact.reply_code:
        code = _reply_for(fact.status, replies)
        if code:
            changes["reply_code"] = code
    if text and not fact.command:
        command = command_of(text)
        if command:
            changes["command"] = command
    if text and not (fact.remote_host and fact.ip):
        host, ip = remote_of(text)
        if host and not fact.remote_host:
            changes["remote_host"] = host
        if ip and not fact.ip:
            changes["ip"] = ip
    if not fact.action and codes.DELAY_NOTICE in text:
        changes["action"] = "delayed"  # the notice itself: still being retried
    extra = _key_values(text) if "=" in text or "Presented Subject" in text else {}
    sending = sending_ip_in(text) if text and "sending_ip" not in fact.extra else None
    if sending:
        extra["sending_ip"] = sending
    if text and not fact.sender and ("domain" in text or "SPF policy" in text):
        domain = _sending_domain_in(text)
        if domain:
            extra.setdefault("sender_domain", domain)
    if context is not None:
        _apply_context(fact, context, changes, extra)
    if extra:
        merged = {**extra, **fact.extra}
        if merged != dict(fact.extra):
            changes["extra"] = merged
    return fact.with_(**changes) if changes else fact


def _apply_context(
    fact: Fact, context: MessageContext, changes: dict[str, object], extra: dict[str, str]
) -> None:
    if not fact.sender and context.sender and context.sender != fact.recipient:
        changes["sender"] = context.sender
    if not fact.reporting_mta and context.reporting_mta:
        changes["reporting_mta"] = context.reporting_mta
    if not fact.timestamp and context.timestamp:
        changes["timestamp"] = context.timestamp
    for name, value in (context.extra or {}).items():
        if value and name not in fact.extra:
            extra.setdefault(name, value)


def reply_chain(text: str) -> tuple[Reply, ...]:
    """Every (reply code, status) found in `text`, outermost first, each with its text up to
    the next one. A reply code alone counts when it opens the text or follows a marker."""
    found: list[tuple[int, int, str | None, str | None]] = []
    for match in _CODE_AT.finditer(text):
        reply, status = match.group("reply"), match.group("status") or match.group("bare")
        if reply and not status and not _reply_position(text, match.start()):
            continue
        found.append((match.start(), match.end(), reply, status))
        if len(found) >= MAX_REPLIES * 3:
            break
    chain: list[Reply] = []
    for index, (start, _end, reply, status) in enumerate(found):
        stop = found[index + 1][0] if index + 1 < len(found) else len(text)
        piece = _unquoted(text, start, stop).strip(" ;,:'\"[]{}()")
        if (
            chain
            and chain[-1].status == status
            and (reply is None or chain[-1].reply_code == reply)
        ):
            continue  # the multi-line reply "550-5.7.26 ... 550 5.7.26 ..." is one reply
        if chain and reply is None and chain[-1].status is None and status:
            chain[-1] = Reply(chain[-1].reply_code, status, chain[-1].text + " " + piece)
            continue
        chain.append(Reply(reply, status, clip(piece, 1000)))
        if len(chain) >= MAX_REPLIES:
            break
    return tuple(chain)


def _unquoted(text: str, start: int, stop: int) -> str:
    """The reply at `start` up to `stop`; a reply quoted in the text ('responded with: "421 4.4.1
    Connection timed out." Attempted failover ...') ends at its closing quote."""
    quote = text[start - 1] if start else ""
    if quote not in _QUOTES:
        return text[start:stop]
    closing = _CLOSING_QUOTE[quote].search(text, start, stop)
    return text[start : closing.start()] if closing else text[start:stop]


_QUOTES = frozenset("\"'\u201c")
# A closing quote: not inside a word ("User's mailbox", "doesn't"), so followed by the end, a
# blank or punctuation.
_CLOSING_QUOTE = {
    quote: re.compile(re.escape(closing) + r"(?=$|[\s.,;:)\]])")
    for quote, closing in (('"', '"'), ("'", "'"), ("\u201c", "\u201d"))
}


def _reply_position(text: str, start: int) -> bool:
    before = text[max(0, start - 30) : start].lower().rstrip(" '\"([{:=>")
    return (
        start == 0
        or not before
        or before.endswith(
            (
                "said",
                "returned",
                "with",
                "led",
                "error",
                "<<<",
                "reply",
                "->",
                "response",
                "message",
                "reason",
                "was",
            )
        )
        or text[max(0, start - 1) : start] in ("\n", "'", '"', "=", "(")
    )


def _reply_for(status: str, replies: Sequence[Reply]) -> str | None:
    for reply in replies:
        if reply.reply_code and (reply.status == status or reply.status is None):
            return reply.reply_code
    return None


def command_of(text: str) -> str | None:
    """The SMTP command a reply answered: what the text says outright ("in reply to RCPT TO
    command", the last `>>> CMD` of a transcript), else the last command word it mentions."""
    transcript = _TRANSCRIPT.findall(text)
    if transcript:
        return _command_name(transcript[-1])
    command = named_command(text)
    if command is not None:
        return command
    last: tuple[int, str] | None = None
    for found in _COMMAND_WORD.finditer(text):
        if last is None or found.start() >= last[0]:
            last = (found.start(), _command_name(found.group(1)))
    return last[1] if last else None


_TRANSCRIPT = re.compile(r">>> ?(EHLO|HELO|MAIL|RCPT|DATA|QUIT|STARTTLS|AUTH|BDAT)\b", re.I)
# Command words as Sisimai's command.Find looks for them, not inside a longer word.
_COMMAND_WORD = re.compile(
    r"(?<![A-Za-z0-9])(HELO|EHLO|STARTTLS|AUTH (?:PLAIN|LOGIN|CRAM-|DIGEST-)|MAIL F|RCPT|DATA"
    r"|QUIT|XFORWARD)(?![A-Za-z0-9])"
)


def named_command(text: str) -> str | None:
    """The command of the first of _COMMANDS whose pattern finds its phrase in `text`."""
    lowered = text.lower() if text.isascii() else None
    for pattern, command, words in _COMMANDS:
        if lowered is not None and not any(word in lowered for word in words):
            continue
        if pattern.search(text):
            return command
    return None


def _command_name(token: str) -> str:
    return token.upper().split(" ", 1)[0]


def remote_of(text: str) -> tuple[str | None, str | None]:
    host: str | None = None
    ip: str | None = None
    for pattern in _REMOTE:
        found = pattern.search(text)
        if found is None:
            continue
        groups = found.groupdict()
        if host is None and groups.get("host"):
            name = groups["host"].lower().rstrip(".")
            if ip_value(name) is None and "@" not in name:
                host = name
        if ip is None and groups.get("ip"):
            ip = ip_value(groups["ip"])
        if host and ip:
            break
    return host, ip


def _key_values(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in _KEY_VALUE.findall(text):
        key = _snake(name)
        if key not in out and value.strip():
            out[key] = clip(" ".join(value.split()), 300)
        if len(out) >= 30:
            break
    presented = _PRESENTED.search(text)  # [Message=SubjectMismatch ... Thumbprint: ...]
    if presented:
        out.setdefault("subject", " ".join(presented.group(1).split()))
        if presented.group(2):
            out.setdefault("thumbprint", presented.group(2).upper())
    return out


# "Expected Subject: *.contoso.com. Presented Subject: CN=EX01. Thumbprint: D0AC2F...": the
# certificate the server presented, as Exchange Online's 4.4.317 / 4.7.320 details name it.
_PRESENTED = re.compile(
    r"Presented Subject:\s{1,4}(.{1,400}?)\.?(?:\s{1,4}Thumbprint:\s{1,4}([0-9A-Fa-f]{32,40})|\]|$)"
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def prefer_status(fact: Fact) -> Fact:
    """The status a fact reports: its reader's (a DSN's Status field) or the code its text
    holds, whichever is more specific (Sisimai's status.Prefer, config/reasons/README.md)."""
    intext = codes.status_in(fact.diagnostic[:_SCAN]) if fact.diagnostic else None
    chosen = prefer(fact.status or "", intext or "", fact.reply_code or "")
    return fact.with_(status=chosen) if chosen and chosen != fact.status else fact


def prefer(field: str, intext: str, reply: str) -> str:
    if not field:
        return intext
    if not intext or field == intext:
        return field
    if len(field) < 5:
        return intext
    if len(intext) < 5:
        return field
    if field[0] != intext[0] and reply[:1] in (field[0], intext[0]):
        return field if reply[0] == field[0] else intext
    if field.endswith(".0.0"):
        return field if intext.endswith(".0.0") else intext
    parts = field.split(".")
    if (parts[1] == "0" or parts[2] == "0") and ".0" not in intext:
        return intext
    if intext.endswith(".0.0"):
        return field
    if field in ("4.4.7", "4.7.0") or field.startswith("5.3.") or field[1:] in (
        ".5.1", ".5.2", ".5.4", ".5.5",
    ):  # fmt: skip
        return intext
    if field == "5.1.1":
        return field if ".0" in intext or intext.startswith("5.5.") else intext
    if field == "5.1.3" and intext.startswith("5.7."):
        return intext
    return field


def is_wrapper(status: str | None) -> bool:
    """Codes that say only that something failed or expired: the story is inside."""
    return status in _WRAPPERS


def inner_status(fact: Fact) -> Reply | None:
    """The innermost specific reply of the chain, when the fact's own code only wraps it."""
    for reply in reversed(fact.replies):
        if reply.status and reply.status != fact.status and not is_wrapper(reply.status):
            return reply
    return None


def recipient_from_text(fact: Fact) -> str | None:
    found = address_in(fact.diagnostic)
    return found if found and found != fact.sender else None


def host_ip(text: str) -> tuple[str | None, str | None]:
    return host_and_ip(text)


__all__ = [
    "MessageContext",
    "codes",
    "enrich",
    "inner_status",
    "is_wrapper",
    "reply_chain",
]


# Replies that name the sender's domain without an address: Exchange Online's "sending domain
# EXAMPLE.JP doesn't meet ...", "Access denied, sending domain [contoso.com] does not pass DMARC",
# "unable to verify SPF policy for contoso.com".
_SENDING_DOMAIN = re.compile(
    r"(?:sending domain|sender'?s? domain|SPF policy for)\s{1,4}\[?"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}[A-Za-z]{2,63})\]?(?![\w-]|\.\w)",
    re.IGNORECASE,
)


def _sending_domain_in(text: str) -> str | None:
    found = _SENDING_DOMAIN.search(text[:_SCAN])
    return found.group(1).lower() if found else None
