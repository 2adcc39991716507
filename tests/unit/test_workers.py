"""bot.workers.ordered_map: results in input order over forked workers, nothing lost when a
worker dies, no process left behind when the consumer stops early."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.workers import can_fork, ordered_map

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs os.fork")


def _square(item: int) -> tuple[bool, str]:
    return item % 3 != 0, f"{item * item}:{'é' * (item % 4)}\udcff"


@pytest.mark.parametrize("jobs", [1, 2, 3, 7])
def test_results_come_in_input_order_whatever_the_job_count(jobs: int) -> None:
    results = list(ordered_map(lambda: range(60), _square, jobs))
    assert results == [_square(item) for item in range(60)]


def test_work_is_spread_over_the_workers(tmp_path: Path) -> None:
    def work(item: int) -> tuple[bool, str]:
        return True, str(os.getpid())

    pids = {text for _, text in ordered_map(lambda: range(20), work, 4)}
    assert len(pids) == 4
    assert str(os.getpid()) not in pids


def test_a_worker_that_dies_loses_nothing() -> None:
    parent = os.getpid()

    def work(item: int) -> tuple[bool, str]:
        if item == 7 and os.getpid() != parent:
            os._exit(3)  # the worker dies in the middle of its items
        return True, f"{item}"

    results = list(ordered_map(lambda: range(40), work, 3))
    assert results == [(True, f"{item}") for item in range(40)]


def test_an_error_of_the_work_surfaces_in_the_parent_as_in_a_serial_run() -> None:
    def work(item: int) -> tuple[bool, str]:
        if item == 5:
            raise ValueError("bad item 5")
        return True, f"{item}"

    seen: list[str] = []
    with pytest.raises(ValueError, match="bad item 5"):
        for _, text in ordered_map(lambda: range(10), work, 2):
            seen.append(text)
    assert seen == ["0", "1", "2", "3", "4"]


def test_stopping_early_leaves_no_worker_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"

    def work(item: int) -> tuple[bool, str]:
        with pid_file.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return True, "x" * 70_000  # more than a pipe buffer: workers block on their pipes

    results = ordered_map(lambda: range(1000), work, 3)
    assert next(results) == (True, "x" * 70_000)
    results.close()
    pids = {int(line) for line in pid_file.read_text().split()} - {os.getpid()}
    assert pids
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already: not our child any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_that_enumerated_other_items_is_not_trusted(tmp_path: Path) -> None:
    """A directory that changes between the parent's and a worker's walk: the results that
    carry another item's key are not used; the parent does those items itself."""
    parent = os.getpid()

    def items() -> list[str]:
        names = [f"item-{n}" for n in range(30)]
        if os.getpid() != parent:
            names.insert(5, "appeared-later")  # the workers see one more item
        return names

    def work(item: str) -> tuple[bool, str]:
        return True, f"{item} in {'parent' if os.getpid() == parent else 'worker'}"

    results = [text.split(" in ")[0] for _, text in ordered_map(items, work, 3, key=str)]
    assert results == [f"item-{n}" for n in range(30)]  # each once, in the parent's order
