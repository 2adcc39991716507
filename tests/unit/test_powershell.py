import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import powershell as ps


def test_quote_doubles_single_quotes_and_keeps_injection_inert() -> None:
    subject = "CN=x'; Remove-Item C:\\ -Recurse; '"
    quoted = ps.quote(subject)
    assert quoted == "'CN=x''; Remove-Item C:\\ -Recurse; '''"


def test_quote_doubles_typographic_quotes_powershell_also_accepts() -> None:
    assert ps.quote("a\u2019b") == "'a\u2019\u2019b'"


def test_quote_removes_newlines_and_controls() -> None:
    assert ps.quote("a\r\nb\x00c\u2028d") == "'abcd'"


def test_quote_leaves_dollar_and_backtick_alone_inside_single_quotes() -> None:
    assert ps.quote("$(whoami)`n") == "'$(whoami)`n'"


@given(st.text(max_size=200))
def test_quoted_literal_never_terminates_early(value: str) -> None:
    body = ps.quote(value)[1:-1]
    # Inside a single-quoted literal, quotes only ever appear in doubled pairs.
    for q in "'\u2018\u2019\u201a\u201b":
        runs = [len(r) for r in body.split(q)[1:-1:2]] if q in body else []
        assert body.count(q) % 2 == 0, (q, runs)
    assert "\n" not in body and "\r" not in body


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
