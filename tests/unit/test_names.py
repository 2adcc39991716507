import pytest

from bot.core.names import covered, matches


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mail.contoso.com", "MAIL.contoso.com.", True),
        ("mail.contoso.com", "hybrid.contoso.com", False),
        ("*.contoso.com", "hybrid.contoso.com", True),
        ("*.contoso.com", "contoso.com", False),
        ("*.contoso.com", "a.b.contoso.com", False),
        ("*.com", "contoso.com", False),
        ("h*.contoso.com", "hybrid.contoso.com", False),
        ("*.*.contoso.com", "a.b.contoso.com", False),
        ("", "contoso.com", False),
    ],
)
def test_matches(pattern: str, host: str, expected: bool) -> None:
    assert matches(pattern, host) is expected


def test_covered_by_any_name() -> None:
    assert covered(["SERVER1", "*.contoso.com"], "hybrid.contoso.com")
    assert not covered(["SERVER1"], "hybrid.contoso.com")
