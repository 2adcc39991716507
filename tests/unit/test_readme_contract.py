"""The README lists every finding id (users and other tools depend on them)."""

from pathlib import Path

from bot.core.check.texts import FINDING_IDS
from bot.core.knowledge import load_knowledge

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_check_finding_id_is_documented() -> None:
    missing = sorted(i for i in FINDING_IDS if f"`{i}`" not in README)
    assert not missing


def test_every_diagnose_finding_id_is_documented() -> None:
    missing = sorted(i for i in load_knowledge().ids if f"`{i}`" not in README)
    assert not missing
