"""Per-process memory of values that may be a little stale (verified API keys, who listens to
events, compiled filters): each entry expires `seconds` after it is stored, and the map empties
itself once it holds `limit` entries, so it never grows without bound."""

import time
from collections.abc import Hashable
from typing import Any


class Expiring:
    def __init__(self, limit: int = 1000):
        self.limit = limit
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, default=None):
        found = self._entries.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        return default

    def put(self, key: Hashable, value, seconds: float):
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + seconds, value)
        return value

    def pop(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self):
        return iter(self._entries)
