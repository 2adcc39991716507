"""SMTP reply codes (RFC 5321) and enhanced status codes (RFC 3463) found in text.

Every pattern here is linear: no nested quantifiers, bounded repetitions, and callers cap the
text they hand in (see `lines.MAX_LINE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# An enhanced status code: class 2/4/5, subject and detail of 1-3 digits. Not part of a longer
# dotted number ("4.4.4.4.4", "10.5.1.1"), though a sentence may end right after it ("5.1.1.").
STATUS = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
# A reply code followed by an enhanced status code: "550 5.1.1", "250-2.1.0", "#550 5.1.1".
REPLY_AND_STATUS = re.compile(r"(?<![\w.])([245]\d\d)[ -]{1,2}([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
# A reply code at the start of a reply text: "550 Requested action not taken".
LEADING_REPLY = re.compile(r"[#\s\"'(]{0,4}([245][0-5]\d)(?:[ -]|$)")
# A reply code after a short label: "Bounce from our relay: 550 Domain ... exceeded ...".
_LABELLED_REPLY = re.compile(r"[^:\n]{1,80}:\s{1,3}([245][0-5]\d)(?:[ -]|$)")
# A reply code after the words an MTA introduces the remote server's reply with: Postfix's
# "said:" and "refused to talk to me:", Exim's "SMTP error from remote mail server after RCPT
# TO:<a@b>:" and its debug "SMTP<<", OpenSMTPD's "<<<", Gmail's "The response ... was:". Each
# is looked for as its literal word first (str.find), the pattern tried only there.
_CODE_AFTER = r"\s{0,3}([245][0-5]\d)(?:[ -]|$)"
_INTRODUCERS = (
    # "host mx[ip] said:", "Remote host said:", "mx.example.com said:", not "he said: 500 people"
    ("said:", re.compile(r"said:" + _CODE_AFTER)),
    # PHPMailer "SMTP ERROR: RCPT TO command failed: 451 ..."
    ("command failed:", re.compile(r"command failed:" + _CODE_AFTER)),
    # Python's smtplib: SMTPRecipientsRefused {'a@b': (550, b'5.1.1 ...')}, SMTPDataError: (554,
    ("': (", re.compile(r"': \(([245][0-5]\d), ")),
    ("SMTP", re.compile(r"SMTP\w{0,40}(?:Error|Refused|Exception): \(([245][0-5]\d), ")),
    ("talk to me:", re.compile(r"talk to me:" + _CODE_AFTER)),
    # OpenSMTPD and Sendmail log lines: "stat=451 Temporary failure", "stat=Deferred: 451 ..."
    ("stat=", re.compile(r"stat=(?:Deferred: )?" + _CODE_AFTER)),
    ("<<", re.compile(r"<<<?" + _CODE_AFTER)),
    ("response was:", re.compile(r"response was:" + _CODE_AFTER)),
    ("server was:", re.compile(r"server was:" + _CODE_AFTER)),
    ("reply was:", re.compile(r"reply was:" + _CODE_AFTER)),
    # Exim: "SMTP error from remote mail server after RCPT TO:<a@b>: 550 ..." (its own spelling:
    # lower-case "after", the command in capitals; "after data import: 550 rows" is not one)
    (
        "after ",
        re.compile(
            r"after (?:pipelined )?(?:MAIL FROM|RCPT TO|DATA|end of data|initial connection"
            r"|EHLO|HELO|STARTTLS)[^:\n]{0,20}(?::<[^>\n]{0,300}>)?[^:\n]{0,40}:" + _CODE_AFTER
        ),
    ),
)
_MAX_INTRODUCER_TRIES = 20
# What Postfix writes before a remote server's reply: "<a@b>: host mx.example.com[192.0.2.1] said:"
SAID_PREFIX = re.compile(
    r"[ \t]*(?:<[^<>\s]{1,320}>:\s{1,4})?host [\w.-]{1,253} ?\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?"
    r" said:[ \t]*"
)
# Who "said:" it: a host (Postfix's "host mx[ip] said:", qmail's "Remote host said:"), a server,
# or a name with a dot right before it.
_SAID_BY_SERVER = re.compile(
    r"(?:\bhost\b|\bserver\b|\]|\.[A-Za-z]{2,63})[^\n]{0,80}$", re.IGNORECASE
)


def _smtp_reply_code(code: str) -> bool:
    """A code an SMTP server answers with: any 5yz up to 559, and the 4yz codes SMTP and its
    extensions define (a "404" after "response was:" is a web server's)."""
    return code[0] == "5" or code in _TEMPORARY_REPLIES


_TEMPORARY_REPLIES = frozenset(
    {"421", "432", "441", "442", "446", "447", "450", "451", "452", "453", "454", "455", "471"}
)


def _introduced_reply(text: str) -> str | None:
    """The reply code an introducing phrase opens in `text`, or None."""
    for word, pattern in _INTRODUCERS:
        position = text.find(word)
        tries = 0
        while position >= 0 and tries < _MAX_INTRODUCER_TRIES:
            found = pattern.match(text, position)
            if (
                found
                and _smtp_reply_code(found.group(1))
                and (
                    word != "said:"
                    or _SAID_BY_SERVER.search(text, max(0, position - 100), position)
                )
            ):
                return found.group(1)
            position = text.find(word, position + 1)
            tries += 1
    return None


# Words that make a bare code in free text plausibly about mail delivery.
_MAIL_CONTEXT = re.compile(
    r"smtp|deliver|undeliverable|remote server|recipient|mailbox|relay|bounce|\bndr\b|\bdsn\b"
    r"|e-?mail|\bmail\b|mail flow|rejected|rcpt|queue|connector|\btls\b|starttls|certificate"
    r"|spam|sender|postmaster|\bmx\b|resolver\.|storedrv|diagnostic|message trace|lasterror"
    r"|envelope|mimecast|proofpoint|pphosted|barracuda|messagelabs"  # mail gateways' own words
)  # matched against lower-cased text (faster than re.IGNORECASE)
# Phrases typical of the text of an SMTP error reply (used when there is no enhanced code).
_REPLY_PHRASE = re.compile(
    r"user unknown|no such user|mailbox|relay|rejected|denied|not permitted|service not available"
    r"|requested action|transaction failed|try again|too many|spam|block|unavailable|not found"
    r"|timed out|temporar|refused|authenticat|starttls|tls|certificate|policy|quota|greylist"
    r"|exceeded|does not exist|not allowed|discarded|limit"
    r"|blacklist|blocklist|listed|not accepted|no smtp service|reverse dns|\bptr\b|reputation"
    r"|unsolicited|prohibited|forbidden|unauthori[sz]ed|not available"
)  # matched against lower-cased text


# Reply codes of RFC 5321 (and 521/556 of RFC 7504, 534/535/538 of RFC 4954, 571 of old
# Microsoft servers) that HTTP does not use, or uses only rarely (421, 451).
_SMTP_ONLY_REPLIES = frozenset(
    {"421", "450", "451", "452", "454", "455", "521", "530", "534", "535", "538", "550", "551",
     "552", "553", "554", "555", "556", "571"}
)  # fmt: skip
# HTTP's own phrases for the codes it shares with SMTP ("451 Unavailable For Legal Reasons").
_HTTP_PHRASE = re.compile(r"legal reasons|misdirected request|\bhttp/\d|\bhttp error")

# Exchange's delay notification states the delay as a reply of its own ("400 4.4.7 Message
# delayed"); the attempt history after it says why.
DELAY_NOTICE = "4.4.7 Message delayed"

# A dotted number that chat uses for something else: "version 5.7.1", "section 4.2.5",
# "ticket #5.4.1", "at 4.5.3 %", "the 4.4.7 release", "4.2.2 style". Matched against the
# lower-cased text just before / just after a bare status code.
_NOT_A_CODE_BEFORE = re.compile(
    r"(?:\bv|version|\bver\.?|release|build|patch|update|section|sect\.|chapter|\bch\.|§|ticket"
    r"|issue|item|step|figure|\bfig\.|table|page|paragraph|\bpara\.|clause|article|rule"
    r"|\bno\.|number|\brfc ?\d{1,5})\s{0,3}#?$"
)
_NOT_A_CODE_AFTER = re.compile(
    r"\s{0,3}(?:%|percent|release|released|version|update|patch|build|style|edition|series"
    r"|beta|alpha|\brc\d?\b)"
)
_AROUND = 24  # characters looked at on each side of a bare status code
_PUNCTUATION = " \t`'\"?!.:;()[]*_"
_ASKS_MEANING = re.compile(
    r"\bwhat(?:'s| is| does)\b.{0,40}\bmean|\bmeaning of\b|\bexplain\b"
    r"|(?:error|status|ndr|bounce) code"
)  # matched against lower-cased text


@dataclass(frozen=True, slots=True)
class Reply:
    reply_code: str | None
    status: str | None


def status_class(status: str) -> str:
    return status.split(".", 1)[0]


def find_reply(text: str) -> Reply:
    """The first reply code / enhanced status code pair in `text` (either may be None)."""
    pair = REPLY_AND_STATUS.search(text)
    if pair:
        return Reply(pair.group(1), pair.group(2))
    status = STATUS.search(text)
    lead = LEADING_REPLY.match(text)
    return Reply(lead.group(1) if lead else None, status.group(1) if status else None)


def has_mail_context(text: str) -> bool:
    return _MAIL_CONTEXT.search(text.lower()) is not None


def looks_like_reply_text(text: str) -> bool:
    return _REPLY_PHRASE.search(text.lower()) is not None


def _reads_as_status(text: str, match: re.Match[str]) -> bool:
    """A bare status code counts when it is not a version, section or ticket number, and the
    text is about mail or the words after the code read like a server's reply
    ("5.7.708 Service unavailable. Access denied")."""
    before = text[max(0, match.start() - _AROUND) : match.start()].lower()
    after = text[match.end() : match.end() + _AROUND].lower()
    if _NOT_A_CODE_BEFORE.search(before) or _NOT_A_CODE_AFTER.match(after):
        return False
    if text.strip(_PUNCTUATION) == match.group(1) or _ASKS_MEANING.search(text.lower()):
        return True  # "5.7.509" alone, or "what does 5.7.509 mean?"
    return has_mail_context(text) or looks_like_reply_text(text[match.end() : match.end() + 200])


def free_text_error(text: str) -> Reply | None:
    """A reply/status in free text that is plausibly a mail-delivery error, or None.

    Ordinary chat must not raise false alarms: a status code needs class 4 or 5 and either a
    reply code right before it or mail words around it; a bare reply code needs to open the line
    and be followed by words an SMTP server would say.
    """
    pair = REPLY_AND_STATUS.search(text)
    if pair and (pair.group(1)[0] in "45" or pair.group(2)[0] in "45"):
        return Reply(pair.group(1), pair.group(2))
    for match in STATUS.finditer(text):
        if match.group(1)[0] in "45" and _reads_as_status(text, match):
            return Reply(None, match.group(1))
    introduced = _introduced_reply(text)
    if introduced and introduced[0] in "45":
        return Reply(introduced, None)
    lead = LEADING_REPLY.match(text) or _LABELLED_REPLY.match(text)
    if lead and lead.group(1)[0] in "45":
        rest = text[lead.end() :]
        if looks_like_reply_text(rest) and (
            has_mail_context(text) or _reads_as_smtp_only(lead.group(1), rest)
        ):
            return Reply(lead.group(1), None)
    return None


def _reads_as_smtp_only(code: str, rest: str) -> bool:
    """A reply code that only SMTP uses ("550 No such user here", "421 Too many connections")
    needs no mail words around it; a code HTTP shares (404, 429, 503) does."""
    return code in _SMTP_ONLY_REPLIES and _HTTP_PHRASE.search(rest.lower()) is None


def status_in(text: str) -> str | None:
    """The first enhanced status code in `text`, or None."""
    found = STATUS.search(text)
    return found.group(1) if found else None


# "550-5.2.1 The user ... at a rate that 550-5.2.1 prevents ..." : a multi-line reply whose lines
# were joined with their markers.
_MULTILINE_MARK = re.compile(r"(?<![\d.])([245]\d\d)-([245]\.\d{1,3}\.\d{1,3})(?![\d.])")


@lru_cache(maxsize=512)  # bounded: codes and statuses come from the input
def reply_marker(code: str, status: str | None) -> re.Pattern[str]:
    """What opens each line of one multi-line reply: its code, `-` or a space, its status."""
    after = rf"[ \t]*{re.escape(status)}" if status else ""
    return re.compile(rf"(?<![\d.]){code}[- ]{after}(?![\d.])")


@lru_cache(maxsize=512)
def _inner_marker(code: str, status: str | None) -> re.Pattern[str]:
    return re.compile(rf"[ \t]*(?:{reply_marker(code, status).pattern})[ \t]*")


def without_inner_markers(text: str, code: str, status: str | None) -> str:
    """A multi-line reply read as one text: the markers that open its later lines go (the words
    they split, "this message is 550-5.7.1 not RFC 2822 compliant", join again); the first stays."""
    first = reply_marker(code, status).search(text)
    if first is None:
        return text
    return text[: first.end()] + _inner_marker(code, status).sub(" ", text[first.end() :])


def joined_multiline(text: str) -> str:
    """`text` without the inner markers of the multi-line reply it holds, if it holds one."""
    first = _MULTILINE_MARK.search(text)
    return text if first is None else without_inner_markers(text, *first.groups())
