"""Terminal rendering. Remote and pasted text may carry control characters (ANSI escape
sequences could rewrite the terminal), so every value is made printable first."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from bot.core.check.overview import policy_overview
from bot.core.check.verdicts import CheckVerdict
from bot.core.evidence import AttemptEvidence, CertInfo, HostEvidence, MxSource
from bot.core.models import Diagnosis, Finding, Fix, Severity
from bot.core.untrusted import one_line
from bot.render import labels

if TYPE_CHECKING:
    from bot.check import CheckReport

_LABEL = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "INFO "}
_WIDTH = 100


def printable(value: object) -> str:
    """One line of the terminal: control characters (a newline too), escape sequences and other
    invisible characters shown escaped (\\x0a, \\x1b, \\u202e), never written raw."""
    return one_line(str(value))


def _wrap(text: str, indent: str) -> list[str]:
    """Wrapped paragraphs of a text whose line breaks are ours (explanations from config/);
    every value in it is on one line already (bot.core.check.findings)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_line(paragraph, indent))
    return lines


def _wrap_line(text: str, indent: str) -> list[str]:
    """One logical line, wrapped: a value's own line break is shown escaped, never broken, and
    the indentation after it is not a place to wrap (the next words would open a line)."""
    shown = _AFTER_ESCAPED_BREAK.sub(lambda m: m.group(1) + "\0" * len(m.group(2)), printable(text))
    lines = textwrap.wrap(
        shown, width=_WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
    return [line.replace("\0", " ") for line in lines] or [indent.rstrip()]


# printable() leaves no NUL in its output, so NUL can stand in for the spaces that must stay.
_AFTER_ESCAPED_BREAK = re.compile(r"(\\x0[ad]|\\u2028|\\u2029)( +)")


# Facts that repeat the summary or only matter in the JSON / evidence views.
_QUIET_FACTS = frozenset(
    {"sha256", "serial", "not_before", "chain", "problems", "detail", "sans_total",
     "signature_algorithm", "subject", "issuer", "presented", "led"}
)  # fmt: skip
_MAX_FACT_CHARS = 300


_Fact = tuple[str, str]  # (label, value as shown)


def _facts(finding: Finding) -> list[_Fact]:
    facts: list[_Fact] = []
    for key, value in labels.ordered(finding.fields.items()):
        if key in _QUIET_FACTS or (key == "attempts" and isinstance(value, int) and value <= 1):
            continue
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        if len(shown) > _MAX_FACT_CHARS:
            shown = shown[:_MAX_FACT_CHARS] + "…"
        facts.append((labels.label(key), shown))
    return facts


def _fact_block(title: str, facts: Iterable[_Fact], indent: str) -> list[str]:
    lines = [
        line for label, shown in facts for line in _wrap_line(f"{label}: {shown}", indent + "  ")
    ]
    return [printable(f"{indent}{title}"), *lines] if lines else []


def _fact_lines(finding: Finding, known: frozenset[_Fact] = frozenset()) -> list[str]:
    return _fact_block("Facts:", (f for f in _facts(finding) if f not in known), "    ")


def _fix_lines(fixes: Iterable[Fix], shown_scripts: set[str]) -> list[str]:
    lines: list[str] = []
    for number, fix in enumerate(fixes, start=1):
        script = fix.powershell or fix.shell
        repeated = script is not None and script in shown_scripts
        note = " (same script as shown above)" if repeated else ""
        stage = f" ({fix.stage})" if fix.stage != "fix" else ""
        lines.extend(_wrap_line(f"Fix {number}{stage}: {fix.title}{note}", "    "))
        if script and not repeated:
            shown_scripts.add(script)
            lines.extend("        " + printable(line) for line in script.splitlines())
            for shown, how in fix.missing:
                if how:
                    lines.extend(_wrap_line(f"Replace {shown}: {how}", "        "))
    return lines


def finding_lines(
    finding: Finding, shown_scripts: set[str] | None = None, known: frozenset[_Fact] = frozenset()
) -> list[str]:
    """The finding as terminal lines; facts in `known` were already shown (with its host)."""
    codes = " ".join(c for c in (finding.reply_code, finding.status) if c)
    where = " ".join(dict.fromkeys(x for x in (finding.host, finding.ip) if x))
    head = f"{_LABEL[finding.severity]} {finding.id}"
    for extra in (codes, where, f"({finding.reason})" if finding.reason else ""):
        if extra:
            head += f"  {extra}"
    lines = [printable(head), *_wrap_line(finding.summary, "    ")]
    if finding.explanation:
        lines.extend(_wrap(finding.explanation, "    "))
    lines.extend(_fact_lines(finding, known))
    lines.extend(_fix_lines(finding.fixes, set() if shown_scripts is None else shown_scripts))
    if finding.probe:
        lines.append(printable(f"    Probe it live: mailflow check --host {finding.probe}"))
    return lines


def render_findings(
    findings: Iterable[Finding], shown_facts: Mapping[_Address, frozenset[_Fact]] | None = None
) -> str:
    shown_scripts: set[str] = set()
    shown_facts = shown_facts or {}
    blocks = [
        "\n".join(finding_lines(f, shown_scripts, shown_facts.get((f.host, f.ip), frozenset())))
        for f in findings
    ]
    return "\n\n".join(blocks)


_Address = tuple[str | None, str | None]  # (host, ip) of a finding


def _shared_facts(findings: Iterable[Finding]) -> dict[_Address, list[_Fact]]:
    """Per address: the facts that every finding about it carries (the certificate it
    presented, mostly). They are shown once with the address's host, not under each finding."""
    per_address: dict[_Address, list[list[_Fact]]] = {}
    for finding in findings:
        if finding.host and finding.ip:
            per_address.setdefault((finding.host, finding.ip), []).append(_facts(finding))
    shared: dict[_Address, list[_Fact]] = {}
    for address, fact_lists in per_address.items():
        common = set(fact_lists[0]).intersection(*fact_lists[1:])
        shared[address] = [fact for fact in fact_lists[0] if fact in common]
    return shared


def _host_fact_lines(host: HostEvidence, shared: Mapping[_Address, list[_Fact]]) -> list[str]:
    """The host's shared facts: one block when every address shows the same, else one block
    per address."""
    blocks = {ip: facts for (name, ip), facts in shared.items() if name == host.name and facts}
    if not blocks:
        return []
    distinct = {tuple(facts) for facts in blocks.values()}
    if len(distinct) == 1:
        where = "every address" if len(blocks) > 1 else next(iter(blocks))
        return _fact_block(f"Facts ({where}):", next(iter(blocks.values())), "  ")
    return [
        line for ip, facts in blocks.items() for line in _fact_block(f"Facts ({ip}):", facts, "  ")
    ]


def render_diagnosis(diagnosis: Diagnosis) -> str:
    count = len(diagnosis.findings)
    head = f"Input: {diagnosis.input.kind}, {diagnosis.input.bytes} bytes"
    if not count:
        return f"{head}\nNothing recognised: no mail-flow error found in this input.\n"
    noun = "finding" if count == 1 else "findings"
    return f"{head}, {count} {noun}\n\n{render_findings(diagnosis.findings)}\n"


_SUBJECT_WIDTH = 44
_BLOCKED_ROWS = 8  # blocked addresses listed in a host's table; the finding lists them all


def _leaf_cells(attempt: AttemptEvidence) -> tuple[str, str]:
    if not attempt.certs:
        return "-", "-"
    leaf = attempt.certs[0]
    if not isinstance(leaf, CertInfo):
        return "(unparseable certificate)", "-"
    subject = leaf.subject_windows
    if len(subject) > _SUBJECT_WIDTH:
        subject = subject[: _SUBJECT_WIDTH - 1] + "…"
    return subject, leaf.sha1


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _host_label(host: HostEvidence, source: MxSource) -> str:
    if source is MxSource.IMPLICIT:
        return f"implicit MX (no MX record) {host.name}"
    if source is MxSource.HOST:
        return f"host {host.name}"
    return f"MX {host.preference} {host.name}" if host.preference is not None else host.name


def _host_lines(host: HostEvidence, source: MxSource, verdict: CheckVerdict) -> list[str]:
    state = host.dns_error or f"{len(host.addresses)} address(es)"
    if host.blocked:
        state += f", {len(host.blocked)} blocked"
    if host.capped:
        state += f", {len(host.capped)} over the per-host limit not probed"
    if host.dns_warnings:
        state += f" ({'; '.join(host.dns_warnings)})"
    if host.cname_chain:
        state += f", via CNAME {' -> '.join(host.cname_chain)}"
    lines = [printable(f"{_host_label(host, source)}: {state}")]
    dane = any(verdict.of(a).dane is not None for a in host.attempts)
    rows: list[tuple[str, ...]] = [
        ("ADDRESS", "TRY", "TLS", "CERTIFICATE SUBJECT", "THUMBPRINT",
         *(("DANE",) if dane else ()), "VERDICT")
    ]  # fmt: skip
    for attempt in host.attempts:
        subject, thumb = _leaf_cells(attempt)
        judged = verdict.of(attempt)
        rows.append(
            (attempt.ip, str(attempt.attempt), attempt.tls_version or "-", subject, thumb,
             *((judged.dane or "-",) if dane else ()), judged.word)
        )  # fmt: skip
    tried = {a.ip for a in host.attempts}
    untried = [ip for ip in host.blocked if ip not in tried]
    pad = ("-",) * (4 + dane)
    rows.extend((ip, *pad, "target.blocked") for ip in untried[:_BLOCKED_ROWS])
    if len(untried) > _BLOCKED_ROWS:
        rows.append((f"… {len(untried) - _BLOCKED_ROWS} more", *pad, "target.blocked"))
    if len(rows) > 1:
        lines.extend(printable(line) for line in _table(rows))
    return lines


def render_check(report: CheckReport) -> str:
    ev = report.evidence
    shown = ev.target_display or ev.target
    target = ev.target if shown == ev.target else f"{ev.target} ({shown})"
    lines = [
        printable(
            f"Target: {target}  ({ev.source.value}, {len(ev.hosts)} host(s), "
            f"{report.elapsed_ms:.0f} ms{', deadline reached' if ev.deadline_hit else ''})"
        ),
        "",
    ]
    shared = _shared_facts(report.findings)
    for host in ev.hosts:
        lines.extend(_host_lines(host, ev.source, report.verdict))
        lines.extend(_host_fact_lines(host, shared))
        lines.append("")
    overview = policy_overview(ev, report.findings)
    if overview:
        lines.extend(["Policies:", *(printable(f"  {label}: {text}") for label, text in overview)])
        lines.append("")
    if ev.notes:
        lines.extend(["Notes:", *(printable(f"  {note}") for note in ev.notes), ""])
    if report.findings:
        known = {address: frozenset(facts) for address, facts in shared.items()}
        lines.append(render_findings(report.findings, known))
    else:
        lines.append("No problems found: every address offered STARTTLS with a valid certificate.")
    return "\n".join(lines) + "\n"
