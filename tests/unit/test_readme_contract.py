"""The README lists every finding id (users and other tools depend on them)."""

from pathlib import Path

from bot.core.check.texts import FINDING_IDS
from bot.core.diagnose.causes import load_causes
from bot.core.diagnose.fact import CANONICAL_FIELDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_check_finding_id_is_documented() -> None:
    missing = sorted(i for i in FINDING_IDS if f"`{i}`" not in README)
    assert not missing


def test_every_diagnose_finding_id_is_documented() -> None:
    missing = sorted(i for i in load_causes().ids if f"`{i}`" not in README)
    assert not missing


def test_every_canonical_fact_name_is_documented() -> None:
    missing = sorted(name for name in CANONICAL_FIELDS if f"`{name}`" not in README)
    assert not missing
