"""`mailflow diagnose` and the Slack bot's diagnosis: read the input (bot.inputs), hand its bytes
to the pure pipeline (bot.core.diagnose.pipeline).

    diagnose_input("ndr.eml")                 # a file, or "-" for stdin
    diagnose_text(pasted)                     # a Slack message
    diagnose_bytes(upload, "trace.csv")       # an uploaded file
    for item in input_items(["bounces/", "x.mbox"]): diagnose_item(item)   # batch mode
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence

from bot.core.diagnose.pipeline import Knowledge
from bot.core.diagnose.pipeline import diagnose_bytes as _diagnose_bytes
from bot.core.diagnose.pipeline import diagnose_case as _diagnose_case
from bot.core.diagnose.pipeline import diagnose_text as _diagnose_text
from bot.core.models import Diagnosis
from bot.inputs import (
    MAX_INPUT_BYTES,
    ByteInput,
    InputError,
    InputItem,
    input_items,
    open_input,
)
from bot.scan_ahead import scan_ahead


def diagnose_input(
    path: str,
    knowledge: Knowledge | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
    jobs: int = 1,
) -> Diagnosis:
    """Diagnose a file, or `-` for stdin, in up to `jobs` processes (bot.scan_ahead). Raises
    bot.inputs.InputError (one-line message)."""
    return _stream(lambda: open_input(path, max_bytes=max_bytes), knowledge, jobs)


def diagnose_text(text: str, knowledge: Knowledge | None = None) -> Diagnosis:
    return _diagnose_text(text, knowledge)


def diagnose_bytes(
    data: bytes, name: str, knowledge: Knowledge | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> Diagnosis:
    """Diagnose an uploaded file's bytes with the same decoding as files on disk. Raises
    InputError past `max_bytes`."""
    return _stream(lambda: ByteInput(name, io.BytesIO(data), max_bytes=max_bytes), knowledge)


def diagnose_item(
    item: InputItem | InputError, knowledge: Knowledge | None = None, jobs: int = 1
) -> tuple[str, Diagnosis | InputError]:
    """One input of bot.inputs.input_items(): its path and its diagnosis (or why it could not be
    read), in up to `jobs` processes."""
    if isinstance(item, InputError):
        return str(item).split(":", 1)[0], item
    try:
        return item.path, _stream(item.open, knowledge, jobs)
    except InputError as error:
        return item.path, error


def diagnose_case(
    inputs: Sequence[str | list[bytes]], knowledge: Knowledge | None = None
) -> Diagnosis:
    """Pieces of one case (chat pastes as text, files as bytes) judged together."""
    return _diagnose_case(inputs, knowledge)


def diagnose_together(
    paths: Sequence[str], knowledge: Knowledge | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> tuple[Diagnosis, list[str], list[InputError]]:
    """`--together`: every readable input of `paths` (files, directories, mbox messages) judged
    as one case; the paths used and the inputs that could not be read."""
    used: list[str] = []
    errors: list[InputError] = []

    def inputs() -> Iterator[ByteInput]:
        for item in input_items(paths, max_bytes=max_bytes):
            if isinstance(item, InputError):
                errors.append(item)
                continue
            try:
                data = item.open()
            except InputError as error:
                errors.append(error)
                continue
            used.append(item.path)
            yield data

    diagnosis = _diagnose_case(inputs(), knowledge)
    return diagnosis, used, errors


def _stream(
    reopen: Callable[[], ByteInput], knowledge: Knowledge | None, jobs: int = 1
) -> Diagnosis:
    data = reopen()
    with scan_ahead(reopen, data.size, jobs) as prepare:
        return _diagnose_bytes(data, lambda: data.bytes, knowledge, prepare)
