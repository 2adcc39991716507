"""The readers of one input, most specific first (ties between equal scores go to the earlier).

Readers written in code are listed here; bounce readers described by data come from
config/readers/ (one MtaReader each, or the subclass registered in HOOKS under the same name).
"""

from __future__ import annotations

from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.bounce import GenericBounceReader
from bot.core.diagnose.readers.googlegroups import GoogleGroupsReader
from bot.core.diagnose.readers.mta import MtaReader, MtaSpec, load_specs
from bot.core.diagnose.readers.rfc3464 import Rfc3464Reader
from bot.core.diagnose.readers.sendmail import SendmailReader

CODE_READERS: tuple[type[Reader], ...] = (
    SendmailReader,
    Rfc3464Reader,
    GenericBounceReader,
)
HOOKS: dict[str, type[MtaReader]] = {
    "googlegroups": GoogleGroupsReader,
}


def new_readers() -> list[Reader]:
    """Fresh reader instances (readers may keep state across the windows of one input)."""
    readers: list[Reader] = [cls() for cls in CODE_READERS]
    readers.extend(_mta_reader(spec) for spec in load_specs())
    return readers


def _mta_reader(spec: MtaSpec) -> MtaReader:
    return HOOKS.get(spec.name, MtaReader)(spec)
