"""The embedded stack starts real services and never leaves a process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from engine.localstack import LocalStack, LocalStackError
from engine.localstack.ports import kafka_api_versions_ok


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_context_manager_starts_and_stops_everything(tmp_path: Path) -> None:
    with LocalStack(tmp_path) as stack:
        pids = stack.pids()
        assert len(pids) == 2
        host, port = stack.kafka.bootstrap.split(":")
        assert kafka_api_versions_ok(host, int(port))
        assert redis.Redis.from_url(stack.redis.url).ping()
        assert stack.env()["CLICKHOUSE_URL"].startswith("chdb://")
        assert Path(stack.clickhouse.path).is_dir()
    assert _gone(pids)


def test_exception_inside_stops_everything(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), LocalStack(tmp_path, components=["redis"]) as stack:
        pids = stack.pids()
        raise RuntimeError("boom")
    assert _gone(pids)


def test_unknown_component_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="unknown component"):
        LocalStack(tmp_path, components=["postgres"])


def _start_supervisor(tmp_path: Path) -> tuple[subprocess.Popen, dict]:
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "localstack",
            "--workdir",
            str(tmp_path),
            "--state-file",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"supervisor did not start: {proc.stderr.read().decode()}")
        time.sleep(0.1)
    return proc, json.loads(state.read_text())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_supervisor_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    proc, state = _start_supervisor(tmp_path)
    children = state["pids"]
    try:
        assert len(children) == 2 and all(psutil.pid_exists(p) for p in children)
        assert {"KAFKA_BOOTSTRAP", "REDIS_URL", "CLICKHOUSE_URL"} <= set(state["env"])
        os.kill(proc.pid, sig)
        proc.wait(timeout=20)
        assert _gone(children), f"children survived {sig.name}"
    finally:
        for pid in children:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGTERM:
        assert proc.returncode == 0


def test_parent_sigkilled_while_stack_runs_in_process(tmp_path: Path) -> None:
    """A Python parent that uses the context manager and is SIGKILLed mid-block."""
    script = (
        "import sys, time, json\n"
        "from engine.localstack import LocalStack\n"
        f"with LocalStack({str(tmp_path)!r}) as s:\n"
        "    print(json.dumps(s.pids()), flush=True)\n"
        "    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    children = json.loads(line)
    try:
        proc.kill()
        proc.wait(timeout=10)
        assert _gone(children)
    finally:
        for pid in children:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)
