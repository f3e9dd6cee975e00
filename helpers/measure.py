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
import sys
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


def peak_rss_bytes() -> float:
    """The largest resident set size this process has had so far, in bytes.

    Read from ``getrusage`` (Linux, macOS) or the peak working set (Windows); ``nan`` where
    neither can be read. In a notebook this is the kernel's peak since it started: what the
    chapter needed the machine to have free.
    """
    try:
        import resource
    except ImportError:  # Windows
        peak = getattr(_PROCESS.memory_info(), "peak_wset", None)
        return math.nan if peak is None else float(peak)
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


def check_peak_memory(limit_gib: float) -> float:
    """Raise when this process has ever held more than ``limit_gib`` GiB; return the peak.

    Parameters
    ----------
    limit_gib : float
        The profile's limit (``budget.peak_memory_gib``).

    Returns
    -------
    float
        The peak in GiB (``nan`` where it cannot be read; then nothing is checked).

    Raises
    ------
    MemoryError
        Naming the peak and the limit: a chapter that needs more than its profile promises.
    """
    peak_gib = peak_rss_bytes() / 2**30
    if peak_gib > limit_gib:
        raise MemoryError(
            f"this notebook's process peaked at {peak_gib:.2f} GiB, above the profile's limit "
            f"of {limit_gib:g} GiB: a step holds more at once than it needs (evaluate in "
            "batches, pass a smaller batch_size), or the budget grew"
        )
    return peak_gib


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
