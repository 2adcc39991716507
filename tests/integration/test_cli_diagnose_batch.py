"""Batch mode as users run it: `mailflow diagnose DIR x.mbox ... --json` prints JSON Lines, one
object per message with input.path, in input order whatever --jobs is; unreadable inputs are
one line on stderr each and the rest go on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.integration.cli_run import REPO, mailflow

SAMPLES = REPO / "tests" / "data" / "diagnose"


def _lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _ids(document: dict[str, object]) -> list[str]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return [finding["id"] for finding in findings]


def _tree(root: Path) -> tuple[list[Path], Path]:
    """The repository's .eml samples copied into two levels of folders, an mbox of three of
    them, a file batch mode does not read and a symlink that leaves the tree."""
    emls = sorted(SAMPLES.rglob("*.eml"))
    for index, sample in enumerate(emls):
        folder = root / ("a" if index % 2 else "b") / sample.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample, folder / sample.name)
    (root / "picture.png").write_bytes(b"\x89PNG not a bounce")
    (root / "outside.eml").symlink_to(emls[0])
    mbox = root / "z" / "bounces.mbox"
    mbox.parent.mkdir()
    with mbox.open("wb") as handle:
        for sample in emls[:3]:
            handle.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n")
            handle.write(sample.read_bytes().rstrip(b"\n") + b"\n\n")
    return emls, mbox


def test_a_tree_and_an_mbox_give_one_line_per_message_in_order(tmp_path: Path) -> None:
    emls, mbox = _tree(tmp_path)
    serial = mailflow("diagnose", str(tmp_path), "--json", "--jobs", "1")
    parallel = mailflow("diagnose", str(tmp_path), "--json", "--jobs", "3")
    assert serial.returncode == parallel.returncode == 0, serial.stderr + parallel.stderr
    assert parallel.stdout == serial.stdout
    documents = _lines(parallel)
    paths = [str(document["input"]["path"]) for document in documents]  # type: ignore[index]
    assert len(documents) == len(emls) + 3
    assert not any(p.endswith(("picture.png", "outside.eml")) for p in paths)
    assert paths[-3:] == [f"{mbox}#{number}" for number in (1, 2, 3)]
    assert paths[:-3] == sorted(paths[:-3])
    for number, sample in enumerate(emls[:3]):
        alone = json.loads(mailflow("diagnose", str(sample), "--json").stdout)
        assert _ids(documents[-3 + number]) == _ids(alone)


def test_terminal_reports_are_the_same_with_and_without_workers(tmp_path: Path) -> None:
    emls, _ = _tree(tmp_path)
    serial = mailflow("diagnose", str(tmp_path), "--color", "always", "-j", "1")
    parallel = mailflow("diagnose", str(tmp_path), "--color", "always", "-j", "2")
    assert serial.returncode == parallel.returncode == 0
    assert "\x1b[" in parallel.stdout
    assert parallel.stdout == serial.stdout
    assert parallel.stdout.count("\x1b[1m== ") == len(emls) + 3  # one heading per message


def test_an_unreadable_input_is_one_stderr_line_and_the_rest_go_on(tmp_path: Path) -> None:
    sample = sorted(SAMPLES.rglob("*.eml"))[0]
    result = mailflow("diagnose", "/nonexistent/x.eml", str(sample), str(sample), "--json")
    assert result.returncode == 0
    assert result.stderr.strip() == "mailflow: error: /nonexistent/x.eml: no such file"
    assert [d["input"]["path"] for d in _lines(result)] == [str(sample)] * 2  # type: ignore[index]


def test_nothing_readable_exits_2(tmp_path: Path) -> None:
    result = mailflow("diagnose", "/nonexistent/x.eml", str(tmp_path / "y.txt"), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 2
    assert "Traceback" not in result.stderr
