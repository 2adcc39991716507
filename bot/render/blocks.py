"""Diagnoses and check reports as Slack Block Kit messages.

Every message has a plain `text` fallback, at most 50 blocks and at most 3,000 characters of text
per section; longer content is split into several messages. Everything that came from a user or
a remote server passes through bot.render.mrkdwn before it lands in a block.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.core.check.overview import policy_overview
from bot.core.check.verdicts import CheckVerdict, counts, status_of
from bot.core.evidence import AttemptEvidence, CertInfo, CheckEvidence, HostEvidence, PresentedCert
from bot.core.models import Diagnosis, Finding, Fix, Severity, most_severe_first
from bot.core.untrusted import one_line
from bot.render import labels
from bot.render.mrkdwn import (
    bold,
    code_block,
    escape,
    escaped_length,
    inline_code,
    split_escaped,
    truncate,
)

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_MESSAGE_CHARS = 12_000  # keep each message comfortably below Slack's payload limits
MAX_FALLBACK_CHARS = 3000
MAX_PROBE_BUTTONS = 3
MAX_FIELDS_SHOWN = 12
MAX_EVIDENCE_QUOTED = 3
MAX_PLACEHOLDER_NOTES = 4
MAX_SANS_SHOWN = 40
_CODE_FENCE = len("```\n\n```")

SEVERITY_ICON = {
    Severity.ERROR: ":x:",
    Severity.WARNING: ":warning:",
    Severity.INFO: ":information_source:",
}


class ActionId(StrEnum):
    """action_id of every button the bot renders (handlers/actions.py listens on these)."""

    RERUN = "mailflow_rerun"
    WATCH = "mailflow_watch"
    STOP_WATCH = "mailflow_stop_watch"
    EVIDENCE = "mailflow_evidence"
    PROBE_NOW = "mailflow_probe_now"


@dataclass(frozen=True, slots=True)
class Message:
    text: str  # raw fallback for notifications and clients without Block Kit (escaped on send)
    blocks: tuple[Block, ...] = ()

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": escape(self.text)}
        if self.blocks:
            kwargs["blocks"] = list(self.blocks)
        return kwargs


# -- primitives ---------------------------------------------------------------------------------
def section(mrkdwn_text: str) -> Block:
    """A section of already-escaped mrkdwn; callers keep it within the limit."""
    if len(mrkdwn_text) > MAX_SECTION_CHARS:
        raise ValueError(f"section text of {len(mrkdwn_text)} characters")
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_text or " "}}


def context(mrkdwn_text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_text[:3000]}]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: ActionId, value: str, *, primary: bool = False) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True},
        "action_id": action_id.value,
        "value": value[:2000],
    }
    if primary:
        element["style"] = "primary"
    return element


def actions(elements: Sequence[Block], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[:25])}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def text_sections(escaped_text: str) -> list[Block]:
    """Already-escaped mrkdwn split over as many sections as it needs."""
    return [
        section(part)
        for part in _split_escaped_mrkdwn(escaped_text, MAX_SECTION_CHARS)
        if part.strip()
    ]


def code_sections(title_mrkdwn: str, raw_code: str) -> list[Block]:
    """A title and a code block; long code continues in further sections, each fenced."""
    room = MAX_SECTION_CHARS - _CODE_FENCE - len(title_mrkdwn) - 1
    chunks = split_escaped(raw_code, max(room, 500))
    blocks = [section(f"{title_mrkdwn}\n{code_block(chunks[0])}")]
    for chunk in chunks[1:]:
        blocks.extend(
            section(code_block(part))
            for part in split_escaped(chunk, MAX_SECTION_CHARS - _CODE_FENCE)
        )
    return blocks


def _split_escaped_mrkdwn(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for raw_line in text.split("\n"):
        line = raw_line
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = line.rfind(" ", 0, limit)
            cut = _safe_entity_cut(line, cut if cut > limit // 2 else limit)
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    parts.append(current)
    return parts


def _safe_entity_cut(line: str, cut: int) -> int:
    """Never cut inside an &amp; / &lt; / &gt; entity."""
    amp = line.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and ";" not in line[amp:cut]:
        return amp
    return cut


def paginate(text: str, blocks: Sequence[Block]) -> list[Message]:
    """Split blocks into messages of at most MAX_BLOCKS blocks and MAX_MESSAGE_CHARS of text."""
    pages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        length = _block_chars(block)
        if pages[-1] and (len(pages[-1]) >= MAX_BLOCKS or size + length > MAX_MESSAGE_CHARS):
            pages.append([])
            size = 0
        pages[-1].append(block)
        size += length
    fallback = truncate(text, MAX_FALLBACK_CHARS)
    if len(pages) == 1:
        return [Message(fallback, tuple(pages[0]))]
    return [
        Message(f"{fallback} (part {index} of {len(pages)})", tuple(page))
        for index, page in enumerate(pages, start=1)
    ]


def _block_chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(str(text.get("text", "")))
    return 200


# -- findings -----------------------------------------------------------------------------------
# Facts that are in the evidence view anyway and only lengthen a finding.
_FACTS_NOT_SHOWN = frozenset(
    {"subject_windows", "issuer_windows", "sha256", "serial", "sans_total", "not_before"}
)


def finding_blocks(finding: Finding, seen_fixes: set[Fix] | None = None) -> list[Block]:
    """A finding: headline, explanation, facts, fixes. A fix already shown in the same
    message (`seen_fixes`) is referred to instead of repeated."""
    icon = SEVERITY_ICON[finding.severity]
    meta = [inline_code(finding.id, 80)]
    if finding.status:
        meta.append(inline_code(finding.status, 20))
    if finding.reply_code:
        meta.append(inline_code(finding.reply_code, 10))
    if finding.host:
        meta.append(escape(truncate(finding.host, 120)))
    if finding.ip:
        meta.append(escape(truncate(finding.ip, 60)))
    head = f"{icon} {bold(finding.summary, 400)}\n{' · '.join(meta)}"
    body = escape(truncate(finding.explanation, 2400)) if finding.explanation else ""
    blocks = text_sections(f"{head}\n{body}" if body else head)
    facts = _facts_line(finding)
    if facts:
        blocks.append(context(facts))
    quoted = _evidence_lines(finding)
    if quoted:
        blocks.append(context(quoted))
    seen = seen_fixes if seen_fixes is not None else set()
    for fix in finding.fixes:
        if fix in seen:
            blocks.append(context(f":wrench: Same fix as above: {bold(fix.title, 300)}"))
            continue
        seen.add(fix)
        blocks.extend(fix_blocks(fix))
    return blocks


def _facts_line(finding: Finding) -> str:
    parts: list[str] = []
    shown_fields = [
        (k, v)
        for k, v in finding.fields.items()
        if k not in _FACTS_NOT_SHOWN and not _said_already(finding, k, v)
    ]
    for key, value in labels.ordered(shown_fields)[:MAX_FIELDS_SHOWN]:
        shown = (
            ", ".join(value[:5]) + (" …" if len(value) > 5 else "")
            if isinstance(value, tuple)
            else str(value)
        )
        parts.append(f"{escape(truncate(labels.label(key), 40))}: {inline_code(shown, 160)}")
    return " · ".join(parts)[:2900]


def _said_already(finding: Finding, key: str, value: object) -> bool:
    """The verbatim reply needs no fact of its own where the explanation or a quoted evidence
    line already shows it."""
    if key != "diagnostic" or not isinstance(value, str):
        return False
    start = value.strip()[:60]
    quoted = [text for _, text in finding.evidence[:MAX_EVIDENCE_QUOTED]]
    return any(start in text for text in (finding.explanation or "", *quoted))


def _evidence_lines(finding: Finding) -> str:
    """The input lines the finding rests on, quoted with their line numbers (the first few)."""
    lines = [(number, text) for number, text in finding.evidence if text.strip()]
    quoted = [
        f"line {number}: {inline_code(one_line(text.strip()), 200)}"
        for number, text in lines[:MAX_EVIDENCE_QUOTED]
    ]
    if not quoted:
        return ""
    more = len(lines) - len(quoted)
    tail = f" (+{more} more)" if more > 0 else ""
    return ":page_facing_up: " + " · ".join(quoted) + tail


def fix_blocks(fix: Fix) -> list[Block]:
    """A step: its title, its command (PowerShell or shell) and, for each placeholder in the
    command, how to find the value that replaces it."""
    title = f":wrench: {bold(fix.title, 300)}"
    script = fix.powershell or fix.shell
    blocks = [section(title)] if script is None else code_sections(title, script)
    if script is not None and fix.missing:
        notes = [
            f"Replace {inline_code(shown, 80)}: {escape(truncate(how, 400))}"
            for shown, how in fix.missing[:MAX_PLACEHOLDER_NOTES]
            if how
        ]
        if notes:
            blocks.append(context("\n".join(notes)[:2900]))
    return blocks


def status_icon(findings: Sequence[Finding]) -> str:
    status = status_of(findings)
    return SEVERITY_ICON[status] if status else ":white_check_mark:"


# -- diagnosis of pasted text / files -----------------------------------------------------------
def diagnosis_messages(
    diagnosis: Diagnosis,
    *,
    source: str = "the pasted text",
    probe_value: Callable[[str], str] = str,
) -> list[Message]:
    """`probe_value(host)` encodes the "Probe <host> now" button's value."""
    findings = most_severe_first(list(diagnosis.findings))
    first = findings[0].summary if findings else "nothing recognised"
    head = (
        f"{status_icon(findings)} *Mail-flow diagnosis* of {escape(source)} "
        f"({escape(diagnosis.input.kind.replace('_', ' '))}): {counts(findings).text}"
    )
    blocks: list[Block] = [section(head)]
    seen: set[Fix] = set()
    for finding in findings:
        blocks.append(divider())
        blocks.extend(finding_blocks(finding, seen))
    probes = _unique([f.probe for f in findings if f.probe])[:MAX_PROBE_BUTTONS]
    if probes:
        blocks.append(
            actions(
                [
                    button(f"Probe {host} now", ActionId.PROBE_NOW, probe_value(host))
                    for host in probes
                ]
            )
        )
    return paginate(f"Mail-flow diagnosis: {first}", blocks)


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)


# -- live check ---------------------------------------------------------------------------------
def _common_name(cert: PresentedCert) -> str:
    if not isinstance(cert, CertInfo):
        return "(unparseable certificate)"
    for part in cert.subject_windows.split(", "):
        if part.upper().startswith("CN="):
            return one_line(part[3:])
    return one_line(cert.subject_windows)


def attempt_cell(attempt: AttemptEvidence, verdict: CheckVerdict) -> str:
    judged = verdict.of(attempt)
    if judged.finding_ids:
        return "✗ " + truncate(", ".join(judged.finding_ids), 60)
    if judged.failure is not None:
        return f"✗ {judged.failure}"
    return "✓ ok" if judged.ok else "?"


def host_table(host: HostEvidence, verdict: CheckVerdict) -> str:
    """A fixed-width table of one MX host: one row per address and attempt (raw text)."""
    dane = any(verdict.of(a).dane is not None for a in host.attempts)
    rows = [("address", "try", "TLS", "certificate", "thumbprint", *(("DANE",) if dane else ()),
             "verdict")]  # fmt: skip
    for attempt in host.attempts:
        cert = attempt.certs[0] if attempt.certs else None
        rows.append(
            (
                truncate(attempt.ip, 39),
                str(attempt.attempt),
                (attempt.tls_version or "-").replace("TLSv", ""),
                truncate(_common_name(cert), 34) if cert else "-",
                cert.sha1[:12] + "…" if cert else "-",
                *((verdict.of(attempt).dane or "-",) if dane else ()),
                attempt_cell(attempt, verdict),
            )
        )
    pad = ("-",) * (4 + dane)
    rows.extend((truncate(ip, 39), *pad, "✗ blocked") for ip in host.blocked[:8])
    if len(host.blocked) > 8:
        rows.append((f"… {len(host.blocked) - 8} more", *pad, "✗ blocked"))
    if host.capped:
        rows.append((f"… {len(host.capped)} more", *pad, "not probed (limit)"))
    if len(rows) == 1:
        return host.dns_error or "no addresses"
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    )


def _seconds(elapsed_ms: float) -> str:
    return f"{elapsed_ms / 1000:.2f} s" if elapsed_ms < 10_000 else f"{elapsed_ms / 1000:.0f} s"


def check_headline(label: str, result_findings: Sequence[Finding], elapsed_ms: float) -> str:
    return (
        f"{status_icon(result_findings)} *TLS check of {escape(label)}*: "
        f"{counts(result_findings).text} · {_seconds(elapsed_ms)}"
    )


def check_report_messages(
    label: str,
    evidence: CheckEvidence,
    findings: Sequence[Finding],
    elapsed_ms: float,
    *,
    verdict: CheckVerdict,
    spec_value: str,
    evidence_value: str,
    offer_watch: bool = True,
) -> list[Message]:
    ordered = most_severe_first(list(findings))
    blocks: list[Block] = [section(check_headline(label, ordered, elapsed_ms))]
    dns_line = _dns_line(evidence)
    if dns_line:
        blocks.append(context(dns_line))
    for host in evidence.hosts:
        title = f"*{escape(truncate(host.name, 200))}*"
        if host.preference is not None:
            title += f" (preference {host.preference})"
        blocks.extend(code_sections(title, host_table(host, verdict)))
    overview = policy_overview(evidence, ordered)
    if overview:
        title = f"*DANE, MTA-STS, TLS-RPT of {escape(truncate(evidence.domain, 200))}*"
        table = "\n".join(f"{label}: {text}" for label, text in overview)
        blocks.extend(code_sections(title, table))
    seen: set[Fix] = set()
    for finding in ordered:
        blocks.append(divider())
        blocks.extend(finding_blocks(finding, seen))
    buttons = [button("Re-run", ActionId.RERUN, spec_value)]
    if offer_watch and verdict.has_errors:
        buttons.append(button("Watch until fixed", ActionId.WATCH, spec_value, primary=True))
    buttons.append(button("Show evidence", ActionId.EVIDENCE, evidence_value))
    tail = actions(buttons)
    messages = paginate(f"TLS check of {label}: {counts(ordered).text}", blocks)
    last = messages[-1]
    if len(last.blocks) < MAX_BLOCKS:
        messages[-1] = Message(last.text, (*last.blocks, tail))
    else:
        messages.append(Message(last.text, (tail,)))
    return messages


def _dns_line(evidence: CheckEvidence) -> str:
    parts = [f"{escape(evidence.source.value)} of {inline_code(evidence.domain, 200)}"]
    if evidence.dns_error:
        parts.append(f"DNS: {escape(truncate(evidence.dns_error, 200))}")
    if evidence.expected_names:
        names = ", ".join(evidence.expected_names)
        parts.append(f"expected names: {inline_code(names, 300)}")
    if evidence.deadline_hit:
        parts.append("deadline reached: partial evidence")
    return " · ".join(parts)


def progress_message(label: str, done: int, total: int | None, note: str = "") -> Message:
    count = f"{done}/{total}" if total else f"{done}"
    text = f":hourglass_flowing_sand: Checking *{escape(label)}*… {count} connections done"
    if note:
        text += f"\n{escape(truncate(note, 300))}"
    return Message(f"Checking {label}… {count} connections done", (section(text),))


def plain_summary(label: str, findings: Sequence[Finding], limit: int = 2000) -> str:
    """One paragraph of plain text (a workflow step's output): counts and the first errors."""
    summary = f"TLS check of {label}: {counts(findings).text}"
    errors = [f.summary for f in most_severe_first(list(findings)) if f.severity is Severity.ERROR]
    if errors:
        summary += " — " + "; ".join(errors[:3])
    return truncate(summary, limit)


def parent_done_message(label: str, findings: Sequence[Finding], elapsed_ms: float) -> Message:
    ordered = most_severe_first(list(findings))
    text = check_headline(label, ordered, elapsed_ms) + " · details in the thread"
    return Message(f"TLS check of {label}: {counts(ordered).text}", (section(text),))


def parent_failed_message(label: str, reason: str) -> Message:
    text = f":boom: The check of *{escape(label)}* failed: {escape(truncate(reason, 500))}"
    return Message(f"The check of {label} failed", (section(text),))


def parent_interrupted_message(label: str, spec_value: str) -> Message:
    """The bot stopped (a restart or deploy) while the check ran: say so, offer a re-run."""
    text = (
        f":double_vertical_bar: The check of *{escape(label)}* was interrupted because the bot "
        "restarted."
    )
    rerun = actions([button("Re-run", ActionId.RERUN, spec_value)])
    return Message(f"The check of {label} was interrupted", (section(text), rerun))


def evidence_messages(label: str, evidence: CheckEvidence) -> list[Message]:
    blocks: list[Block] = [section(f":page_facing_up: *Evidence for {escape(label)}*")]
    for host in evidence.hosts:
        for attempt in host.attempts:
            blocks.extend(code_sections(_attempt_title(attempt), _attempt_details(attempt)))
    if len(blocks) == 1:
        blocks.append(section("No connection got far enough to collect evidence."))
    return paginate(f"Evidence for {label}", blocks)


def _attempt_title(attempt: AttemptEvidence) -> str:
    host = escape(truncate(attempt.host, 200))
    return f"*{host}* {escape(attempt.ip)}:{attempt.port} · attempt {attempt.attempt}"


def _attempt_details(attempt: AttemptEvidence) -> str:
    lines = [f"banner:    {truncate(attempt.banner or '-', 300)}"]
    lines.append(f"STARTTLS:  {_starttls_text(attempt)}")
    lines.append(f"TLS:       {attempt.tls_version or '-'} {attempt.cipher or ''}".rstrip())
    if attempt.failure is not None:
        step = attempt.failed_step.value if attempt.failed_step else "?"
        lines.append(f"failed:    {attempt.failure.value} at {step}: {attempt.error or ''}")
    if attempt.timings_ms:
        timings = ", ".join(f"{k} {v:.0f} ms" for k, v in attempt.timings_ms.items())
        lines.append(f"timings:   {timings}")
    for index, cert in enumerate(attempt.certs):
        lines.extend(_certificate_lines(index, cert))
    return "\n".join(lines)


def _starttls_text(attempt: AttemptEvidence) -> str:
    if attempt.starttls_offered is None:
        return "-"
    offered = "offered" if attempt.starttls_offered else "NOT offered"
    return f"{offered} {attempt.starttls_reply or ''}".rstrip()


def _certificate_lines(index: int, cert: PresentedCert) -> list[str]:
    if not isinstance(cert, CertInfo):
        return [
            f"[{index}] unparseable ({len(cert.der)} bytes): {truncate(cert.error, 200)}",
            f"    SHA-1:    {cert.sha1}",
            f"    SHA-256:  {cert.sha256}",
        ]
    shown = cert.sans[:MAX_SANS_SHOWN]
    more = f" … and {len(cert.sans) - len(shown)} more" if len(cert.sans) > len(shown) else ""
    lines = [
        f"[{index}] subject:  {truncate(one_line(cert.subject), 400)}",
        f"    issuer:   {truncate(one_line(cert.issuer), 400)}",
        f"    SANs:     {truncate(one_line(', '.join(shown)), 1200)}{more}",
        f"    valid:    {cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}",
        f"    SHA-1:    {cert.sha1}",
        f"    SHA-256:  {cert.sha256}",
        f"    key:      {cert.key_type} {cert.key_bits} · {cert.signature_algorithm}",
    ]
    if cert.self_signed:
        lines.append("    self-signed")
    return lines


# -- help, usage, summaries, home ---------------------------------------------------------------
USAGE = """*Usage:* `/tlscheck <domain | address | host=NAME> [expect=NAME,...]`
• `/tlscheck contoso.com`: every MX host and every address, STARTTLS and certificate chain
• `/tlscheck admin@contoso.com`: the domain of an address
• `/tlscheck contoso.com expect=hybrid.contoso.com`: also require that name on the certificates
• `/tlscheck host=hybrid.contoso.com`: one host directly (a connector's smart host)
• `/tlscheck watch contoso.com`: re-check until the errors clear, then report the fix
• `/tlscheck stop contoso.com`: stop watching
• `/tlscheck summary`: this channel's checks, watches and outcomes
• `/tlscheck collect`: the read-only scripts that gather the Exchange configuration to upload
• `/tlscheck help`: this text
Paste an NDR, message-trace reason, queue error, protocol log or configuration dump in a channel
I am in (or DM me) and I answer in its thread; everything in one thread is judged together, and
`@mailflow check contoso.com` in the thread adds a live probe to it."""


def usage_message(problem: str | None = None) -> Message:
    text = USAGE if problem is None else f":warning: {escape(truncate(problem, 300))}\n{USAGE}"
    return Message(truncate(f"{problem or 'Usage'}: /tlscheck contoso.com", 300), (section(text),))


def plain_message(mrkdwn_text: str, fallback: str | None = None) -> Message:
    """A message of already-escaped mrkdwn; its fallback is the same text, unescaped (it is
    escaped again on sending)."""
    raw = fallback if fallback is not None else html.unescape(mrkdwn_text)
    return Message(truncate(raw, 300), tuple(text_sections(mrkdwn_text)))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str  # "check", "watch", "incident"
    label: str
    outcome: str
    user: str | None = None


def summary_messages(channel_label: str, entries: Sequence[TimelineEntry]) -> list[Message]:
    if not entries:
        return [plain_message(f"No checks, watches or diagnoses recorded in {channel_label} yet.")]
    lines = [f":spiral_note_pad: *Mail-flow timeline of {channel_label}* (oldest first)"]
    for entry in entries:
        when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        # Never `<@user>`: a mention in a summary would notify that user every time it is posted.
        who = f" by {inline_code(entry.user, 30)}" if entry.user else ""
        lines.append(
            f"• {when} · {escape(entry.kind)} {inline_code(entry.label, 200)}{who}: "
            f"{escape(truncate(entry.outcome, 300))}"
        )
    return paginate(f"Mail-flow timeline ({len(entries)} entries)", text_sections("\n".join(lines)))


def watch_status_message(label: str, started: datetime, checks: int, last: str) -> Message:
    text = (
        f":eyes: Watching *{escape(label)}* since {started.astimezone(UTC):%H:%M} UTC · "
        f"{checks} check{'s' if checks != 1 else ''} · last: {escape(truncate(last, 500))}"
    )
    return Message(f"Watching {label}: {truncate(last, 200)}", (section(text),))


def watch_stop_button(label: str, watch_id: int) -> Block:
    return actions([button(f"Stop watching {label}", ActionId.STOP_WATCH, str(watch_id))])


def presented_now(evidence: CheckEvidence) -> list[str]:
    """One raw line per address: the leaf certificate it presents now."""
    lines: dict[tuple[str, str], str] = {}
    for host in evidence.hosts:
        for attempt in host.attempts:
            if attempt.certs and (host.name, attempt.ip) not in lines:
                cert = attempt.certs[0]
                subject = (
                    cert.subject if isinstance(cert, CertInfo) else "an unparseable certificate"
                )
                lines[(host.name, attempt.ip)] = (
                    f"{host.name} {attempt.ip} now presents {truncate(one_line(subject), 200)} "
                    f"(SHA-1 {cert.sha1})"
                )
    return list(lines.values())


def fixed_message(
    label: str,
    seconds: float,
    cleared: Sequence[str],
    remaining: Sequence[str],
    evidence: CheckEvidence | None = None,
) -> Message:
    """ "Fixed after 3 min" (or "in under a minute") with what changed: the errors that cleared
    and what each address presents now."""
    took = elapsed_text(seconds)
    text = f":tada: *{escape(label)}* fixed {took}."
    if cleared:
        text += "\nCleared: " + ", ".join(inline_code(item, 80) for item in cleared[:20])
    if remaining:
        text += "\nStill reported (not errors): " + ", ".join(
            inline_code(item, 80) for item in remaining[:20]
        )
    blocks_: list[Block] = text_sections(text)
    now = presented_now(evidence) if evidence is not None else []
    if now:
        blocks_.extend(code_sections("*Now presented:*", "\n".join(now[:40])))
    return Message(f"{label} fixed {took}", tuple(blocks_[:MAX_BLOCKS]))


def home_view(recent: Sequence[TimelineEntry]) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "mailflow-bot"}},
        section(
            "I diagnose mail flow between Exchange Online and your own SMTP servers: "
            "TLS certificates on STARTTLS, NDRs, message traces, queue errors and protocol logs."
        ),
        section(USAGE),
        divider(),
        section("*Your recent checks*"),
    ]
    if not recent:
        blocks.append(context("Nothing yet: try `/tlscheck contoso.com` in a channel."))
    for entry in recent[:20]:
        when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        blocks.append(
            context(
                f"{when} · {inline_code(entry.label, 200)}: {escape(truncate(entry.outcome, 300))}"
            )
        )
    return {"type": "home", "blocks": blocks[:100]}


def message_chars(message: Message) -> int:
    return sum(_block_chars(b) for b in message.blocks) + escaped_length(message.text)


def watch_stopped_message(label: str) -> Message:
    text = f":octagonal_sign: Stopped watching *{escape(label)}*."
    return Message(f"Stopped watching {label}", (section(text),))


def watch_ended_message(label: str, outcome: str, *, ok: bool = True) -> Message:
    icon = ":white_check_mark:" if ok else ":hourglass:"
    text = f"{icon} *{escape(label)}*: {escape(outcome)}."
    return Message(f"{label}: {outcome}", (section(text),))


def duration_text(seconds: float) -> str:
    """A length of time for people: "24 h", "1 h 5 min", "3 min", "45 s"."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def elapsed_text(seconds: float) -> str:
    """How long something took, as the end of a sentence: "in under a minute", "after 3 min"."""
    return "in under a minute" if seconds < 60 else f"after {duration_text(seconds)}"


def watch_expired_message(label: str, limit: str, errors: Sequence[str]) -> Message:
    """The watch ran for its maximum time and the errors are still there."""
    text = f":hourglass: Stopped watching *{escape(label)}* after {escape(limit)}: still failing."
    if errors:
        text += "\nStill failing: " + ", ".join(inline_code(item, 80) for item in errors[:20])
    text += f"\nRun `/tlscheck watch {escape(label)}` to keep watching."
    return Message(f"Stopped watching {label} after {limit}: still failing", (section(text),))


def nothing_to_watch_message(label: str) -> Message:
    text = f":white_check_mark: *{escape(label)}* has no errors now: nothing to watch."
    return Message(f"{label} has no errors now", (section(text),))
