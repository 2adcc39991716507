"""normalise_target: every input form users paste, and the garbage we refuse."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import (
    InvalidTarget,
    TargetKind,
    display_name,
    normalise_name,
    normalise_target,
)


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("contoso.com", "contoso.com", TargetKind.DOMAIN),
        ("  Contoso.COM.  ", "contoso.com", TargetKind.DOMAIN),
        ("admin@contoso.com", "contoso.com", TargetKind.EMAIL),
        ('"odd@local"@Contoso.com', "contoso.com", TargetKind.EMAIL),
        ("mailto:admin@contoso.com", "contoso.com", TargetKind.EMAIL),
        ("MAILTO:admin@contoso.com?subject=hi", "contoso.com", TargetKind.EMAIL),
        ("<mailto:admin@contoso.com|admin@contoso.com>", "contoso.com", TargetKind.EMAIL),
        ("<http://contoso.com|contoso.com>", "contoso.com", TargetKind.URL),
        ("<https://mail.contoso.com/owa>", "mail.contoso.com", TargetKind.URL),
        ("https://mail.contoso.com:443/owa?x=1", "mail.contoso.com", TargetKind.URL),
        ("hybrid.contoso.com", "hybrid.contoso.com", TargetKind.DOMAIN),
        ("bücher.example", "xn--bcher-kva.example", TargetKind.DOMAIN),
        ("BÜCHER.example", "xn--bcher-kva.example", TargetKind.DOMAIN),
        ("info@münchen.de", "xn--mnchen-3ya.de", TargetKind.EMAIL),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", TargetKind.DOMAIN),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah", TargetKind.DOMAIN),  # ideographic full stop
        ("ab--cd.example", "ab--cd.example", TargetKind.DOMAIN),  # valid LDH host name
        ("a" * 63 + ".com", "a" * 63 + ".com", TargetKind.DOMAIN),
    ],
)
def test_accepted_forms(text: str, name: str, kind: TargetKind) -> None:
    target = normalise_target(text)
    assert (target.name, target.kind) == (name, kind)


def test_display_is_unicode() -> None:
    assert normalise_target("xn--bcher-kva.example").display == "bücher.example"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "contoso .com",
        "contoso..com",
        ".contoso.com",
        "con_toso.com",
        "-contoso.com",
        "contoso-.com",
        "a" * 64 + ".com",
        ".".join(["abcdefghi"] * 26),  # 259 characters
        "x" * 5000,
        "admin@",
        "@",
        "mailto:",
        "http://",
        "contoso.com/path",
        "1.2.3",
        "xn--zz.example",
        "conto$o.com",
        "<!channel>",
        "bad\x00name.com",
        "\u202econtoso.com",
    ],
)
def test_garbage_is_refused_with_one_line(text: str) -> None:
    with pytest.raises(InvalidTarget) as info:
        normalise_target(text)
    message = str(info.value)
    assert message
    assert "\n" not in message
    assert len(message) < 160


@pytest.mark.parametrize("text", ["192.0.2.1", "[192.0.2.1]", "2001:db8::1", "admin@[192.0.2.1]"])
def test_ip_literals_only_in_host_mode(text: str) -> None:
    with pytest.raises(InvalidTarget, match="IP address"):
        normalise_target(text)
    target = normalise_target(text, host_mode=True)
    assert target.is_ip
    assert target.kind is TargetKind.IP


def test_ipv6_literal_is_compressed() -> None:
    assert normalise_target("[IPv6:2001:DB8:0::1]", host_mode=True).name == "2001:db8::1"


def test_host_mode_names_are_names() -> None:
    target = normalise_target("Hybrid.Contoso.com", host_mode=True)
    assert (target.name, target.is_ip) == ("hybrid.contoso.com", False)


def test_normalise_name() -> None:
    assert normalise_name("Mail.Bücher.example.") == "mail.xn--bcher-kva.example"
    with pytest.raises(InvalidTarget, match="is an IP address; expected a host name"):
        normalise_name("192.0.2.1")


def test_display_name_shows_u_labels() -> None:
    assert display_name("mail.xn--bcher-kva.example") == "mail.bücher.example"
    assert display_name("contoso.com") == "contoso.com"
    assert display_name("xn--ls8h.example") == "xn--ls8h.example"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_target_or_a_one_line_refusal(text: str) -> None:
    try:
        target = normalise_target(text, host_mode=True)
    except InvalidTarget as exc:
        assert "\n" not in str(exc)
        assert len(str(exc)) < 200
    else:
        assert target.name == target.name.lower()
        assert target.name.isascii()
        assert not target.name.endswith(".")
        assert len(target.name) <= 253


def test_huge_input_is_refused_fast() -> None:
    started = time.perf_counter()
    for text in ("a." * 100_000, "@" * 1_000_000, "<" + "|" * 1_000_000 + ">"):
        with pytest.raises(InvalidTarget):
            normalise_target(text)
    assert time.perf_counter() - started < 0.5
