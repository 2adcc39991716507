"""Parsing of `/tlscheck` text into a command (pure; no Slack calls).

Forms: `contoso.com`, `admin@contoso.com`, `contoso.com expect=hybrid.contoso.com[,more]`,
`host=hybrid.contoso.com [expect=...]`, `watch <any check form>`, `stop <target>`, `summary`,
`collect`, `help`. Anything else raises UsageError with a short reason. A mention in a thread
(`@mailflow check contoso.com`) is read by `parse_mention`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.slack.engines import MAX_EXPECTED_NAMES, CheckSpec, InvalidTargetError, NormaliseFn

MAX_COMMAND_CHARS = 500


class UsageError(ValueError):
    """The command text is not one of the forms; str() says why, in one short line."""


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Summary:
    pass


@dataclass(frozen=True, slots=True)
class Check:
    spec: CheckSpec


@dataclass(frozen=True, slots=True)
class Watch:
    spec: CheckSpec


@dataclass(frozen=True, slots=True)
class Stop:
    target: str  # a watch's label or normalised target


@dataclass(frozen=True, slots=True)
class Collect:
    pass


Command = Help | Summary | Check | Watch | Stop | Collect
_MENTION = re.compile(r"<@[UW][A-Z0-9]{1,20}>")


def parse_command(text: str, normalise: NormaliseFn) -> Command:
    if len(text) > MAX_COMMAND_CHARS:
        raise UsageError("that command is too long")
    words = text.split()
    if not words or words == ["help"]:
        return Help()
    verb = words[0].lower()
    if verb == "summary":
        if len(words) > 1:
            raise UsageError("`summary` takes no arguments")
        return Summary()
    if verb == "help":
        raise UsageError("`help` takes no arguments")
    if verb == "collect":
        if len(words) > 1:
            raise UsageError("`collect` takes no arguments")
        return Collect()
    if verb == "watch":
        return Watch(_spec(words[1:], normalise))
    if verb == "stop":
        if len(words) != 2:
            raise UsageError("say which watch to stop, e.g. `/tlscheck stop contoso.com`")
        target = words[1]
        if target.lower().startswith("host="):
            return Stop("host=" + _normalised(target[5:], normalise, host_mode=True))
        return Stop(_normalised(target, normalise))
    return Check(_spec(words, normalise))


def parse_mention(text: str, normalise: NormaliseFn) -> CheckSpec | None:
    """`@mailflow check contoso.com` (any /tlscheck check form after `check`): the check to
    run, or None when the mention asks for something else. UsageError says what is wrong."""
    words = _MENTION.sub(" ", text[: MAX_COMMAND_CHARS * 2]).split()
    if not words or words[0].lower() != "check":
        return None
    if len(words) == 1:
        raise UsageError("say what to check, e.g. `@mailflow check contoso.com`")
    return _spec(words[1:], normalise)


def parse_check(target: str, normalise: NormaliseFn, *, expect: str = "") -> CheckSpec:
    """One check as `/tlscheck` takes it (`contoso.com`, `admin@contoso.com`, `host=NAME`, each
    with optional `expect=` names), plus `expect`: more expected names, separated by commas or
    spaces (a workflow step's own input). UsageError says what is wrong."""
    if len(target) + len(expect) > MAX_COMMAND_CHARS:
        raise UsageError("that target is too long")
    words = target.split()
    names = expect.replace(",", " ").split()
    if names:
        words.append("expect=" + ",".join(names))
    return _spec(words, normalise)


def _spec(words: list[str], normalise: NormaliseFn) -> CheckSpec:
    target: str | None = None
    host_mode = False
    expected: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        key = key.lower()
        if sep and key == "expect":
            if not value.strip(","):
                raise UsageError("`expect=` needs a name, e.g. expect=hybrid.contoso.com")
            expected.extend(_normalised(name, normalise) for name in value.split(",") if name)
        elif sep and key == "host":
            if target is not None:
                raise UsageError("give one target: a domain, an address or host=NAME")
            target, host_mode = _normalised(value, normalise, host_mode=True), True
        elif sep:
            raise UsageError(f"unknown option `{key[:30]}=`: use expect= or host=")
        elif target is not None:
            raise UsageError("give one target: a domain, an address or host=NAME")
        else:
            target = _normalised(word, normalise)
    if target is None:
        raise UsageError("say what to check, e.g. `/tlscheck contoso.com`")
    if len(expected) > MAX_EXPECTED_NAMES:
        raise UsageError(f"at most {MAX_EXPECTED_NAMES} expect= names")
    return CheckSpec(target, host_mode, tuple(dict.fromkeys(expected)))


def _normalised(value: str, normalise: NormaliseFn, *, host_mode: bool = False) -> str:
    if not value:
        raise UsageError("an empty name")
    try:
        name = normalise(value, host_mode)
    except InvalidTargetError as exc:
        raise UsageError(str(exc)) from None
    if "." not in name and ":" not in name:  # one label: a typo or an unknown subcommand
        raise UsageError(f"`{value[:60]}` is neither a subcommand nor a domain name")
    return name
