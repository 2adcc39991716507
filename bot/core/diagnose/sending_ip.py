"""The IP address a rejection says the message came from (config/knowledge/sending_ip.toml).

"Client host [192.0.2.1] blocked using zen.spamhaus.org" names the sender's public address: the one
a blocklist lists or a PTR record is missing for. It is a fact of its own (`sending_ip`), never the
receiving host's `ip`, so that a fix checks the reverse DNS of the right machine.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from bot.core.diagnose.causes import regex_problem
from bot.core.diagnose.readers.common import ip_value
from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml


class SendingIpError(ConfigError):
    """config/knowledge/sending_ip.toml is broken."""


def load_sending_ip_patterns(path: Path | None = None) -> tuple[re.Pattern[str], ...]:
    if path is None:
        return _default()
    return _load(path)


@cache
def _default() -> tuple[re.Pattern[str], ...]:
    return _load(config_dir() / "knowledge" / "sending_ip.toml")


def _load(path: Path) -> tuple[re.Pattern[str], ...]:
    entry = Entry(load_toml(path, SendingIpError), path.name, SendingIpError)
    if entry.raw("schema", None) != 1:
        raise entry.fail("'schema = 1' expected")
    patterns = []
    for pattern in entry.strings("patterns"):
        problem = regex_problem(pattern)
        if problem is None and "(?P<ip>" not in pattern:
            problem = "needs a (?P<ip>...) group"
        if problem is not None:
            raise entry.fail(f"pattern {pattern!r}: {problem}")
        try:
            patterns.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise entry.fail(f"pattern {pattern!r} does not compile: {exc}") from None
    entry.done()
    return tuple(patterns)


def sending_ip_in(text: str) -> str | None:
    """The sender's IP the text names, or None."""
    for pattern in _default():
        found = pattern.search(text)
        if found:
            value = ip_value(found.group("ip"))
            if value:
                return value
    return None
