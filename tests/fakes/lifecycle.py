"""Start/stop plumbing shared by the loopback test servers."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self


class LoopbackService:
    """`async with Server(...) as server:` starts it and always stops it."""

    async def start(self) -> Self:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def close_server(server: asyncio.Server | None, clients: set[asyncio.Task[None]]) -> None:
    """Stop accepting, cancel the client handlers and wait (bounded) for the socket to close."""
    if server is not None:
        server.close()
    for task in list(clients):
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    if server is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()
