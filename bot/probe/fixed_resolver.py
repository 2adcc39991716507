"""aiohttp's resolver interface answering only with addresses the probe already resolved and
checked (bot.probe.https), so that aiohttp never looks a name up by itself. Imports aiohttp:
loaded only when an MTA-STS policy is fetched."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult


class FixedResolver(AbstractResolver):
    def __init__(self, host: str, addresses: list[str]) -> None:
        self.host = host
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower() != self.host:
            raise OSError(f"unexpected host {host[:60]!r}")  # never resolve anything else
        return [
            ResolveResult(
                hostname=host, host=ip, port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for ip in self.addresses
        ]  # fmt: skip

    async def close(self) -> None:
        return None
