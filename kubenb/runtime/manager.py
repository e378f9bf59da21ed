"""The engine: one thread that runs every controller's reconciles, the informers and the timers.

The kube-controller-manager, the scheduler and the kubelets of the embedded cluster all run here,
one step at a time: drain the informers' inboxes into their caches (so a reconcile sees every
earlier write, its own included), fire the timers that are due, then hand one request to one
controller, taking controllers in turn so none starves another. One thread makes a virtual-clock
run deterministic and keeps each step short, so a notebook's main thread is never held for long.

When there is nothing ready, the engine sleeps until the next timer (real clock) or, on the
``max`` clock, jumps to it, unless only background timers (heartbeats, periodic monitors, cron
schedules) are left: then the cluster is *idle*, which is what :meth:`Manager.settle` waits for.
:meth:`Manager.advance` moves a virtual clock forward, firing every timer on the way in order.

A reconcile that raises is logged, recorded as a Warning Event on its object when it has one, and
retried with per-key exponential back-off; it never stops the engine or other controllers.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from kubenb.api.resources import ResourceType
from kubenb.client.client import Client
from kubenb.runtime.clock import Clock, VirtualClock
from kubenb.runtime.controller import Controller, Request, TerminalError
from kubenb.runtime.events import EventRecorder
from kubenb.runtime.informer import Informer
from kubenb.runtime.queue import WorkQueue

__all__ = ["Manager", "SettleReport"]

log = logging.getLogger(__name__)

#: on the virtual clock, how long (wall seconds) after a write from outside the engine time is
#: held before it jumps to the next timer, so a caller's consecutive writes share one instant
EXTERNAL_QUIET = 0.02


@dataclass
class SettleReport:
    """What :meth:`Manager.settle` found. True when the cluster is idle and converged."""

    idle: bool
    unconverged: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    cluster_time: float = 0.0

    def __bool__(self) -> bool:
        return self.idle and not self.unconverged

    def __str__(self) -> str:
        if self:
            return "converged"
        parts = [] if self.idle else ["still busy (timeout)"]
        if self.pending:
            parts.append("pending: " + ", ".join(self.pending[:20]))
        if self.unconverged:
            parts.append("not converged: " + ", ".join(self.unconverged[:50]))
        return "; ".join(parts)


#: young-generation threshold of the cycle collector while the engine runs. Every write
#: allocates dozens of containers; at Python's 700 the collector ran ~1,000 times while 3,000
#: pods converged on 1,000 nodes. Measured by bench/control_plane.py on 2026-12-02, 700 against
#: 20,000: converge 441-442 against 458-500 pods/s (1,000 nodes), 394 against 402 (5,000 nodes);
#: the notebook's added p99 delay 1.47 against 0.63 and 1.22 ms, its longest stall 464 against
#: 143-158 ms (rarer collections that each walk more young objects, but fewer full passes).
GC_THRESHOLD = 20_000


class Manager:
    """Shared informers + controllers + the engine thread that drives them."""

    def __init__(self, client: Client, clock: Clock, *,
                 switch_interval: float | None = 0.00025,
                 gc_threshold: int | None = GC_THRESHOLD) -> None:
        self.client = client
        #: the interpreter's thread switch interval while the engine runs (None: leave it). The
        #: default 5 ms lets the engine hold the GIL that long while a notebook's main thread
        #: waits. Measured by bench/control_plane.py latency while 10,000 pods converge on 5,000
        #: nodes, the main thread's p99 added delay is 6.3 ms at 5 ms, 2.5 ms at 0.5 ms and
        #: 1.6 ms at 0.25 ms (goal: 2 ms); it only matters while threads compete for the GIL.
        self.switch_interval = switch_interval
        self._saved_switch_interval: float | None = None
        #: the cycle collector's young-generation threshold while the engine runs, restored when
        #: it stops (None: leave it; see GC_THRESHOLD)
        self.gc_threshold = gc_threshold
        self._saved_gc_threshold: tuple[int, int, int] | None = None
        self.clock = clock
        self.controllers: list[Controller] = []
        self._informers: dict[tuple[ResourceType, str | None], Informer] = {}
        self._cond = threading.Condition()
        self._kicks = 0
        self._idle_at = -1  # the kick count the engine last found the cluster idle at
        self._paused = 0
        self._stopping = False
        self._advance_to: float | None = None
        self._thread: threading.Thread | None = None
        self._engine_ident = 0
        self._external_at = 0.0  # wall time of the last write from outside the engine
        self._rr = 0
        self._report = SettleReport(idle=False)
        self._recorders: dict[str, EventRecorder] = {}
        self._event_seq = itertools.count(1)
        #: recent reconcile failures: (controller, request, message); tests and magics read it
        self.failures: list[tuple[str, str, str]] = []
        self.reconciles = 0
        clock.on_timer_added = self.wakeup

    # ------------------------------------------------------------------ wiring

    def informer(self, rt: ResourceType, namespace: str | None = None) -> Informer:
        """The shared informer of ``rt`` (created on first use)."""
        key = (rt, namespace)
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = Informer(self.client, rt, namespace=namespace,
                                                  wakeup=self.wakeup)
            if self._thread is not None:
                inf.start()
        return inf

    def add(self, controller: Controller) -> Controller:
        controller.manager = self
        controller.queue = WorkQueue(self.clock, name=controller.name, on_ready=self.wakeup)
        controller.setup(self)
        self.controllers.append(controller)
        return controller

    def recorder(self, component: str) -> EventRecorder:
        rec = self._recorders.get(component)
        if rec is None:
            # Events are written as the process that records them: the kubelet, the scheduler,
            # or kube-controller-manager for every controller
            manager = {"kubelet": "kubelet", "default-scheduler": "kube-scheduler"}.get(
                component, "kube-controller-manager")
            rec = self._recorders[component] = EventRecorder(
                self.client.as_manager(manager), self.clock, component, seq=self._event_seq)
            rec.journal = self._journal
        return rec

    _journal: list[tuple[str, str, str, str, str]] | None = None

    def record_journal(self) -> list[tuple[str, str, str, str, str]]:
        """Start keeping every Event recorded, in order (for determinism checks)."""
        self._journal = []
        for rec in self._recorders.values():
            rec.journal = self._journal
        return self._journal

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        for inf in list(self._informers.values()):
            inf.start()
        self._stopping = False
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self.switch_interval)
        current = gc.get_threshold()
        if self.gc_threshold is not None and 0 < current[0] < self.gc_threshold:
            self._saved_gc_threshold = current
            gc.set_threshold(self.gc_threshold, *current[1:])
        self._thread = threading.Thread(target=self._run, name="kubenb-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread.join(timeout=10)
        self._thread = None
        for inf in self._informers.values():
            inf.stop()
        for ctrl in self.controllers:
            ctrl.queue.shut_down()
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None
        if self._saved_gc_threshold is not None:
            gc.set_threshold(*self._saved_gc_threshold)
            self._saved_gc_threshold = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wakeup(self) -> None:
        if threading.get_ident() == self._engine_ident:
            return  # the engine's own writes: it looks again after every step anyway
        self._external_at = time.monotonic()
        with self._cond:
            self._kicks += 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the engine between steps (writes made meanwhile are reconciled together)."""
        with self._cond:
            self._paused += 1
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1
                self._kicks += 1
                self._cond.notify_all()

    # ------------------------------------------------------------------ waiting

    def settle(self, timeout: float = 30.0) -> SettleReport:
        """Wait (up to ``timeout`` wall seconds) until nothing is left to do but background
        chores; returns what is still not converged."""
        if self._thread is None:
            raise RuntimeError("the engine is not running (Cluster(controllers=False)?)")
        deadline = time.monotonic() + timeout
        with self._cond:
            self._kicks += 1
            target = self._kicks
            self._cond.notify_all()
            idle = self._cond.wait_for(lambda: self._idle_at >= target or self._stopping,
                                       timeout=max(0.0, deadline - time.monotonic()))
            report = self._report if idle else SettleReport(idle=False)
        if not idle:
            report.pending = [f"{c.name}:{r}" for c in self.controllers
                              for r in c.queue.pending()]
            report.cluster_time = self.clock.now()
        return report

    def advance(self, seconds: float, timeout: float = 60.0) -> SettleReport:
        """On the ``max`` clock: let ``seconds`` of cluster time pass, running every timer
        (heartbeats and cron schedules included) in order, then settle."""
        if not isinstance(self.clock, VirtualClock):
            raise ValueError("advance() needs the virtual clock (speed='max'); on a real clock, "
                             "time passes by itself")
        with self._cond:
            self._advance_to = self.clock.now() + seconds
            self._kicks += 1
            self._cond.notify_all()
        return self.settle(timeout)

    # ------------------------------------------------------------------ engine

    def _run(self) -> None:
        self._engine_ident = threading.get_ident()
        clock = self.clock
        virtual = isinstance(clock, VirtualClock)
        while True:
            with self._cond:
                while self._paused and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                seen = self._kicks
            try:
                if self._step():
                    continue
            except Exception:
                log.exception("engine step failed")
                continue
            with self._cond:
                if self._kicks != seen or self._stopping or self._paused:
                    continue
                nxt = clock.next_due()
                if self._advance_to is not None and virtual:
                    assert isinstance(clock, VirtualClock)
                    if nxt is not None and nxt <= self._advance_to:
                        clock.set(nxt)
                    else:
                        clock.set(self._advance_to)
                        self._advance_to = None
                    continue
                if virtual and clock.has_foreground():
                    # someone outside (a notebook cell, a test, kubectl) wrote a moment ago and
                    # may be about to write again: let that burst land at this instant before
                    # simulated time jumps ahead of it
                    quiet = time.monotonic() - self._external_at
                    if quiet < EXTERNAL_QUIET:
                        self._cond.wait(EXTERNAL_QUIET - quiet)
                        continue
                    clock.advance_to_next()
                    continue
                if not clock.has_foreground() and self._idle_at < seen:
                    self._report = self._gather()
                    self._idle_at = seen
                    self._cond.notify_all()
                if virtual:
                    assert isinstance(clock, VirtualClock)
                    clock.idle(True)
                timeout = None if nxt is None else clock.real_delay(nxt - clock.now())
                if timeout is None or timeout > 0:
                    self._cond.wait(timeout)
                if virtual:
                    clock.idle(False)

    def _drain(self) -> bool:
        did = False
        for inf in tuple(self._informers.values()):
            if inf.pending() and inf.drain():
                did = True
        return did

    def _step(self) -> bool:
        """Do one thing (drain, a due timer, or one reconcile); False when nothing was ready."""
        did = self._drain()
        timer = self.clock.pop_due()
        if timer is not None:
            try:
                timer.callback()
            except Exception:
                log.exception("timer callback failed")
            return True
        ctrls = self.controllers
        n = len(ctrls)
        for i in range(n):
            ctrl = ctrls[(self._rr + i) % n]
            req = ctrl.queue.get()
            if req is None:
                continue
            self._rr = (self._rr + i + 1) % n
            self._reconcile(ctrl, req)
            return True
        # nothing urgent is left at this instant: coalesced reactions get their turn
        for ctrl in ctrls:
            if ctrl.queue.promote():
                did = True
        return did

    def _reconcile(self, ctrl: Controller, req: Request) -> None:
        queue = ctrl.queue
        self.reconciles += 1
        try:
            result = ctrl.reconcile(req)
        except TerminalError as exc:
            queue.forget(req)
            self._failed(ctrl, req, exc, retry=False)
        except Exception as exc:
            queue.add_rate_limited(req)
            self._failed(ctrl, req, exc, retry=True)
        else:
            if result is None or not (result.requeue or result.requeue_after > 0):
                queue.forget(req)
            elif result.requeue_after > 0:
                queue.forget(req)
                queue.add_after(req, result.requeue_after)
            else:
                queue.add_rate_limited(req)
        finally:
            queue.done(req)

    def _failed(self, ctrl: Controller, req: Request, exc: Exception, *, retry: bool) -> None:
        message = f"{type(exc).__name__}: {exc}"
        log.warning("%s: reconcile %s failed%s: %s", ctrl.name, req,
                    " (will retry)" if retry else " (not retried)", message,
                    exc_info=not isinstance(exc, TerminalError))
        self.failures.append((ctrl.name, str(req), message))
        del self.failures[:-200]
        primary = ctrl.primary
        if primary is not None:
            obj = self.informer(primary).get(req.name, req.namespace or None)
            if obj is not None:
                self.recorder(ctrl.name).warning(obj, "ReconcileError", message[:1024])

    def _gather(self) -> SettleReport:
        # runs holding the engine's condition: unconverged() reads caches only, never the client
        # (a write elsewhere holds the store lock and waits for this condition to wake us)
        unconverged: list[str] = []
        for ctrl in self.controllers:
            try:
                unconverged.extend(ctrl.unconverged())
            except Exception:
                log.exception("%s: unconverged() failed", ctrl.name)
        return SettleReport(idle=True, unconverged=unconverged, cluster_time=self.clock.now())
