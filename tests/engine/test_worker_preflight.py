"""``vbg-engine worker --check``: a misconfigured dependency stops start-up with one line.

Run as the operator runs it (a subprocess), against the suite's real broker and Redis; the
unreachable ones are closed loopback ports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VBG_", "KAFKA_", "REDIS_"))}
    base.pop("CLICKHOUSE_URL", None)
    base.update(
        VBG_DATA_DIR=str(tmp_path / "engine"),
        CLICKHOUSE_URL=f"chdb://{tmp_path / 'chdb'}",
        ENGINE_PORT=str(closed_port()),
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "engine", "worker", "--check"],
        env=base,
        capture_output=True,
        text=True,
        timeout=90,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The reason: the only line on stderr besides informational JSON log records (topics the
    check created), and no other error or warning before it."""
    assert "Traceback" not in result.stderr
    plain = []
    for line in result.stderr.strip().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            plain.append(line)
            continue
        assert record["level"] in ("debug", "info"), line
    assert len(plain) == 1, result.stderr
    return plain[0]


def test_unreachable_kafka_is_one_line_and_exit_1(tmp_path: Path, redis_url: str) -> None:
    port = closed_port()
    result = check(tmp_path, KAFKA_BOOTSTRAP=f"127.0.0.1:{port}", REDIS_URL=redis_url)
    assert result.returncode == 1
    err = one_line(result)
    assert err.startswith(f"vbg-engine worker: Kafka at 127.0.0.1:{port} is unreachable")


def test_unreachable_redis_is_one_line_without_its_password(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    port = closed_port()
    result = check(
        tmp_path,
        KAFKA_BOOTSTRAP=kafka_bootstrap,
        REDIS_URL=f"redis://:hunter2-secret@127.0.0.1:{port}/0",
    )
    assert result.returncode == 1
    err = one_line(result)
    assert f"Redis at redis://:***@127.0.0.1:{port}/0 is unreachable" in err
    assert "hunter2" not in result.stderr + result.stdout


def test_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = check(tmp_path, KAFKA_BOOTSTRAP="127.0.0.1:1", VBG_CH_BATCH="0")
    assert result.returncode == 2
    reason = "vbg-engine: configuration error: VBG_CH_BATCH=0 is out of range (1..1000000)"
    assert one_line(result) == reason


def test_bad_worker_role_is_one_line_naming_the_choices(tmp_path: Path) -> None:
    result = check(tmp_path, KAFKA_BOOTSTRAP="127.0.0.1:1", VBG_WORKER_ROLE="both")
    assert result.returncode == 2
    reason = (
        "vbg-engine: configuration error: VBG_WORKER_ROLE='both' must be one of all, ingest, decide"
    )
    assert one_line(result) == reason


def test_every_dependency_answering_passes(
    tmp_path: Path, kafka_bootstrap: str, redis_url: str
) -> None:
    result = check(tmp_path, KAFKA_BOOTSTRAP=kafka_bootstrap, REDIS_URL=redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("vbg-engine worker: configuration and dependencies OK")


def test_busy_api_port_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = check(
            tmp_path,
            KAFKA_BOOTSTRAP="127.0.0.1:1",
            ENGINE_PORT=str(port),
            VBG_WEB_BIND="127.0.0.1",
        )
    assert result.returncode == 1
    assert one_line(result) == (
        f"vbg-engine worker: cannot serve the HTTP API on 127.0.0.1:{port}"
        " (VBG_WEB_BIND, ENGINE_PORT): Address already in use"
    )


def test_unusable_bind_address_is_one_line(tmp_path: Path) -> None:
    result = check(tmp_path, KAFKA_BOOTSTRAP="127.0.0.1:1", VBG_WEB_BIND="192.0.2.1")
    assert result.returncode == 1
    assert "cannot serve the HTTP API on 192.0.2.1:" in one_line(result)
