from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import dn
from bot.core.tables import Entry, TableError, fill, load_toml, template_problem


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("CN=mail.contoso.com, O=Contoso, S=WA, C=US", "CN=mail.contoso.com,O=Contoso,ST=WA,C=US"),
        ("C=US, O=Contoso, CN=mail.contoso.com", "/C=US/O=Contoso/CN=mail.contoso.com"),
        ('CN=x, O="Contoso, Inc."', r"CN=x,O=Contoso\, Inc."),
        ("E=admin@contoso.com, CN=x", "EMAILADDRESS=admin@contoso.com,CN=X"),
        ("OID.2.5.4.3=x", "CN=x"),
    ],
)
def test_the_same_name_in_windows_rfc4514_and_openssl_forms(one: str, other: str) -> None:
    assert dn.same(one, other)


def test_different_names_differ_and_empty_names_are_never_the_same() -> None:
    assert not dn.same("CN=SERVER1", "CN=mail.contoso.com")
    assert not dn.same("", "")


def test_common_name_and_escaped_utf8() -> None:
    assert dn.common_name('CN="a, b", O=X') == "a, b"
    assert dn.split(r"CN=caf\C3\A9") == [("CN", "café")]
    assert dn.common_name("O=Only") is None


def test_entry_reports_unknown_and_malformed_keys() -> None:
    entry = Entry({"id": "x", "extra": 1}, "file.toml: cause 1")
    assert entry.string("id") == "x"
    with pytest.raises(TableError, match=r"file.toml: cause 1: unknown keys \['extra'\]"):
        entry.done()
    with pytest.raises(TableError, match="tags must be a string or a list"):
        Entry({"tags": [1]}, "w").strings("tags")


def test_load_toml_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("a = [", encoding="utf-8")
    with pytest.raises(TableError, match=r"broken\.toml: not valid TOML") as caught:
        load_toml(broken)
    assert "\n" not in str(caught.value)
    with pytest.raises(TableError, match="missing"):
        load_toml(tmp_path / "absent.toml")


def test_fill_uses_values_then_fallbacks() -> None:
    assert fill("{a} and {b|nothing} and {c}", {"a": "1"}) == "1 and nothing and ?"
    assert template_problem("{a} }", None) == "has a stray brace or a malformed placeholder"
    assert template_problem("{zzz}", frozenset({"a"})) == "uses unknown placeholder {zzz}"
