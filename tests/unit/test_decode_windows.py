"""Windows of a long input: cut as bytes after a line feed (or at a character boundary inside a
line longer than a window), with CRLF and lone CR folded to LF and bad UTF-8 replaced. Whatever
the chunking and wherever the cuts fall, the windows put together are the input decoded whole,
and each window knows the input line it starts on.

The window is shrunk to a few bytes here so that every cut position is reached."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.core.diagnose.decode as decode
from bot.core.diagnose.decode import documents, unquoted

_PIECES = st.sampled_from(
    [b"a", b"bc ", b"\n", b"\r\n", b"\r", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x93\xa7",
     b"\xe2\x82", b"\x80", b"\xff", b"550 5.1.1 ", b"#"]
)  # fmt: skip


def _whole(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(_PIECES, min_size=1, max_size=80),
    window=st.integers(min_value=4, max_value=24),
    chunk=st.integers(min_value=1, max_value=30),
)
def test_windows_put_together_are_the_input_decoded_whole(
    pieces: list[bytes], window: int, chunk: int
) -> None:
    data = b"x" + b"".join(pieces)  # not a message header: the input is cut into windows
    original = decode.WINDOW_CHARS
    decode.WINDOW_CHARS = window
    try:
        docs = list(documents(_chunks(data, chunk)))
    finally:
        decode.WINDOW_CHARS = original
    texts = [doc.segments[0].text for doc in docs]
    assert "".join(texts) == _whole(data)
    assert [doc.index for doc in docs] == list(range(len(docs)))
    line = 1
    for doc, text in zip(docs, texts, strict=True):
        assert doc.first_line == line
        line += text.count("\n")


def test_a_window_never_ends_between_cr_and_lf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "WINDOW_CHARS", 4)
    docs = list(documents([b"abc\r\ndef\r\nghi"]))
    assert "".join(doc.segments[0].text for doc in docs) == "abc\ndef\nghi"
    assert all(not doc.segments[0].text.endswith("\r") for doc in docs)


def test_a_line_longer_than_a_window_is_cut_between_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decode, "WINDOW_CHARS", 5)
    docs = list(documents([b"x" + "\u20ac".encode() * 6]))
    assert [doc.segments[0].text for doc in docs] == ["x\u20ac"] + ["\u20ac"] * 5


def test_a_text_quoted_whole_loses_its_quote_marks_and_keeps_its_lines() -> None:
    text = "Forwarding this:\n\n> Generating server: EX01\n>> > nested: 1\n>\n> end\n"
    plain = unquoted(text)
    assert plain.split("\n") == [
        "Forwarding this:",
        "",
        "Generating server: EX01",
        "nested: 1",
        "",
        "end",
        "",
    ]


def test_a_text_with_a_few_quoted_lines_is_left_alone() -> None:
    text = "Log line 1\nLog line 2\n> quoted remark\nLog line 3\nLog line 4\nLog line 5\n"
    assert unquoted(text) == text
