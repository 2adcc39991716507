"""Per-user rate limit for live checks: a sliding window of `limit` checks per `window` seconds."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    def __init__(self, limit: int = 10, window: float = 60.0, max_users: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._max_users = max_users
        self._hits: dict[str, deque[float]] = {}

    @property
    def limit(self) -> int:
        return self._limit

    def acquire(self, user: str) -> float:
        """Record a check for `user` and return 0, or return the seconds to wait (not recorded)."""
        now = time.monotonic()
        hits = self._hits.setdefault(user, deque())
        while hits and now - hits[0] >= self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return self._window - (now - hits[0])
        hits.append(now)
        if len(self._hits) > self._max_users:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        stale = [
            user for user, hits in self._hits.items() if not hits or now - hits[-1] >= self._window
        ]
        for user in stale:
            del self._hits[user]
