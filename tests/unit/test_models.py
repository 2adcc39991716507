import pytest

from bot.core.models import Finding, Severity, most_severe_first


def test_unknown_bounce_reason_is_rejected() -> None:
    with pytest.raises(ValueError, match="bounce reason"):
        Finding(id="x.y", severity=Severity.ERROR, summary="s", reason="nonsense")


def test_most_severe_first_is_stable() -> None:
    a = Finding(id="a", severity=Severity.INFO, summary="a")
    b = Finding(id="b", severity=Severity.ERROR, summary="b")
    c = Finding(id="c", severity=Severity.ERROR, summary="c")
    d = Finding(id="d", severity=Severity.WARNING, summary="d")
    assert [f.id for f in most_severe_first([a, b, c, d])] == ["b", "c", "d", "a"]


def test_finding_fields_are_read_only() -> None:
    f = Finding(id="a", severity=Severity.INFO, summary="a", fields={"fqdn": "x"})
    with pytest.raises(TypeError):
        f.fields["fqdn"] = "y"  # type: ignore[index]
