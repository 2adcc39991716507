"""The free-text reader's candidate pattern is a faster spelling of the plain one: both find the
same spans in any text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.diagnose.readers.freetext import _CANDIDATE

PLAIN = re.compile(r"[245]\.\d{1,3}\.\d{1,3}|(?<!\d)[45]\d\d(?:[ ,-]|(?=\n)|$)")
_TEXT = st.text(alphabet="0123456789245.-, \nx4", max_size=300)


@settings(max_examples=400)
@given(_TEXT)
def test_the_same_spans_as_the_plain_pattern(text: str) -> None:
    assert [m.span() for m in _CANDIDATE.finditer(text)] == [m.span() for m in PLAIN.finditer(text)]


def test_codes_and_non_codes() -> None:
    found = [m.group() for m in _CANDIDATE.finditer("550 5.7.1 x1450 y 421-ok 2.0.0 6.1.1")]
    assert found == ["550 ", "5.7.1", "421-", "2.0.0"]
