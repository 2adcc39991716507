"""Terminal rendering. Remote and pasted text may carry control characters (ANSI escape
sequences could rewrite the terminal), so every value is made printable first."""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable

from bot.core.models import Diagnosis, Finding, Fix, Severity

_LABEL = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "INFO "}
_WIDTH = 100


def printable(value: object) -> str:
    """Replace control characters (except none) with visible escapes such as \\x1b."""
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) in {"Zl", "Zp"} or ch in "\r\n\t":
            out.append(" ")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _wrap(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(
            textwrap.wrap(printable(paragraph), width=_WIDTH, initial_indent=indent,
                          subsequent_indent=indent) or [indent.rstrip()]
        )  # fmt: skip
    return lines


def _fact_lines(finding: Finding) -> list[str]:
    if not finding.fields:
        return []
    parts = []
    for key, value in finding.fields.items():
        shown = ", ".join(value) if isinstance(value, tuple) else str(value)
        parts.append(f"{key}={shown}")
    return _wrap("Facts: " + "  ".join(parts), "    ")


def _fix_lines(fixes: Iterable[Fix]) -> list[str]:
    lines: list[str] = []
    for number, fix in enumerate(fixes, start=1):
        lines.extend(_wrap(f"Fix {number}: {fix.title}", "    "))
        if fix.powershell:
            lines.extend("        " + printable(line) for line in fix.powershell.splitlines())
    return lines


def finding_lines(finding: Finding) -> list[str]:
    codes = " ".join(c for c in (finding.reply_code, finding.status) if c)
    where = " ".join(x for x in (finding.host, finding.ip) if x)
    head = f"{_LABEL[finding.severity]} {finding.id}"
    for extra in (codes, where, f"({finding.reason})" if finding.reason else ""):
        if extra:
            head += f"  {extra}"
    lines = [printable(head), *_wrap(finding.summary, "    ")]
    if finding.explanation:
        lines.extend(_wrap(finding.explanation, "    "))
    lines.extend(_fact_lines(finding))
    lines.extend(_fix_lines(finding.fixes))
    if finding.probe:
        lines.append(printable(f"    Probe it live: mailflow check --host {finding.probe}"))
    return lines


def render_findings(findings: Iterable[Finding]) -> str:
    blocks = ["\n".join(finding_lines(f)) for f in findings]
    return "\n\n".join(blocks)


def render_diagnosis(diagnosis: Diagnosis) -> str:
    count = len(diagnosis.findings)
    head = f"Input: {diagnosis.input.kind}, {diagnosis.input.bytes} bytes"
    if not count:
        return f"{head}\nNothing recognised: no mail-flow error found in this input.\n"
    noun = "finding" if count == 1 else "findings"
    return f"{head}, {count} {noun}\n\n{render_findings(diagnosis.findings)}\n"
