"""What a person at a terminal gets on top of the plain text: colour and emphasis, and the live
view of a running check on stderr.

The layout is bot.render.text's alone; colour is an overlay that styles its lines by their role
(severity label, finding id, host heading, fix title, script, verdict cell) and never changes a
character, so the coloured output with the escape sequences removed is the plain output.
Everything remote was already made printable by bot.render.text, and lines are handed to rich as
Text objects, never parsed as markup.

Colour follows `--color auto|always|never`, then NO_COLOR (no-color.org: no colour, emphasis
such as bold stays) and FORCE_COLOR (force-color.org: colour even when not a terminal);
`always` and `never` win over both variables, NO_COLOR wins over FORCE_COLOR, and `auto`
colours only a terminal.

rich renders both the colour and the progress line: it knows the terminal (colour depth, legacy
Windows consoles, width) and redraws a spinner in place without garbling the lines printed above
it. It is imported only when styling or progress is actually wanted, so piped, redirected and
JSON output import nothing beyond the standard library (start-up time is most of a check).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TextIO

from bot.render.text import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

    from bot.probe.engine import ProbeUpdate

_SPINNER = "dots"


class Styling(Enum):
    PLAIN = "plain"  # the text as it is
    EMPHASIS = "emphasis"  # bold and dim, no colour (NO_COLOR)
    COLOR = "color"


def styling(choice: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> Styling:
    """How to write to `stream` given --color and the environment."""
    env = os.environ if environ is None else environ
    if choice == "never":
        return Styling.PLAIN
    if choice == "always":
        return Styling.COLOR
    forced = bool(env.get("FORCE_COLOR"))
    if not (forced or is_terminal(stream)):
        return Styling.PLAIN
    return Styling.EMPHASIS if env.get("NO_COLOR") else Styling.COLOR


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _console(stream: TextIO, mode: Styling) -> Console:
    from rich.console import Console  # noqa: PLC0415 (only when styling: see the docstring)

    return Console(
        file=stream,
        force_terminal=True,
        color_system="standard",  # basic colours: every terminal that does colour has them
        no_color=mode is Styling.EMPHASIS,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=True,  # the lines are wrapped already
    )


def write(
    text: str,
    stream: TextIO,
    mode: Styling,
    severities: Mapping[str, str] | None = None,
) -> None:
    """Write rendered text; styled unless `mode` is PLAIN. `severities` maps finding ids to
    "error"/"warning"/"info" so verdict cells take their finding's colour."""
    if mode is Styling.PLAIN:
        stream.write(text)
        return
    console = _console(stream, mode)
    styler = _Styler(severities or {})
    lines = text.split("\n")
    for number, line in enumerate(lines):
        last = number == len(lines) - 1
        if last and not line:
            break
        console.print(styler.style(line), end="" if last else "\n")
    stream.flush()


# -- line roles -------------------------------------------------------------------------------
_SEVERITY_STYLE = {"ERROR": "bold red", "WARN": "bold yellow", "INFO": "bold cyan"}
_WORD_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
_HEADING = re.compile(r"^(ERROR|WARN|INFO) +(\S+)")
_FIX = re.compile(r"^ {4}Fix \d+:")
_FACTS = re.compile(r"^( {2}| {4})Facts( \([^)]*\))?:$")
_FACT_LABEL = re.compile(r"^ *([^:]{1,40}):( |$)")
_PROBE = re.compile(r"^( {4}Probe it live: )(.*)$")
_TABLE_HEAD = "  ADDRESS "


@dataclass
class _Styler:
    """Styles the lines of one rendered report in order; the state says which block (a host
    table, a fix, a facts list) the current line belongs to."""

    severities: Mapping[str, str]
    verdict_at: int | None = None  # column of VERDICT in the current table
    in_fix: bool = False
    facts_indent: int | None = None

    def style(self, line: str) -> Any:
        from rich.text import Text  # noqa: PLC0415 (only when styling)

        styled = Text(line)
        if line.startswith(_TABLE_HEAD):
            self.verdict_at = line.find("VERDICT")
            styled.stylize("bold")
            return styled
        if self.verdict_at is not None and line.startswith("  ") and len(line) > self.verdict_at:
            word = line[self.verdict_at :]
            if word != "-":
                colour = _WORD_STYLE.get(self.severities.get(word, ""), "red")
                styled.stylize("green" if word == "ok" else colour, self.verdict_at)
            return styled
        self.verdict_at = None
        if self.facts_indent is not None:
            if line.startswith(" " * self.facts_indent):
                label = _FACT_LABEL.match(line)
                if label:
                    styled.stylize("dim", label.start(1), label.end(1) + 1)
                return styled
            self.facts_indent = None
        self._style_block_line(styled, line)
        return styled

    def _style_block_line(self, styled: Any, line: str) -> None:
        if self.in_fix and line.startswith(" " * 8):
            styled.stylize("cyan")  # the fix's script
            return
        if self.in_fix and line.startswith(" " * 5):
            return  # the fix title, wrapped
        self.in_fix = False
        if heading := _HEADING.match(line):
            styled.stylize(_SEVERITY_STYLE[heading.group(1)], 0, heading.end(1))
            styled.stylize("bold", heading.start(2), heading.end(2))
        elif _FIX.match(line):
            styled.stylize("bold green", 4, line.index(":") + 1)
            self.in_fix = True
        elif facts := _FACTS.match(line):
            styled.stylize("bold dim")
            self.facts_indent = len(facts.group(1)) + 2
        elif probe := _PROBE.match(line):
            styled.stylize("bold", probe.end(1))
        elif line.startswith("No problems found"):
            styled.stylize("green")
        elif line and not line.startswith(" "):  # Target:, Input:, host headings, Notes:
            styled.stylize("bold")


# -- progress ---------------------------------------------------------------------------------
@dataclass
class CheckProgress:
    """The live view of `mailflow check` on a terminal's stderr: a line when DNS is done, a
    line as each attempt starts and as it ends, and below them a spinner with what is still
    running and the time since the check started. Call close() when the check is over."""

    target: str
    console: Console
    started: float = field(default_factory=time.monotonic)
    running: dict[tuple[str, int], str] = field(default_factory=dict)  # (ip, try) -> host
    done: int = 0
    planned: int | None = None
    _live: Live | None = None
    _spinner: Any = None

    @classmethod
    def open(cls, target: str, stream: TextIO, mode: Styling) -> CheckProgress:
        from rich.live import Live  # noqa: PLC0415 (only on a terminal)

        progress = cls(target, _console(stream, mode))
        progress._live = Live(
            progress,
            console=progress.console,
            refresh_per_second=8,
            transient=True,  # the spinner goes; the lines printed above it stay
            redirect_stdout=False,  # the report goes to stdout, untouched
            redirect_stderr=False,
        )
        progress._live.start()
        return progress

    def __call__(self, update: ProbeUpdate) -> None:
        from bot.probe.engine import AttemptFinished, AttemptStarted, DnsResolved  # noqa: PLC0415

        if isinstance(update, DnsResolved):
            self.planned = update.planned_attempts
            hosts = len(update.evidence.hosts)
            self._line(f"  DNS: {hosts} host(s), {self.planned} attempt(s) to make")
        elif isinstance(update, AttemptStarted):
            self.running[(update.ip, update.attempt)] = update.host
            self._line(f"  {update.host} {update.ip} attempt {update.attempt}: connecting…")
        elif isinstance(update, AttemptFinished):
            attempt = update.attempt
            self.running.pop((attempt.ip, attempt.attempt), None)
            self.done, self.planned = update.done, update.planned
            outcome = attempt.tls_version or (attempt.failure.value if attempt.failure else "done")
            where = f"[{update.done}/{update.planned}] {attempt.host} {attempt.ip}"
            self._line(f"  {where} attempt {attempt.attempt}: {outcome}")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def status(self) -> str:
        """The spinner's text: the elapsed time first, so that a narrow terminal cuts the
        detail rather than the clock."""
        elapsed = f"{time.monotonic() - self.started:.1f} s"
        if self.planned is None:
            return f"{elapsed} · resolving {self.target}"
        counts = f"{elapsed} · {self.done}/{self.planned} done"
        if not self.running:
            return counts
        (ip, attempt), host = next(iter(self.running.items()))
        others = f" and {len(self.running) - 1} more" if len(self.running) > 1 else ""
        return f"{counts} · waiting for {host} {ip} (attempt {attempt}){others}"

    def _line(self, text: str) -> None:
        from rich.text import Text  # noqa: PLC0415

        self.console.print(Text(printable(text)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.spinner import Spinner  # noqa: PLC0415

        if self._spinner is None:
            self._spinner = Spinner(_SPINNER, style="cyan")
        self._spinner.update(text=printable(self.status()))
        yield self._spinner
