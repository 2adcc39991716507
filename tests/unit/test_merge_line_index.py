"""Merging facts by overlapping input lines looks only at the facts near each span, so that a
paste with thousands of facts merges in linear time; the result is the same as comparing all."""

from __future__ import annotations

from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers.merge import _LineIndex, merge_facts

_SCORES = {"text": 1, "postfix": 30}


def test_candidates_are_the_nearby_spans_and_the_wide_ones() -> None:
    index = _LineIndex()
    for n in range(2000):
        index.add(n, (10 * n + 1, 10 * n + 5))
    index.add(2000, (1, 100_000))  # wider than any block range: always a candidate
    index.add(2001, (0, 0))  # no lines: never one
    near = index.candidates((5001, 5003))
    assert 500 in near and 2000 in near and 2001 not in near
    assert len(near) <= 16  # not the 2,000 facts of the paste
    assert near == sorted(near)


def test_overlapping_facts_of_two_readers_merge_and_distant_ones_do_not() -> None:
    facts = []
    for n in range(3000):
        lines = (3 * n + 1, 3 * n + 2)
        facts.append(Fact(source="postfix", lines=lines, status="5.1.1", remote_host=f"h{n}"))
        facts.append(Fact(source="text", lines=lines, status="5.1.1", sender=f"s{n}@example.com"))
    merged = merge_facts(facts, _SCORES)
    assert len(merged) == 3000
    assert all(f.remote_host == f"h{n}" and f.sender == f"s{n}@example.com"
               for n, f in enumerate(merged))  # fmt: skip


def test_a_fact_that_grew_is_found_by_its_new_lines() -> None:
    index = _LineIndex()
    index.add(0, (1, 2))
    index.add(0, (1, 400))  # combined with a longer fact
    assert index.candidates((390, 391)) == [0]
