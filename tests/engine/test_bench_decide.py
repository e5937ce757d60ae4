"""bench_decide: the decide path offline, its numbers and its deterministic opcode count."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_decide


def test_a_small_run_prints_rates_digests_and_opcodes(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_decide.main(["--events", "3000", "--repeat", "1", "--opcodes", "1000"]) == 0
    out = capsys.readouterr().out
    assert "baseline: decode only" in out and "ratio decide/baseline" in out
    assert out.count("digest ") == 2
    assert "per event (first 1,000)" in out


def test_the_opcode_count_is_the_same_on_every_run() -> None:
    raws = bench_decide.envelopes(bench_decide.backlog(3000)[:800])
    counts = {bench_decide.opcodes(lambda: bench_decide.decide_path(raws)) for _ in range(2)}
    assert len(counts) == 1 and counts.pop() > 800 * 100


def test_bad_arguments_exit_with_code_2() -> None:
    with pytest.raises(SystemExit) as exc:
        bench_decide.main(["--events", "10"])
    assert exc.value.code == 2
