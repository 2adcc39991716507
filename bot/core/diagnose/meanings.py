"""The RFC 3463 meanings of enhanced status codes (config/knowledge/rfc3463.toml)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from bot.core.enhanced_status import DetailMeaning, StatusTable, SubjectMeaning
from bot.core.models import BOUNCE_REASONS
from bot.core.paths import config_dir
from bot.core.tables import Entry, load_toml


class MeaningsError(ValueError):
    """config/knowledge/rfc3463.toml is broken."""


def load_meanings(path: Path | None = None) -> StatusTable:
    if path is None:
        return _default()
    return _load(path)


@cache
def _default() -> StatusTable:
    return _load(config_dir() / "knowledge" / "rfc3463.toml")


def _load(path: Path) -> StatusTable:
    document = Entry(load_toml(path, MeaningsError), path.name, MeaningsError)
    table = document.table("enhanced_status")
    document.done()
    classes = table.mapping("classes", _class_meaning)
    if set(classes) != {"2", "4", "5"}:
        raise table.fail('classes must name exactly "2", "4" and "5"')
    subjects: dict[int, SubjectMeaning] = {}
    for item in table.tables("subject"):
        code = item.integer("code")
        if not 0 <= code <= 7 or code in subjects:
            raise item.fail(f"subject code {code!r} must be a unique integer 0-7")
        subjects[code] = SubjectMeaning(
            item.string("title"), item.string("meaning"), _reason(item, item.string("reason"))
        )
        item.done()
    details: dict[tuple[int, int], DetailMeaning] = {}
    for item in table.tables("detail"):
        label = item.string("code")
        found = re.fullmatch(r"X\.([0-7])\.(\d{1,3})", label)
        if found is None:
            raise item.fail(f"detail code {label!r} must look like X.1.1")
        key = (int(found.group(1)), int(found.group(2)))
        if key in details:
            raise item.fail(f"detail {label} defined twice")
        reason = item.string("reason", "")
        details[key] = DetailMeaning(
            item.string("title"), item.string("meaning"), _reason(item, reason) if reason else None
        )
        item.done()
    table.done()
    return StatusTable.build({int(k): v for k, v in classes.items()}, subjects, details)


def _class_meaning(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"class {name} needs a meaning")
    return value.strip()


def _reason(entry: Entry, value: str) -> str:
    if value not in BOUNCE_REASONS:
        raise entry.fail(f"unknown reason {value!r}")
    return value
