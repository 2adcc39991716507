"""`python -m bot ARGS` as a user runs it: a real subprocess in the repository, its output read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def mailflow(
    *args: str, stdin: bytes = b"", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=REPO, input=stdin.decode(),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
