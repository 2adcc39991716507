"""Events API retries must never produce a second reply.

Slack re-delivers an event (with X-Slack-Retry-Num) when it did not get a 200 within 3 s, with
the same event_id, up to three times over about five minutes. The middleware records event ids
in the SQLite store (so a restart of the app inside that window does not answer twice) and
acknowledges repeats without running any listener. `SeenKeys` is a small in-memory TTL set,
used to answer a message only once when it arrives both as `message` and as `app_mention`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

log = logging.getLogger("mailflow.dedupe")


class SeenKeys:
    """Keys seen within `ttl` seconds; bounded to `max_size` entries (oldest dropped first)."""

    def __init__(self, ttl: float = 3600.0, max_size: int = 50_000) -> None:
        self._ttl = ttl
        self._max = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """True the first time `key` is offered within the TTL (and records it)."""
        now = time.monotonic()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        if len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self._ttl:
                break
            del self._seen[key]


EVENT_ID_TTL = 3600.0  # Slack's retries end about five minutes after the first delivery
FirstDelivery = Callable[[str], Awaitable[bool]]


def dedupe_middleware(first_delivery: FirstDelivery) -> Callable[..., Awaitable[Any]]:
    async def drop_repeated_events(
        body: dict[str, Any],
        next: Callable[[], Awaitable[Any]],
    ) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not await first_delivery(event_id):
            log.info("ignoring repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    return drop_repeated_events
