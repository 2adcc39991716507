"""The public mailbox providers' list is data, validated when it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.diagnose.mailbox_providers import (
    MailboxProvidersError,
    is_public_mailbox,
    load_mailbox_providers,
)


def test_the_shipped_list_names_the_big_providers() -> None:
    domains = load_mailbox_providers()
    assert {"gmail.com", "outlook.com", "yahoo.com"} <= domains
    assert is_public_mailbox("gmail.com")
    assert not is_public_mailbox("contoso.com")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('schema = 1\ndomains = ["Gmail.com"]\n', "is not a lower-case domain name"),
        ('schema = 2\ndomains = ["gmail.com"]\n', "'schema = 1' expected"),
        ('schema = 1\ndomains = ["gmail.com"]\nextra = 1\n', "unknown keys"),
    ],
)
def test_a_broken_list_is_refused_with_a_clear_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "mailbox_providers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MailboxProvidersError, match=error):
        load_mailbox_providers(path)
