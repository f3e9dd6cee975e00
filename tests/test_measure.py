import math
import os

import numpy as np
import pytest

from helpers import measure


def test_measure_returns_result_time_and_memory():
    def allocate():
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        return float(block.sum())

    result, cost = measure.measure(allocate)
    assert result == 64 * 2**20 // 8
    assert cost.seconds > 0
    assert 40 <= cost.peak_extra_mb <= 400
    assert "peak extra memory" in str(cost)


def test_measure_passes_arguments_and_propagates_errors():
    result, _ = measure.measure(lambda a, b=0: a + b, 2, b=3)
    assert result == 5
    with pytest.raises(ZeroDivisionError):
        measure.measure(lambda: 1 / 0)


def test_rss_matches_the_kernel_and_memory_not_measured_when_unreadable(monkeypatch):
    with open("/proc/self/statm") as statm:  # Linux's own count, in pages
        pages = int(statm.read().split()[1])
    assert abs(measure.rss_bytes() - pages * os.sysconf("SC_PAGE_SIZE")) < 64 * 2**20

    class Unreadable:
        def memory_info(self):
            raise measure.psutil.AccessDenied()

    monkeypatch.setattr(measure, "_PROCESS", Unreadable())
    assert math.isnan(measure.rss_bytes())
    _, cost = measure.measure(lambda: None)
    assert math.isnan(cost.peak_extra_bytes)
    assert "memory not measured" in str(cost)


def test_peak_rss_is_the_kernels_high_water_mark_and_survives_a_free():
    with open("/proc/self/status") as status:  # Linux's own peak, VmHWM in KiB
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    assert abs(measure.peak_rss_bytes() - hwm * 1024) < 64 * 2**20
    before = measure.peak_rss_bytes()
    block = np.ones(int(before + 256 * 2**20) // 8)  # more than the peak so far, touched
    del block
    assert measure.peak_rss_bytes() >= before + 200 * 2**20  # freed, still counted
    assert measure.rss_bytes() < measure.peak_rss_bytes()


def test_check_peak_memory_raises_above_the_limit_and_names_both_numbers():
    peak = measure.peak_rss_bytes() / 2**30
    assert measure.check_peak_memory(peak + 1) == pytest.approx(peak, abs=0.1)
    with pytest.raises(MemoryError, match=r"peaked at \d+\.\d\d GiB, above .* limit of 0.01 GiB"):
        measure.check_peak_memory(0.01)
