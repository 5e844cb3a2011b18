"""Pausing Python's cyclic garbage collector while a bulk operation builds many objects.

A roster chunk or a coverage batch makes hundreds of thousands of short-lived objects, none in
a reference cycle (reference counting frees them all). Each collection they set off walks the
whole heap of the process: measured, that doubled the CPU of a coverage batch and of a roster's
parsing and validation. Nested, concurrent and threaded users share one pause; the collector
is back on when the last of them ends. A collector someone else turned off stays off.

A served process also hides what it built at start-up from the collector and makes its full
collections rarer (`collector_for_serving`), and times every collection (`pauses`).
"""

import bisect
import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    global _pauses
    with _lock:
        if _pauses == 0 and not gc.isenabled():
            owned = False
        else:
            owned = True
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if owned:
            with _lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


# Python's default is 10: a full collection after ten of the middle generation.
SERVING_FULL_COLLECTION_THRESHOLD = 100


@contextmanager
def collector_for_serving() -> Iterator[None]:
    """Until the exit: every object alive on entry (the app with its routes and models,
    SQLAlchemy's mappers, the pools) out of the collector's sight, and full collections ten
    times rarer. A full collection is a pause of the event loop that every request in flight
    waits out; the young generations, collected as often as before, free the cycles requests
    make.

    Measured in the mixed minute of bench_mixed.py at 7.35M rows: 29 full collections holding
    the server 3.58 s in all without either; 48, 1.29 s in all, with the objects hidden; 5, 0.12 s,
    with both.
    """
    gc.collect()
    gc.freeze()
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, SERVING_FULL_COLLECTION_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)
        gc.unfreeze()


# The upper bounds of the pause histogram's buckets, in seconds (the last is +Inf).
PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, float("inf"))


class Pauses:
    """The collector's pauses in this process, by generation, as a histogram's buckets and sum
    (exposed by app.core.runtime_metrics at each scrape)."""

    def __init__(self) -> None:
        self.buckets = [[0] * len(PAUSE_BUCKETS) for _ in range(3)]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.seconds[generation] += took
        self.buckets[generation][bisect.bisect_left(PAUSE_BUCKETS, took)] += 1


def pauses() -> Pauses:
    """This process's pause counter, timing every collection from the first call on."""
    global _pause_counter
    with _lock:
        if _pause_counter is None:
            _pause_counter = Pauses()
            gc.callbacks.append(_pause_counter)
        return _pause_counter


_pause_counter: Pauses | None = None
