"""Remedy playbooks (config/playbooks/*.toml): per cause, the steps verify -> fix -> validate.

    [[playbook]]
    cause = "exo.tls.subject_mismatch"     # a cause id (and optionally its variant)
    [[playbook.step]]
    stage = "verify"                       # verify | fix | validate (shown in that order)
    title = "Check which certificate {server|the server} binds"   # {fact|fallback}
    powershell = "Get-ExchangeCertificate -Server {{server}}"    # values become inert literals
    # shell = "postconf -n | grep {{remote_host}}"                # POSIX shell instead
    action = "dns"                         # a non-command remedy: dns | firewall | contact | change
    when = ["thumbprint"]                  # only when these facts are known (an alternative)
    unless = ["thumbprint"]                # only when one of these is unknown (the other branch)
    [[playbook.step]]
    use = "enable_tls12"                   # a step kept once under [[shared_step]], any file

    [[shared_step]]                        # a step several playbooks give word for word
    name = "enable_tls12"
    stage = "fix"
    title = "..."

A fact a command needs but the input did not hold is never a reason to drop the step: it shows as
a visible placeholder (`'<recipient address>'`) and the step says how to get the value
(config/playbooks/placeholders.toml). `when`/`unless` choose between alternatives; a loader check
makes sure every alternative leaves a remedying step.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.core import powershell
from bot.core.diagnose.causes import KNOWN_FIELDS, CauseBook, load_causes
from bot.core.models import Fix, Severity
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, fill, load_toml, template_problem, toml_files

STAGES = ("verify", "fix", "validate")
ACTIONS = ("dns", "firewall", "contact", "change")
_MAX_SCRIPT = 4000
# A command that changes something: what makes a step a remedy rather than an inspection.
REMEDY_COMMAND = re.compile(
    r"\b(?:Set|New|Enable|Disable|Remove|Import|Add|Restart|Start|Stop|Update|Install|Clear"
    r"|Resume|Retry|Release|Register|Redirect|Suspend|Grant|Revoke|Move|Unblock|Export)-[A-Z]"
    r"|\b(?:postconf -e|postsuper|postqueue -f|systemctl (?:restart|reload)|exim -M"
    r"|update-ca-certificates)\b"
)
_SCRIPT_PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")


class PlaybookError(ConfigError):
    """config/playbooks is broken; the message names the file, the playbook and the key."""


@dataclass(frozen=True, slots=True)
class Step:
    stage: str
    title: str
    powershell: str | None = None
    shell: str | None = None
    action: str | None = None
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    @property
    def remedies(self) -> bool:
        """Does this step change something (a command, a DNS/firewall change, a contact)?"""
        if self.stage != "fix":
            return False
        script = self.powershell or self.shell or ""
        return self.action is not None or REMEDY_COMMAND.search(script) is not None


@dataclass(frozen=True, slots=True)
class Placeholder:
    shown: str  # what stands in the command: "<recipient address>"
    how: str  # how to find the value
    # (command pattern, placeholder): the first whose pattern the step's command contains wins
    # (a connector of Set-SendConnector is a send connector, not SERVER\Receive connector)
    cases: tuple[tuple[re.Pattern[str], Placeholder], ...] = ()

    def for_command(self, script: str) -> Placeholder:
        for pattern, case in self.cases:
            if pattern.search(script):
                return case
        return self


@dataclass(frozen=True)
class Playbooks:
    steps: Mapping[tuple[str, str], tuple[Step, ...]]  # (cause id, variant) -> steps
    placeholders: Mapping[str, Placeholder]

    def for_cause(self, cause_id: str, variant: str = "") -> tuple[Step, ...]:
        found = self.steps.get((cause_id, variant))
        if found is None and variant:
            found = self.steps.get((cause_id, ""))
        return found or ()

    def fixes(
        self, cause_id: str, variant: str, values: Mapping[str, str], text_values: Mapping[str, str]
    ) -> tuple[Fix, ...]:
        """The steps of a cause for these facts, in stage order, placeholders filled."""
        chosen = [step for step in self.for_cause(cause_id, variant) if _applies(step, values)]
        chosen.sort(key=lambda step: STAGES.index(step.stage))
        return tuple(self._fix(step, values, text_values) for step in chosen)

    def _fix(self, step: Step, values: Mapping[str, str], text_values: Mapping[str, str]) -> Fix:
        title = " ".join(fill(step.title, text_values).split())
        script = step.powershell or step.shell
        if script is None:
            return Fix(title, stage=step.stage)
        needed = _SCRIPT_PLACEHOLDER.findall(script)
        missing: list[tuple[str, str]] = []
        filled: dict[str, str] = {}
        for name in dict.fromkeys(needed):
            value = values.get(name)
            if value:
                filled[name] = value
                continue
            placeholder = (self.placeholders.get(name) or Placeholder(f"<{name}>", "")).for_command(
                script
            )
            filled[name] = placeholder.shown
            missing.append((placeholder.shown, placeholder.how))
        if step.powershell is not None:
            return Fix(
                title, powershell.render(step.powershell, filled).strip(), step.stage,
                missing=tuple(missing),
            )  # fmt: skip
        rendered = _SCRIPT_PLACEHOLDER.sub(lambda m: shlex.quote(filled[m.group(1)]), script)
        return Fix(title, None, step.stage, shell=rendered.strip(), missing=tuple(missing))


def _applies(step: Step, values: Mapping[str, str]) -> bool:
    if step.when and not all(values.get(name) for name in step.when):
        return False
    return not (step.unless and all(values.get(name) for name in step.unless))


def load_playbooks(directory: Path | None = None, causes: CauseBook | None = None) -> Playbooks:
    if directory is None and causes is None:
        return _default()
    book = causes or load_causes()
    return _load(directory or config_dir() / "playbooks", book)


@cache
def _default() -> Playbooks:
    return _load(config_dir() / "playbooks", load_causes())


def _load(directory: Path, causes: CauseBook) -> Playbooks:
    steps: dict[tuple[str, str], tuple[Step, ...]] = {}
    placeholders: dict[str, Placeholder] = {}
    known = {(cause.id, cause.variant) for cause in causes.causes}
    documents = [
        Entry(load_toml(path, PlaybookError), path.name, PlaybookError)
        for path in toml_files(directory, PlaybookError)
    ]
    shared = _shared_steps(documents)
    for document in documents:
        for name, raw in document.mapping("placeholder", lambda name, raw: (name, raw)).values():
            placeholders[name] = _placeholder(document.where, name, raw)
        for entry in document.tables("playbook"):
            key = (entry.string("cause"), entry.string("variant", ""))
            entry.where = f"{document.where}: playbook {key[0]!r}"
            if key not in known:
                raise entry.fail("names no cause in config/causes")
            if key in steps:
                raise entry.fail("defined twice")
            steps[key] = tuple(
                _used(item, shared) if item.has("use") else _step(item)
                for item in entry.tables("step", required=True)
            )
            gap = _alternative_without_remedy(steps[key])
            if gap is not None:
                raise entry.fail(f"has no remedying fix step{gap}{_REMEDY_HINT}")
            entry.done()
        document.done()
    _every_cause_has_a_playbook(causes, steps)
    return Playbooks(steps, placeholders)


_REMEDY_HINT = (
    " (a fix step needs a command that changes something, such as Set-/New-/Enable-, or an"
    f" action: {', '.join(ACTIONS)})"
)


def _alternative_without_remedy(steps: tuple[Step, ...]) -> str | None:
    """Which combination of known facts leaves only inspections, if any (None: none does)."""
    names = sorted({name for step in steps for name in (*step.when, *step.unless)})
    for mask in range(1 << len(names)):
        known = {name: "x" for bit, name in enumerate(names) if mask >> bit & 1}
        if not any(step.remedies for step in steps if _applies(step, known)):
            facts = ", ".join(known) or "none"
            return f" when the known facts among {names} are: {facts}" if names else ""
    return None


def _every_cause_has_a_playbook(
    causes: CauseBook, steps: Mapping[tuple[str, str], tuple[Step, ...]]
) -> None:
    lacking = sorted(
        f"{cause.id}" + (f" ({cause.variant})" if cause.variant else "")
        for cause in causes.causes
        if cause.severity is not Severity.INFO and (cause.id, cause.variant) not in steps
    )
    if lacking:
        raise PlaybookError(f"config/playbooks: no playbook for the causes {', '.join(lacking)}")


def _placeholder(origin: str, name: str, raw: object) -> Placeholder:
    entry = Entry(raw, f"{origin}: placeholder {name!r}", PlaybookError)
    if name not in KNOWN_FIELDS:
        raise entry.fail("is not a known fact")
    cases = tuple(_placeholder_case(case) for case in entry.tables("case"))
    result = Placeholder(entry.string("shown"), entry.string("how"), cases)
    entry.done()
    return result


def _placeholder_case(entry: Entry) -> tuple[re.Pattern[str], Placeholder]:
    text = entry.string("command")
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise entry.fail(f"command {text!r} is not a valid regex: {exc}") from None
    result = Placeholder(entry.string("shown"), entry.string("how"))
    entry.done()
    return pattern, result


def _shared_steps(documents: list[Entry]) -> dict[str, Step]:
    shared: dict[str, Step] = {}
    for document in documents:
        for entry in document.tables("shared_step"):
            name = entry.string("name")
            entry.where = f"{document.where}: shared_step {name!r}"
            if name in shared:
                raise entry.fail("defined twice")
            shared[name] = _step(entry)
    return shared


def _used(entry: Entry, shared: Mapping[str, Step]) -> Step:
    name = entry.string("use")
    entry.done()
    if name not in shared:
        raise entry.fail(f"uses {name!r}, which no [[shared_step]] defines")
    return shared[name]


def _step(entry: Entry) -> Step:
    stage = entry.choice("stage", STAGES)
    title = entry.string("title")
    problem = template_problem(title, KNOWN_FIELDS)
    if problem:
        raise entry.fail(f"title {problem}")
    script_ps = entry.string("powershell", "") or None
    script_sh = entry.string("shell", "") or None
    if script_ps and script_sh:
        raise entry.fail("a step has a powershell or a shell command, not both")
    for script in (script_ps, script_sh):
        if script is not None:
            _check_script(entry, script)
    action = entry.choice("action", ACTIONS) if entry.has("action") else None
    when = _facts(entry, "when")
    unless = _facts(entry, "unless")
    entry.done()
    return Step(stage, title, script_ps, script_sh, action, when, unless)


def _facts(entry: Entry, key: str) -> tuple[str, ...]:
    names = entry.strings(key, ())
    unknown = [name for name in names if name not in KNOWN_FIELDS]
    if unknown:
        raise entry.fail(f"{key} names unknown facts {unknown}")
    return names


def _check_script(entry: Entry, script: str) -> None:
    if len(script) > _MAX_SCRIPT:
        raise entry.fail("command is too long")
    unknown = set(_SCRIPT_PLACEHOLDER.findall(script)) - KNOWN_FIELDS
    if unknown:
        raise entry.fail(f"command uses unknown placeholders {sorted(unknown)}")
    leftover = _SCRIPT_PLACEHOLDER.sub("", script)
    if "{{" in leftover or "}}" in leftover:
        raise entry.fail("command has a malformed {{placeholder}}")
