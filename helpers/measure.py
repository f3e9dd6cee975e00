"""Wall time and peak extra memory of one call, for the cost tables of the chapters.

The memory is the resident set size (RSS) of this process, read with ``psutil`` (Linux, macOS
and Windows alike) and sampled in a background thread while the call runs; the peak minus the
RSS before the call is what the call needed on top of what was already in memory. It counts
every allocator (NumPy, PyTorch, TensorFlow), which ``tracemalloc`` does not. It is the memory
the process had to take from the system: a call that reuses memory freed by an earlier, larger
call shows (almost) nothing, so measure the first call of a kind, or calls of growing size.
Where the RSS cannot be read, memory is reported as not measured (``nan``).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import psutil

_PROCESS = psutil.Process()


def rss_bytes() -> float:
    """Resident set size of this process in bytes, or ``nan`` where it cannot be read."""
    try:
        return float(_PROCESS.memory_info().rss)
    except (psutil.Error, OSError):
        return math.nan


@dataclass(frozen=True)
class Cost:
    """What one call cost: wall time and the peak RSS above the level before the call."""

    seconds: float
    peak_extra_bytes: float

    @property
    def peak_extra_mb(self) -> float:
        """Peak extra memory in MiB (``nan`` when not measured)."""
        return self.peak_extra_bytes / 2**20

    def __str__(self) -> str:
        memory = (
            "memory not measured"
            if math.isnan(self.peak_extra_bytes)
            else (f"peak extra memory {self.peak_extra_mb:,.0f} MiB")
        )
        return f"{self.seconds:.2f} s, {memory}"


def measure(fn, *args, interval: float = 0.005, **kwargs):
    """Call ``fn(*args, **kwargs)`` and measure its wall time and peak extra memory.

    Parameters
    ----------
    fn : callable
    *args, **kwargs
        Passed to ``fn``.
    interval : float
        Seconds between two memory samples.

    Returns
    -------
    result : object
        What ``fn`` returned (exceptions propagate unchanged).
    cost : Cost
    """
    before = rss_bytes()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    peak_extra = max(0.0, max(peak[0], rss_bytes()) - before)
    return result, Cost(seconds, math.nan if math.isnan(before) else peak_extra)
