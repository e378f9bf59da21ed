"""The controller runtime: clock, work queue, informers, controllers and the engine that runs them.

The pieces follow client-go and controller-runtime (see each module); what is particular to
kubenb is the clock (real time scaled, or a virtual clock for deterministic runs) and that one
engine thread runs everything.
"""

from kubenb.runtime.clock import Clock, RealClock, VirtualClock, make_clock
from kubenb.runtime.controller import Controller, Request, Result, TerminalError
from kubenb.runtime.events import EventRecorder
from kubenb.runtime.informer import Handler, Informer
from kubenb.runtime.manager import Manager, SettleReport
from kubenb.runtime.queue import RateLimiter, WorkQueue

__all__ = [
    "Clock", "Controller", "EventRecorder", "Handler", "Informer", "Manager", "RateLimiter",
    "RealClock", "Request", "Result", "SettleReport", "TerminalError", "VirtualClock",
    "WorkQueue", "make_clock",
]
