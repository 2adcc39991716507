"""The fallback: a reply or status code in any text that reads like a mail-delivery error.

Lines of the logs that have readers of their own (Exchange protocol logs, Postfix and Exim logs)
are theirs: their readers understand what a code in them means.

Ordinary chat must not raise false alarms ("section 4.2.5", "version 5.7.1", prices, dates): a
status code counts when it has class 4 or 5 and a reply code right before it or mail words around
it (bot.core.diagnose.codes.free_text_error). Only the lines that hold a candidate are looked at,
so arbitrary text of any size costs one regular-expression pass.
"""

from __future__ import annotations

import re

from bot.core.diagnose.codes import (
    SAID_PREFIX,
    free_text_error,
    reply_marker,
    without_inner_markers,
)
from bot.core.diagnose.codes import Reply as FoundReply
from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.fact import FREE_TEXT_SOURCE, Fact, Reply, clip
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.common import recipient_in
from bot.core.diagnose.readers.mta_log import is_log_line
from bot.core.diagnose.readers.protocol_log import has_log_header, is_record

# A status code (`5.7.1`) or a reply code not glued to a digit before it (`550 `, `421-`):
#   [245]\.\d{1,3}\.\d{1,3} | (?<!\d)[45]\d\d[ -]
# written so that every match starts with one of [245]: the regex engine then skips to those
# characters at C speed instead of trying both branches at every position (5x on chat text).
# The mailbox store's exceptions that Outlook's own NDRs quote (the only error text they hold).
_STORE_EXCEPTION = re.compile(
    r"(?<!\w)MapiException(?:SendAsDenied|NotAuthorized|QuotaExceeded|ShutoffQuotaExceeded|MaxSubmissionExceeded)\b"
)
_EXIM_VERDICT = re.compile(
    r"retry time not reached for any host|retry timeout exceeded"
    r"|all hosts for '[^'\n]{1,253}' have been failing for a long time"
)


def _codeless_error(text: str) -> re.Match[str] | None:
    """The first code-less error in `text` (its literal words are looked for first)."""
    if "MapiException" in text:
        found = _STORE_EXCEPTION.search(text)
        if found:
            return found
    if "etry time" in text or "have been failing" in text:  # retry time(out), all hosts ...
        return _EXIM_VERDICT.search(text)
    return None


_CANDIDATE = re.compile(
    r"[245](?:\.\d{1,3}\.\d{1,3}|(?<![0-9][245])(?<=[45])\d\d(?:[ ,-]|(?=\n)|$))"
)
MAX_FACTS = 2000
# A reply that a mail client or an MTA wrapped goes on in the next lines: each is indented or
# follows a line as long as a wrapped one, and the line before it did not end a sentence. A new
# reply, a "Name: value" line, a separator or a blank line ends it.
MAX_CONTINUATION_LINES = 6
MAX_MULTILINE_LINES = 16
WRAPPED_LINE = range(40, 81)  # the length of a line that a wrap at 72-80 columns cut
_INDENTED = re.compile(r"[ \t]+\S")
_NOT_CONTINUATION = re.compile(r"[ \t]*(?:[245]\d\d[ -]|[245]\.\d|[A-Za-z][\w-]{0,40}: |--|==|#)")
_SENTENCE_END = (".", "!", "?", ")", "]", ":", ">")
# "Diagnostic-Code: smtp; 550 ..." pasted or in a report: the reply is what follows the label.
_DSN_LABEL = re.compile(r"[ \t]*diagnostic-code:[ \t]*(?:[\w-]{1,20}[ \t]*;)?[ \t]*", re.IGNORECASE)


class FreeTextReader(Reader):
    name = FREE_TEXT_SOURCE

    def __init__(self) -> None:
        self._log_file = False

    def detect(self, document: Document) -> int:
        if self._log_file or has_log_header(document.text):
            self._log_file = True  # a protocol log file: every line is its reader's
            return 0
        text = document.text
        return 1 if _CANDIDATE.search(text) or _codeless_error(text) else 0

    def parse(self, document: Document) -> list[Fact]:
        facts: list[Fact] = []
        for segment in document.segments:
            text = segment.text
            position = 0
            while len(facts) < MAX_FACTS:
                found = _CANDIDATE.search(text, position)
                if found is None:
                    break
                start = text.rfind("\n", 0, found.start()) + 1
                end = text.find("\n", found.end())
                end = len(text) if end < 0 else end
                position = end + 1
                line = text[start:end][:4096]
                if is_record(line) or is_log_line(line):
                    continue  # a protocol-log or MTA-log line: its own reader reads it
                if _after_transcript_reply(text, start, line):
                    continue  # Sendmail's own summary under the remote server's "<<< 550 ..."
                reply = free_text_error(line)
                if reply is None:
                    continue
                number = segment.line(start)
                wrapped, end = _continuation(text, end, line, reply)
                position = end + 1
                joined = " ".join((_without_label(line), *wrapped))
                last_line = number + len(wrapped)
                said = _said_before(text, start)
                if said:
                    joined, number = f"{said} {joined}", number - 1
                reply_from = _reply_from_above(text, start)
                recipient = (
                    recipient_in(line)
                    or (reply_from.group(1) if reply_from else None)
                    or _recipient_above(text, start)
                )
                exim = _exim_error_above(text, start) if not said else None
                if exim is not None:
                    above, lines_above, exim_recipient = exim
                    joined, number = f"{above} {joined}", number - lines_above
                    recipient = recipient or exim_recipient
                if reply_from and not said:  # so that enrich finds the remote host
                    joined = f"Reply from {reply_from.group(2)} [{reply_from.group(3)}]: {joined}"
                if wrapped and reply.reply_code:
                    joined = without_inner_markers(joined, reply.reply_code, reply.status)
                stripped = clip(joined, 2000)
                facts.append(
                    Fact(
                        source=self.name,
                        recipient=recipient,
                        status=reply.status,
                        reply_code=reply.reply_code,
                        replies=(Reply(reply.reply_code, reply.status, stripped),),
                        diagnostic=stripped,
                        lines=(number, last_line),
                    )
                )
            if not facts:
                facts.extend(self._codeless_errors(segment))
        return facts

    def _codeless_errors(self, segment: Segment) -> list[Fact]:
        """An error that comes without a reply code: the mailbox store's exception in an NDR that
        Outlook wrote ("Microsoft.Mapi.MapiExceptionSendAsDenied: ... (hr=0x80070005)"), or
        Exim's own retry verdicts on a line cut from its log."""
        found = _codeless_error(segment.text)
        if found is None:
            return []
        start = segment.text.rfind("\n", 0, found.start()) + 1
        end = segment.text.find("\n", found.end())
        line = segment.text[start : end if end >= 0 else len(segment.text)][:2000].strip()
        number = segment.line(start)
        return [
            Fact(
                source=self.name,
                recipient=recipient_in(line),
                diagnostic=line,
                lines=(number, number),
            )
        ]


# What a bounce says above the reply it quotes: "Your message to a@b has been blocked", "<a@b> :
# Reply from mx.example.com [192.0.2.1]:" (Trend Micro IMSS and others).
_MESSAGE_TO = re.compile(
    r"\b(?:message|mail|e-?mail) to <?([^\s<>@]{1,64}@[\w.-]{1,253}\.[A-Za-z]{2,63})>?"
    r" (?:has been blocked|(?:could ?n[o']t|was ?n[o']t|has not been|cannot) be(?:en)? delivered)",
    re.IGNORECASE,
)
_REPLY_FROM = re.compile(
    r"<([^\s<>@]{1,64}@[\w.-]{1,253})>\s{0,4}:\s{0,4}Reply from\s{1,12}([\w.-]{1,253})\s{1,12}"
    r"\[([0-9A-Fa-f.:]{2,45})\]:?\s*$"
)
# An address alone on a line above the reply: "<a@b>:" (Yahoo's and qmail's bounces), Postfix's
# "<a@b>: host" (its host and reply on the next line), an Exim bounce's bare address
_ADDRESS_ALONE = re.compile(r"[ \t]*<?([^\s<>@]{1,64}@[\w.-]{1,253})>?:?(?:[ \t]+host)?[ \t]*")
_STATUS_OPENING = re.compile(r"[ \t]*([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_LOOKBACK = 600  # characters above a reply searched for its recipient and host


def _reply_from_above(text: str, start: int) -> re.Match[str] | None:
    """The "<a@b> : Reply from host [ip]:" above a reply."""
    above = text[max(0, start - _LOOKBACK) : start]
    return _REPLY_FROM.search(above) if "Reply from" in above else None


def _recipient_above(text: str, start: int) -> str | None:
    above = text[max(0, start - _LOOKBACK) : start]
    line_above = above.rstrip("\n").rpartition("\n")[2]
    if "@" in line_above:
        alone = _ADDRESS_ALONE.fullmatch(line_above)
        if alone:
            return alone.group(1)
    if "@" not in above:
        return None
    lowered = above.lower()
    if " to " not in lowered or ("blocked" not in lowered and "deliver" not in lowered):
        return None
    message_to = _last(_MESSAGE_TO, above)
    return message_to.group(1) if message_to else None


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - the last match is wanted
        pass
    return found


def _after_transcript_reply(text: str, start: int, line: str) -> bool:
    """Is `line` the sending MTA's own code right under a "<<< " line of its transcript
    ("<<< 550 5.7.1 SPF ..." then "554 5.0.0 Service unavailable")?"""
    if start < 2 or line.lstrip().startswith(("<<<", ">>>")):
        return False
    above = text[text.rfind("\n", 0, start - 1) + 1 : start - 1]
    return above.lstrip().startswith("<<< ")


# An Exim bounce's block: the address, "(ultimately generated from ...)", "host mx [ip]", then
# "SMTP error from remote mail server after MAIL FROM:<...> SIZE=2472:" above the reply.
_EXIM_ERROR_LINE = re.compile(
    r"[ \t]*SMTP error from remote (?:mail server|mailer) after [^\n]{1,400}:[ \t]*"
)
_EXIM_HOST_LINE = re.compile(r"[ \t]*host [\w.-]{1,253} \[[0-9A-Fa-f:.]{2,45}\]:?[ \t]*")


def _exim_error_above(text: str, start: int) -> tuple[str, int, str | None] | None:
    """The lines of an Exim bounce block above a reply (the error line, the host, the address)
    as one text, how many lines they are, and the recipient they name."""
    above = text[max(0, start - _LOOKBACK) : start].rstrip("\n").split("\n")
    if not above or not _EXIM_ERROR_LINE.fullmatch(above[-1]):
        return None
    taken = [above[-1].strip()]
    recipient = None
    for line in reversed(above[-4:-1]):
        if _EXIM_HOST_LINE.fullmatch(line):
            taken.insert(0, line.strip())
            continue
        address = _ADDRESS_ALONE.fullmatch(line)
        if address:
            recipient = address.group(1)
            break
        if not line.strip().startswith("(ultimately generated from"):
            break
    return " ".join(taken), len(taken), recipient


def _said_before(text: str, start: int) -> str:
    """The line before a reply, when it is only Postfix's "host mx[ip] said:" that introduces it."""
    if start < 2:
        return ""
    begin = text.rfind("\n", 0, start - 1) + 1
    line = text[begin : start - 1]
    return line.strip() if len(line) < 400 and SAID_PREFIX.fullmatch(line) else ""


def _without_label(line: str) -> str:
    label = _DSN_LABEL.match(line)
    return (line[label.end() :] if label else line).strip()


def _continuation(text: str, end: int, line: str, reply: FoundReply) -> tuple[list[str], int]:
    """The lines after the reply `line` (which ends at `end`) that continue it, and where the
    last of them ends. A multi-line SMTP reply (`550-5.7.1 ...` lines, the last `550 5.7.1 ...`)
    goes on while its lines carry its code, however a client wrapped or joined them."""
    wrapped: list[str] = []
    last = previous = line.rstrip()
    same = reply_marker(reply.reply_code, reply.status) if reply.reply_code else None
    multi = same is not None and _more_lines_follow(line, reply.reply_code or "")
    # "<a@b>: host mx[ip] said: 550" with the reply's text on the indented lines below it
    # (Postfix wraps its DSN text so): those lines are the reply, whatever codes they quote
    dangling = bool(reply.reply_code) and line.rstrip().endswith(f" {reply.reply_code}")
    limit = MAX_MULTILINE_LINES if multi or dangling else MAX_CONTINUATION_LINES
    while len(wrapped) < limit and end < len(text) and last:
        following = text.find("\n", end + 1)
        following = len(text) if following < 0 else following
        candidate = text[end + 1 : following][:4096]
        if dangling and _INDENTED.match(candidate):
            previous, last = candidate.rstrip(), candidate.strip()
            wrapped.append(last)
            end = following
            continue
        dangling = False
        if multi and same is not None and same.search(candidate):
            multi = _more_lines_follow(candidate, reply.reply_code or "")
            previous, last = candidate.rstrip(), candidate.strip()
            wrapped.append(last)
            end = following
            continue
        multi = False
        if _ends_sentence(last, candidate) or not _continues(candidate, previous, last, reply):
            break
        previous, last = candidate.rstrip(), candidate.strip()
        wrapped.append(last)
        end = following
    return wrapped, end


def _ends_sentence(last: str, following: str) -> bool:
    """Does `last` end the reply? A sentence's end does, except a bracketed name that the
    next line goes on from in lower case ("sending domain [CONTOSO.COM]" / "does not pass ...")."""
    if not last.endswith(_SENTENCE_END):
        return False
    return not (last.endswith("]") and following.strip()[:1].islower())


def _more_lines_follow(line: str, code: str) -> bool:
    """Is the last `550-`/`550 ` in the line the hyphen of a line that is not the reply's last?"""
    return line.rfind(f"{code}-") > line.rfind(f"{code} ")


def _continues(candidate: str, previous: str, last: str, reply: FoundReply) -> bool:
    wrapped_here = len(previous) in WRAPPED_LINE and candidate.strip()
    if not (_INDENTED.match(candidate) or wrapped_here) or _NOT_CONTINUATION.match(candidate):
        # "... said: 550" wrapped before its status ("   5.7.0 Blocked - see ...")
        code = reply.reply_code
        opening = _STATUS_OPENING.match(candidate)
        return bool(code and last.endswith(f" {code}") and opening
                    and opening.group(1)[0] == code[0]
                    and (not reply.status or opening.group(1) == reply.status))  # fmt: skip
    if is_record(candidate) or is_log_line(candidate):
        return False
    return not (_CANDIDATE.search(candidate) and free_text_error(candidate) is not None)
