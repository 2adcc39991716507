"""`@mailflow check ...` in a thread and `/tlscheck collect`."""

from __future__ import annotations

import pytest

from bot.slack.commands import Collect, UsageError, parse_command, parse_mention
from bot.slack.engines import CheckSpec, domain_normalise


def mention(text: str) -> CheckSpec | None:
    return parse_mention(text, domain_normalise)


def test_a_check_mention_takes_every_check_form() -> None:
    assert mention("<@UBOT> check contoso.com") == CheckSpec("contoso.com")
    assert mention("<@UBOT>  CHECK host=mail.contoso.com") == CheckSpec("mail.contoso.com", True)
    assert mention("check admin@contoso.com expect=hybrid.contoso.com <@UBOT>") == CheckSpec(
        "contoso.com", expected_names=("hybrid.contoso.com",)
    )


@pytest.mark.parametrize("text", ["<@UBOT> hello", "<@UBOT>", "please check this NDR", ""])
def test_other_mentions_are_not_checks(text: str) -> None:
    assert mention(text) is None


@pytest.mark.parametrize("text", ["<@UBOT> check", "<@UBOT> check a.com b.com", "check x=1 a.com"])
def test_a_malformed_check_mention_says_why(text: str) -> None:
    with pytest.raises(UsageError):
        mention(text)


def test_collect() -> None:
    assert parse_command("collect", domain_normalise) == Collect()
    with pytest.raises(UsageError):
        parse_command("collect onprem", domain_normalise)
