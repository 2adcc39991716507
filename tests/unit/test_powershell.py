import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import powershell as ps

QUOTES = "'\u2018\u2019\u201a\u201b"
_PART = re.compile(
    rf"[{QUOTES}]((?:[^{QUOTES}]|[{QUOTES}]{{2}})*)[{QUOTES}]"
    r"|\[char\]0x([0-9A-F]{4})|\[char\]::ConvertFromUtf32\(0x([0-9A-F]+)\)"
)


def evaluate(expression: str) -> str:
    """What PowerShell makes of quote()'s output: a single-quoted literal (doubled quotes
    inside), or a parenthesised `+` of literals and [char] code points. Fails on anything
    else, so an expression outside that inert grammar cannot pass."""
    grouped = expression.startswith("(")
    inner = expression[1:-1] if grouped else expression
    assert not grouped or expression.endswith(")")
    text, position = [], 0
    while True:
        match = _PART.match(inner, position)
        assert match is not None, inner[position:]
        literal, point, wide = match.groups()
        if literal is not None:
            text.append(re.sub(rf"([{QUOTES}])\1", r"\1", literal))
        else:
            text.append(chr(int(point or wide, 16)))
        position = match.end()
        if position == len(inner):
            break
        assert grouped and inner.startswith(" + ", position), inner[position:]
        position += 3
    return "".join(text)


def test_quote_doubles_single_quotes_and_keeps_injection_inert() -> None:
    subject = "CN=x'; Remove-Item C:\\ -Recurse; '"
    quoted = ps.quote(subject)
    assert quoted == "'CN=x''; Remove-Item C:\\ -Recurse; '''"


def test_quote_doubles_typographic_quotes_powershell_also_accepts() -> None:
    assert ps.quote("a\u2019b") == "'a\u2019\u2019b'"


def test_quote_writes_controls_as_code_points_so_the_value_stays_exact() -> None:
    quoted = ps.quote("a\r\nb\x00c\u2028d\u202e")
    assert quoted == (
        "('a' + [char]0x000D + [char]0x000A + 'b' + [char]0x0000 + 'c' + [char]0x2028 + 'd'"
        " + [char]0x202E)"
    )
    assert ps.quote("\nx") == "('' + [char]0x000A + 'x')"  # a string first: + concatenates
    assert evaluate(ps.quote("\U000e0001 tag")) == "\U000e0001 tag"


def test_quote_splits_three_backticks_so_a_code_fence_needs_no_alteration() -> None:
    assert ps.quote("CN=a```b") == "('CN=a``' + '`b')"
    assert evaluate(ps.quote("``````")) == "``````"
    assert "```" not in ps.quote("x" + "`" * 10)


def test_quote_leaves_dollar_and_backtick_alone_inside_single_quotes() -> None:
    assert ps.quote("$(whoami)`n") == "'$(whoami)`n'"


@given(st.text(max_size=200))
def test_quoted_value_is_exact_inert_and_printable(value: str) -> None:
    quoted = ps.quote(value)
    assert evaluate(quoted) == value  # inside the inert grammar, and nothing altered
    assert quoted.isprintable() and "```" not in quoted


def test_thumbprint_normalises_and_rejects_garbage() -> None:
    assert ps.thumbprint("ab:cd " * 0 + "a" * 40) == "A" * 40
    with pytest.raises(ps.UnsafeValueError):
        ps.thumbprint("abc'; rm")


def test_render_quotes_every_placeholder_and_requires_all_values() -> None:
    script = ps.render("Get-X -Identity {{server}} -Name {{name}}", {"server": "S1", "name": "o'k"})
    assert script == "Get-X -Identity 'S1' -Name 'o''k'"
    with pytest.raises(KeyError):
        ps.render("Set-X {{missing}}", {})


def test_render_leaves_scriptblock_braces_alone() -> None:
    script = ps.render("Where-Object { $_.Subject -like {{pattern}} }", {"pattern": "*x*"})
    assert script == "Where-Object { $_.Subject -like '*x*' }"


def test_tls_certificate_name_format() -> None:
    assert (
        ps.tls_certificate_name("CN=R3, O=Let's Encrypt, C=US", "CN=mail.contoso.com")
        == "<I>CN=R3, O=Let's Encrypt, C=US<S>CN=mail.contoso.com"
    )


def test_quote_array_quotes_every_element() -> None:
    assert ps.quote_array(["mail.contoso.com", "o'k"]) == "@('mail.contoso.com', 'o''k')"
    assert ps.quote_array([]) == "@()"


def test_render_turns_a_tuple_into_an_array_literal() -> None:
    script = ps.render("New-X -DomainName {{names}} -Subject {{name}}", {
        "names": ("a.test", "b'; Remove-Item C:\\; '"), "name": "a.test",
    })  # fmt: skip
    assert script == "New-X -DomainName @('a.test', 'b''; Remove-Item C:\\; ''') -Subject 'a.test'"
