"""`mailflow diagnose`: parse text (bot.core.traces) and apply the knowledge (bot.core.diagnose).

The CLI streams files through `diagnose_input`; Slack handlers call `diagnose_text`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from bot.core.diagnose.engine import findings_from_events
from bot.core.knowledge import Knowledge
from bot.core.models import Diagnosis, InputInfo
from bot.core.traces import scan
from bot.inputs import MAX_INPUT_BYTES, TextInput, open_input


def diagnose_chunks(
    chunks: Iterable[str], size: Callable[[], int], knowledge: Knowledge | None = None
) -> Diagnosis:
    """Diagnose streamed text; `size` is asked for the byte count once the text is consumed."""
    events = scan(chunks)
    findings = findings_from_events(events, knowledge)
    return Diagnosis(InputInfo(events.kind.value, size()), findings)


def diagnose_text(text: str, knowledge: Knowledge | None = None) -> Diagnosis:
    size = len(text.encode("utf-8", "surrogatepass"))
    return diagnose_chunks([text], lambda: size, knowledge)


def diagnose_input(
    path: str, knowledge: Knowledge | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> Diagnosis:
    """Diagnose a file, or `-` for stdin. Raises bot.inputs.InputError (one-line message)."""
    stream = open_input(path, max_bytes=max_bytes)
    return diagnose_chunks(stream, lambda: stream.bytes, knowledge)


def diagnose_bytes(
    data: bytes, name: str, knowledge: Knowledge | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> Diagnosis:
    """Diagnose an uploaded file's bytes with the same decoding as files on disk (UTF-8, or
    UTF-16 with a BOM as Windows PowerShell writes it). Raises InputError past `max_bytes`."""
    stream = TextInput(name, io.BytesIO(data), max_bytes=max_bytes)
    return diagnose_chunks(stream, lambda: stream.bytes, knowledge)
