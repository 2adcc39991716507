from __future__ import annotations

import pytest

from bot.slack.commands import (
    Check,
    Help,
    Stop,
    Summary,
    UsageError,
    Watch,
    parse_check,
    parse_command,
)
from bot.slack.engines import CheckSpec, domain_normalise


def parse(text: str) -> object:
    return parse_command(text, domain_normalise)


def test_all_forms() -> None:
    assert parse("contoso.com") == Check(CheckSpec("contoso.com"))
    assert parse("admin@Contoso.com") == Check(CheckSpec("contoso.com"))
    assert parse("<mailto:admin@contoso.com|admin@contoso.com>") == Check(CheckSpec("contoso.com"))
    assert parse("contoso.com expect=hybrid.contoso.com") == Check(
        CheckSpec("contoso.com", expected_names=("hybrid.contoso.com",))
    )
    assert parse("host=hybrid.contoso.com") == Check(CheckSpec("hybrid.contoso.com", True))
    assert parse("watch contoso.com") == Watch(CheckSpec("contoso.com"))
    assert parse("watch host=hybrid.contoso.com expect=a.contoso.com,b.contoso.com") == Watch(
        CheckSpec("hybrid.contoso.com", True, ("a.contoso.com", "b.contoso.com"))
    )
    assert parse("stop contoso.com") == Stop("contoso.com")
    assert parse("host=192.0.2.25") == Check(CheckSpec("192.0.2.25", True))
    assert parse("bücher.example") == Check(CheckSpec("xn--bcher-kva.example"))
    assert parse("summary") == Summary()
    assert parse("help") == Help()
    assert parse("   ") == Help()


@pytest.mark.parametrize(
    "text",
    [
        "contoso.com fabrikam.com",
        "contoso",
        "contoso.com color=blue",
        "watch",
        "stop",
        "summary now",
        "help me",
        "<!channel>",
        "contoso.com expect=",
        "x" * 600,
        "expect=a.contoso.com",
        "host=a.contoso.com b.contoso.com",
    ],
)
def test_malformed_input_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse(text)


def test_spec_label_and_round_trip() -> None:
    spec = CheckSpec("hybrid.contoso.com", True, ("hybrid.contoso.com",))
    assert spec.label == "host=hybrid.contoso.com expect=hybrid.contoso.com"
    assert CheckSpec.from_json(spec.to_json()) == spec
    assert spec.key("C1") != spec.key("C2")


@pytest.mark.parametrize(
    "target",
    ["contoso.com", "admin@Contoso.com", "host=hybrid.contoso.com",
     "contoso.com expect=hybrid.contoso.com", "HOST=mx.contoso.com expect=a.contoso.com"],
)  # fmt: skip
def test_a_step_target_takes_every_check_form_of_the_command(target: str) -> None:
    assert Check(parse_check(target, domain_normalise)) == parse(target)


def test_a_step_adds_its_expected_names_to_the_target() -> None:
    spec = parse_check(
        "host=mx.contoso.com", domain_normalise, expect="a.contoso.com, b.contoso.com"
    )
    assert spec == CheckSpec("mx.contoso.com", True, ("a.contoso.com", "b.contoso.com"))
    for bad in ("", "summary", "watch contoso.com", "a.com b.com", "x" * 600):
        with pytest.raises(UsageError):
            parse_check(bad, domain_normalise)
