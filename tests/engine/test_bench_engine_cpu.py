"""bench_engine's CPU accounting: what each process and the machine spent in a phase."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_engine

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")


def test_cpu_used_reports_the_process_seconds_and_the_machines_busy_share() -> None:
    before = bench_engine.cpu_snapshot({"me": os.getpid()})
    total = 0
    for i in range(2_000_000):  # burn some CPU in this process
        total += i
    after = bench_engine.cpu_snapshot({"me": os.getpid()})
    assert before is not None and after is not None
    assert after.processes["me"] > before.processes["me"]
    line = bench_engine.cpu_used(before, after)
    assert line is not None
    assert line.startswith("me ") and "% busy (" in line


def test_a_process_that_is_gone_gives_no_figures() -> None:
    assert bench_engine.cpu_snapshot({"gone": 2**22 + 12345}) is None
    assert bench_engine.cpu_used(None, None) is None
