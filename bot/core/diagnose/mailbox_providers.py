"""Public mailbox providers (config/knowledge/mailbox_providers.toml): a recipient at gmail.com
or outlook.com is nobody's organisation mailbox, so a fix for the organisation's own mailboxes
(quotas, aliases) does not apply to it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from bot.core.paths import ConfigError, config_dir
from bot.core.tables import Entry, load_toml

_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class MailboxProvidersError(ConfigError):
    """config/knowledge/mailbox_providers.toml is broken."""


def load_mailbox_providers(path: Path | None = None) -> frozenset[str]:
    return _default() if path is None else _load(path)


@cache
def _default() -> frozenset[str]:
    return _load(config_dir() / "knowledge" / "mailbox_providers.toml")


def _load(path: Path) -> frozenset[str]:
    entry = Entry(load_toml(path, MailboxProvidersError), path.name, MailboxProvidersError)
    if entry.raw("schema", None) != 1:
        raise entry.fail("'schema = 1' expected")
    domains = entry.strings("domains")
    for domain in domains:
        if _DOMAIN.fullmatch(domain) is None:
            raise entry.fail(f"{domain!r} is not a lower-case domain name")
    entry.done()
    return frozenset(domains)


def is_public_mailbox(domain: str) -> bool:
    """Is `domain` (lower case) one of a public mailbox provider's?"""
    return domain in _default()
