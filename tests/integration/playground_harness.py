"""The playground in-process on loopback (real app, real handlers), for tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from bot.playground.serve import RunningPlayground, playground_config, start_playground
from bot.slack.engines import Engines

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests/data/playground"
UI = {"X-Playground": "1"}


@asynccontextmanager
async def playground(
    env: Mapping[str, str] | None = None, engines: Engines | None = None
) -> AsyncIterator[RunningPlayground]:
    """A playground with strict rendering: a block type the page cannot show fails the push."""
    config = playground_config({"MAILFLOW_WATCH_INTERVAL": "0.3", **(env or {})})
    async with start_playground(
        config, engines, port=0, examples=REPO / "examples", strict=True
    ) as running:
        yield running


async def wait_until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def pushed_html(running: RunningPlayground) -> str:
    return "\n".join(str(p.data.get("html", "")) for p in running.playground.conversation.pushes)
