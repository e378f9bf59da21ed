"""The cluster clock: one notion of "now" for the store, the controllers and the simulated nodes.

Kubernetes is full of durations (image pulls, readiness delays, back-offs, grace periods, lease
timeouts, progress deadlines). A learner wants to see them at the pace of a real cluster, or ten
times faster; a test wants a scenario of ten simulated minutes to run in a fraction of a second
and to give the same result every time. So every component asks this clock, never ``time``:

- :class:`RealClock` is wall time scaled by ``speed`` (``kubenb serve --speed 10``).
- :class:`VirtualClock` is the ``max`` speed: time stands still while there is work, and jumps to
  the next timer as soon as the engine is idle. When nothing but *background* timers are pending
  (lease heartbeats, periodic monitors, cron schedules: things that recur forever), time stops
  until something happens or ``advance`` moves it, so an idle cluster does not spin and a run
  does not depend on how fast its caller is.

Timers are kept here, in one heap ordered by (due time, sequence number), which is what makes a
virtual-clock run deterministic. The engine (:mod:`kubenb.runtime.manager`) pops and runs them
in its own thread; ``call_later`` is safe from any thread.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Clock", "RealClock", "Timer", "VirtualClock", "make_clock"]

#: Where a virtual clock starts when nothing else is said (wall time is used by default; a fixed
#: epoch is what determinism tests pass).
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Timer:
    """A pending call; ``cancel()`` makes it a no-op."""

    __slots__ = ("_clock", "background", "callback", "cancelled", "popped", "when")

    def __init__(self, when: float, callback: Callable[[], None], background: bool,
                 clock: Clock | None = None) -> None:
        self.when = when
        self.callback = callback
        self.background = background
        self.cancelled = False
        self.popped = False
        self._clock = clock

    def cancel(self) -> None:
        clock = self._clock
        if clock is None:
            self.cancelled = True
            return
        with clock._lock:
            if not self.cancelled and not self.popped and not self.background:
                clock._foreground -= 1  # a cancelled timer no longer keeps the engine busy
            self.cancelled = True


class Clock:
    """Cluster time in seconds since the Unix epoch, and the timers that wait on it."""

    virtual = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._foreground = 0  # live foreground timers in the heap
        #: called (from any thread) when a timer is added, so a sleeping engine can wake up
        self.on_timer_added: Callable[[], None] | None = None

    # -- time
    def now(self) -> float:
        raise NotImplementedError

    def datetime(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.now(), datetime.UTC)

    def real_delay(self, seconds: float) -> float:
        """How long, in wall seconds, ``seconds`` of cluster time take (for sleeping)."""
        raise NotImplementedError

    # -- timers
    def call_at(self, when: float, callback: Callable[[], None], *,
                background: bool = False) -> Timer:
        timer = Timer(when, callback, background, self)
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._seq), timer))
            if not background:
                self._foreground += 1
        if self.on_timer_added is not None:
            self.on_timer_added()
        return timer

    def call_later(self, delay: float, callback: Callable[[], None], *,
                   background: bool = False) -> Timer:
        return self.call_at(self.now() + max(0.0, delay), callback, background=background)

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)[2].popped = True  # counted out when it was cancelled

    def next_due(self) -> float | None:
        """When the earliest live timer is due, or None."""
        with self._lock:
            self._drop_cancelled()
            return self._heap[0][0] if self._heap else None

    def has_foreground(self) -> bool:
        """Whether a timer that is part of converging (not a periodic chore) is pending."""
        with self._lock:
            return self._foreground > 0

    def pop_due(self) -> Timer | None:
        """The earliest timer if it is due now, removed from the heap."""
        now = self.now()
        with self._lock:
            self._drop_cancelled()
            if not self._heap or self._heap[0][0] > now:
                return None
            _, _, timer = heapq.heappop(self._heap)
            timer.popped = True
            if not timer.background:
                self._foreground -= 1
            return timer

    def advance_to_next(self) -> bool:
        """On a virtual clock, jump to the next timer; False when time is real."""
        return False


class RealClock(Clock):
    """Wall time, ``speed`` times faster (it starts at the wall time of its creation)."""

    def __init__(self, speed: float = 1.0) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def real_delay(self, seconds: float) -> float:
        return max(0.0, seconds) / self.speed


class VirtualClock(Clock):
    """The ``max`` speed: a discrete-event clock.

    Time stands still while the engine works and jumps to the next timer as soon as it is idle.
    When only background timers are left, time stops: nothing recurring (heartbeats, cron
    schedules) runs until something happens or :meth:`~kubenb.runtime.manager.Manager.advance`
    moves time on. That is what makes a run repeatable: nothing depends on how long the caller
    took between two steps. ``follow_wall=True`` lets an idle clock follow wall time instead (at
    1x), for a cluster that should keep ticking between steps at the cost of repeatability.
    """

    virtual = True

    def __init__(self, start: float | datetime.datetime | None = None, *,
                 follow_wall: bool = False) -> None:
        super().__init__()
        if start is None:
            start = time.time()
        elif isinstance(start, datetime.datetime):
            start = start.timestamp()
        self._now = float(start)
        self.follow_wall = follow_wall
        self._idle_since: tuple[float, float] | None = None  # (virtual, wall) when idling began

    def now(self) -> float:
        # no lock: read thousands of times per pod, and each attribute read is atomic. A writer
        # only ever moves _now forward before it clears _idle_since (see idle), so a reader
        # that sees either state gets a time no earlier than any it could have got before
        idle = self._idle_since
        if idle is not None:
            virtual, wall = idle
            return max(self._now, virtual + (time.monotonic() - wall))
        return self._now

    def real_delay(self, seconds: float) -> float:
        # a frozen idle clock waits for a wake-up, not for time
        return max(0.0, seconds) if self.follow_wall else 3600.0

    def idle(self, idling: bool) -> None:
        """The engine says whether it is waiting with only background timers pending."""
        if not self.follow_wall:
            return
        with self._lock:
            if idling and self._idle_since is None:
                self._idle_since = (self._now, time.monotonic())
            elif not idling and self._idle_since is not None:
                virtual, wall = self._idle_since
                self._now = max(self._now, virtual + (time.monotonic() - wall))
                self._idle_since = None

    def advance_to_next(self) -> bool:
        with self._lock:
            self._drop_cancelled()
            if not self._heap:
                return False
            self._now = max(self._now, self._heap[0][0])
            return True

    def set(self, when: float) -> None:
        with self._lock:
            self._now = max(self._now, when)


def make_clock(speed: float | str | None = None, *,
               start: float | datetime.datetime | None = None) -> Clock:
    """``"max"`` gives a :class:`VirtualClock`; a number (default 1) a :class:`RealClock`."""
    if speed is None:
        return RealClock(1.0)
    if isinstance(speed, str):
        if speed.strip().lower() == "max":
            return VirtualClock(start)
        try:
            speed = float(speed)
        except ValueError:
            raise ValueError(f"speed must be a positive number or 'max', got {speed!r}") from None
    return RealClock(float(speed))



