"""The held-out harness runs on a fresh install (``make install`` brings what it imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_heldout_run_generates_replays_and_reports(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "heldout" / "run.py"),
            "--seeds",
            "5",
            "--duration",
            "120",
            "--channels",
            "3",
            "--scale",
            "0.2",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "recall" in proc.stdout.lower(), proc.stdout[-2000:]
