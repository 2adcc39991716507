"""The generic Format-List reader on the shapes a copy from a web page or chat client gives."""

from __future__ import annotations

from bot.core.diagnose.decode import Document, Segment
from bot.core.diagnose.decode.document import double_spaced
from bot.core.diagnose.decode.records import Record, records


def _records(text: str) -> list[Record]:
    return records(Document((Segment(text, 1),)))


def test_a_double_spaced_list_is_one_record_with_its_wrapped_value_joined() -> None:
    text = (
        "Identity : EX01\\7\n\nStatus : Retry\n\nMessageCount : 3\n\n"
        "LastError : 451 4.4.0 Primary target IP address responded with\n\n"
        "more of the error.\n\nNextHopDomain : fabrikam.com\n"
    )
    (record,) = _records(text)
    assert (
        record.get("LastError")
        == "451 4.4.0 Primary target IP address responded with more of the error."
    )
    assert record.get("NextHopDomain") == "fabrikam.com"
    assert (record.first_line, record.last_line) == (1, 11)
    assert record.line_of("NextHopDomain") == 11


def test_double_spaced_records_part_where_a_property_comes_again_or_at_two_blank_lines() -> None:
    one = "Identity : EX01\\1\n\nStatus : Retry\n\nMessageCount : 1\n\n"
    two = "Identity : EX01\\2\n\nStatus : Ready\n\nMessageCount : 0\n"
    assert [r.get("Identity") for r in _records(one + two)] == ["EX01\\1", "EX01\\2"]
    assert [r.get("Identity") for r in _records(one + "\n\n" + two)] == ["EX01\\1", "EX01\\2"]


def test_an_ordinary_list_still_parts_at_each_blank_line() -> None:
    text = "Identity : EX01\\1\nStatus   : Retry\n\nIdentity : EX01\\2\nStatus   : Ready\n"
    assert [(r.get("Identity"), r.first_line) for r in _records(text)] == [
        ("EX01\\1", 1),
        ("EX01\\2", 4),
    ]


def test_double_spaced_text_is_told_from_text_with_paragraphs() -> None:
    spaced = "\n\n".join(f"line {n}   " for n in range(8)).split("\n")
    paragraphs = ["a", "b", "", "c", "d", "", "e", "f", "", "g", "h"]
    assert double_spaced(spaced)
    assert not double_spaced(paragraphs)
    assert not double_spaced(["one", "", "two", "", "three"])  # too short to tell
