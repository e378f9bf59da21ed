"""The clock and the work queue, on a virtual clock (no sleeping, no wall-time assertions)."""

from __future__ import annotations

import pytest

from kubenb.runtime.clock import RealClock, VirtualClock, make_clock
from kubenb.runtime.queue import RateLimiter, WorkQueue


def fire_due(clock: VirtualClock) -> list[object]:
    fired = []
    while (t := clock.pop_due()) is not None:
        fired.append(t)
        t.callback()
    return fired


def test_make_clock() -> None:
    assert isinstance(make_clock("max"), VirtualClock)
    assert isinstance(make_clock(10), RealClock)
    assert make_clock("2.5").speed == 2.5  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="positive number or 'max'"):
        make_clock("fast")
    with pytest.raises(ValueError, match="positive"):
        RealClock(0)


def test_real_clock_scales_delays() -> None:
    clock = RealClock(10)
    assert clock.real_delay(5) == pytest.approx(0.5)
    a = clock.now()
    assert clock.now() >= a


def test_virtual_timers_fire_in_order_of_time_then_insertion() -> None:
    clock = VirtualClock(1000.0)
    order: list[str] = []
    clock.call_later(5, lambda: order.append("b"))
    clock.call_later(1, lambda: order.append("a"))
    clock.call_later(5, lambda: order.append("c"))
    assert clock.pop_due() is None  # nothing is due before time moves
    while clock.advance_to_next():
        fire_due(clock)
    assert order == ["a", "b", "c"]
    assert clock.now() == 1005.0


def test_cancelled_and_background_timers_do_not_count_as_work() -> None:
    clock = VirtualClock(0.0)
    t = clock.call_later(3, lambda: None)
    clock.call_later(10, lambda: None, background=True)
    assert clock.has_foreground()
    t.cancel()
    assert not clock.has_foreground()
    assert clock.next_due() == 10.0


def test_idle_virtual_clock_stands_still_unless_told_to_follow_wall_time() -> None:
    frozen = VirtualClock(50.0)
    frozen.idle(True)
    assert frozen.now() == 50.0
    assert frozen.real_delay(10) >= 3600  # it waits for a wake-up, not for time
    frozen.idle(False)
    clock = VirtualClock(50.0, follow_wall=True)
    clock.idle(True)
    first = clock.now()
    clock.idle(False)
    assert clock.now() >= first >= 50.0


def test_queue_deduplicates_and_never_hands_out_a_key_twice_at_once() -> None:
    q: WorkQueue[str] = WorkQueue(VirtualClock(0.0))
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    item = q.get()
    assert item == "a"
    q.add("a")  # re-added while processing: held back, not handed out again
    assert q.get() == "b"
    assert q.get() is None
    q.done("b")
    q.done("a")  # now it comes back, once
    assert q.get() == "a"
    assert q.get() is None


def test_add_after_keeps_the_earliest_and_fires_on_the_clock() -> None:
    clock = VirtualClock(0.0)
    q: WorkQueue[str] = WorkQueue(clock)
    q.add_after("x", 10)
    q.add_after("x", 4)
    q.add_after("x", 20)
    assert q.get() is None
    clock.advance_to_next()
    fire_due(clock)
    assert clock.now() == 4.0
    assert q.get() == "x"


def test_rate_limited_backoff_doubles_until_forget() -> None:
    limiter: RateLimiter[str] = RateLimiter(base=0.005, cap=1.0)
    delays = [limiter.when("k") for _ in range(10)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1.0
    assert limiter.retries("k") == 10
    limiter.forget("k")
    assert limiter.when("k") == 0.005


def test_backoff_stays_at_the_cap_however_often_an_item_fails() -> None:
    """An item that fails for ever (a create a quota refuses, on the max clock) once made
    ``2 ** n`` too large for a float and broke the engine's step."""
    limiter: RateLimiter[str] = RateLimiter(base=0.005, cap=1000.0)
    delays = [limiter.when("k") for _ in range(5000)]
    assert delays[-1] == 1000.0 and max(delays) == 1000.0


def test_shut_down_drops_everything() -> None:
    clock = VirtualClock(0.0)
    q: WorkQueue[str] = WorkQueue(clock)
    q.add("a")
    q.add_after("b", 5)
    q.shut_down()
    q.add("c")
    assert q.get() is None
    assert not clock.has_foreground()


def test_cancelled_foreground_timers_never_hide_live_ones() -> None:
    clock = VirtualClock(0.0)
    clock.call_later(50, lambda: None, background=True)
    stale = clock.call_later(5, lambda: None)
    stale.cancel()
    stale.cancel()  # twice is once
    assert not clock.has_foreground()
    live = clock.call_later(20, lambda: None)
    assert clock.has_foreground()
    clock.advance_to_next()  # jumps over the cancelled one to the live one
    assert clock.now() == 20.0
    assert clock.pop_due() is live
    assert not clock.has_foreground()
    live.cancel()  # cancelling a timer that already fired changes nothing
    assert clock.call_later(1, lambda: None) and clock.has_foreground()
