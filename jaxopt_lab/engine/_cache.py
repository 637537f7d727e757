"""The engine's caches of traced and compiled work, all under one rule (a locked LRU).

Sweeps may run from several threads: one at a time reads or fills a cache, and a value two
threads ask for at once is made once (so a kernel is built and compiled once). A key that
cannot be hashed (an unhashable optimizer or surface) gets a fresh value every time.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from typing import Any

#: Kernels and their compiled executables kept alive (both backends share it).
KERNELS_KEPT = 32
#: What inspecting an optimizer found (a trace each), per optimizer and point shape.
FACTS_KEPT = 256


class LruCache:
    """At most ``size`` values, the least recently used dropped first; thread-safe."""

    def __init__(self, size: int):
        self.size = size
        self._values: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.RLock()  # re-entrant: making a value may fill the cache again

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept under ``key``, or ``make()``, kept there from now on."""
        try:
            hash(key)
        except TypeError:
            return make()
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            value = self._values[key] = make()
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


KERNELS = LruCache(KERNELS_KEPT)
FACTS = LruCache(FACTS_KEPT)
