"""The ClickHouse writer pays the driver's lazy imports at start-up, not on the first insert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from engine.sinks.clickhouse import ClickHouseWriter

assert "pandas" not in sys.modules, "pandas imported before open(): the probe proves nothing"
ClickHouseWriter(sys.argv[1]).open()
print("pandas" in sys.modules)
"""


def test_open_imports_what_the_first_insert_would(tmp_path: Path) -> None:
    # clickhouse-connect imports numpy and pandas on the first insert: about a second with the
    # GIL held, which froze the worker's event loop (and every decision) mid-stream.
    url = f"chdb://{tmp_path / 'chdb'}"
    subprocess.run(
        [sys.executable, "-m", "engine", "migrate", "--url", url],
        check=True,
        capture_output=True,
    )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, url], capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "True"
