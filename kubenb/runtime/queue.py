"""A work queue with client-go's semantics, on the cluster clock.

- A key that is already waiting is not added twice (events for one object collapse into one
  reconcile, which is what makes reconciliation level-based).
- A key added while it is being processed is marked dirty and handed out again after ``done``,
  never to two workers at once.
- ``add_after`` waits on the cluster clock; ``add_rate_limited`` waits an exponential back-off
  per key (5 ms doubling to 1000 s, as client-go's default controller rate limiter) until
  ``forget`` resets it.

Keys are opaque hashables; controllers use :class:`kubenb.runtime.controller.Request`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from kubenb.runtime.clock import Clock, Timer

__all__ = ["RateLimiter", "WorkQueue"]

K = TypeVar("K", bound=Hashable)


class RateLimiter(Generic[K]):
    """Per-item exponential back-off: ``base * 2**failures``, capped at ``cap`` seconds."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[K, int] = {}

    def when(self, item: K) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        if n >= 64:  # long past the cap; 2**n would not even fit a float after ~1000 failures
            return self.cap
        return min(self.cap, self.base * (2 ** n))

    def retries(self, item: K) -> int:
        return self._failures.get(item, 0)

    def forget(self, item: K) -> None:
        self._failures.pop(item, None)


class WorkQueue(Generic[K]):
    """FIFO of distinct keys with dirty/processing sets (``util/workqueue`` semantics)."""

    def __init__(self, clock: Clock, *, name: str = "",
                 rate_limiter: RateLimiter[K] | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
        self.name = name
        self.clock = clock
        self.rate_limiter: RateLimiter[K] = rate_limiter or RateLimiter()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, Timer] = {}  # delayed adds, the earliest kept per key
        self._deferred: dict[K, None] = {}  # coalesced adds, promoted when the engine is free
        self._lock = threading.Lock()
        self._on_ready = on_ready
        self.shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item: K) -> None:
        with self._lock:
            if self.shutting_down or item in self._dirty:
                return
            self._dirty.add(item)
            if item in self._processing:
                return  # handed out again by done()
            self._queue.append(item)
        if self._on_ready is not None:
            self._on_ready()

    def get(self) -> K | None:
        """The next key to process, or None when none is ready (never blocks)."""
        with self._lock:
            if not self._queue:
                return None
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item

    def done(self, item: K) -> None:
        ready = False
        with self._lock:
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                ready = True
        if ready and self._on_ready is not None:
            self._on_ready()

    def add_deferred(self, item: K) -> None:
        """Add ``item`` once the engine has nothing more urgent to do (no cluster time passes).

        For reactions to a flood of similar events (each pod of a ReplicaSet changing status):
        they coalesce into one reconcile instead of one per event.
        """
        with self._lock:
            if self.shutting_down or item in self._dirty:
                return
            self._deferred[item] = None
        if self._on_ready is not None:
            self._on_ready()

    def promote(self) -> bool:
        """Move deferred keys to the queue; True when there were any."""
        with self._lock:
            if not self._deferred:
                return False
            items = list(self._deferred)
            self._deferred.clear()
        for item in items:
            self.add(item)
        return True

    def add_after(self, item: K, delay: float, *, background: bool = False) -> None:
        """Add ``item`` once ``delay`` seconds of cluster time have passed."""
        if delay <= 0:
            self.add(item)
            return
        due = self.clock.now() + delay
        with self._lock:
            if self.shutting_down:
                return
            pending = self._waiting.get(item)
            if pending is not None and not pending.cancelled and pending.when <= due:
                return  # an earlier wake-up is already set
            if pending is not None:
                pending.cancel()

        def fire() -> None:
            with self._lock:
                if self._waiting.get(item) is timer:
                    del self._waiting[item]
            self.add(item)

        timer = self.clock.call_at(due, fire, background=background)
        with self._lock:
            self._waiting[item] = timer

    def add_rate_limited(self, item: K) -> None:
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: K) -> None:
        self.rate_limiter.forget(item)

    def num_requeues(self, item: K) -> int:
        return self.rate_limiter.retries(item)

    def busy(self) -> bool:
        """Keys are waiting or being processed (delayed adds are the clock's business)."""
        with self._lock:
            return bool(self._queue or self._processing or self._deferred)

    def pending(self) -> list[K]:
        with self._lock:
            return list(self._queue) + list(self._processing) + list(self._deferred)

    def shut_down(self) -> None:
        with self._lock:
            self.shutting_down = True
            for timer in self._waiting.values():
                timer.cancel()
            self._waiting.clear()
            self._queue.clear()
            self._dirty.clear()
            self._deferred.clear()
