"""Start and stop the whole embedded stack, as a context manager or a long-running supervisor."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from engine.localstack.services import (
    ChdbHttpService,
    ChdbStore,
    LocalStackError,
    RedisService,
    TansuService,
)

COMPONENTS = ("kafka", "redis", "clickhouse")
# Not started by default: chDB served over HTTP by its own process, so several processes
# (worker, cockpit, migrate) share it; replaces the bare chDB directory of "clickhouse".
OPTIONAL_COMPONENTS = ("clickhouse-http",)


class LocalStack:
    """Tansu + redis-server + a chDB directory on free loopback ports.

    Services start in order and stop in reverse; if one fails to start, the ones already
    running are stopped before the error propagates.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        components: Iterable[str] = COMPONENTS,
        timeout: float = 30.0,
    ) -> None:
        wanted = tuple(components)
        unknown = sorted(set(wanted) - set(COMPONENTS) - set(OPTIONAL_COMPONENTS))
        if unknown:
            raise LocalStackError(
                f"unknown component(s) {', '.join(unknown)}; use {COMPONENTS + OPTIONAL_COMPONENTS}"
            )
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="vbg-stack-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.kafka = TansuService(self.workdir) if "kafka" in wanted else None
        self.redis = RedisService(self.workdir) if "redis" in wanted else None
        self.clickhouse: ChdbStore | ChdbHttpService | None = None
        if "clickhouse-http" in wanted:
            self.clickhouse = ChdbHttpService(self.workdir)
        elif "clickhouse" in wanted:
            self.clickhouse = ChdbStore(self.workdir)
        self._started: list = []

    def start(self) -> LocalStack:
        try:
            for service in (self.kafka, self.redis, self.clickhouse):
                if service is not None:
                    service.start(self.timeout)
                    self._started.append(service)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def pids(self) -> list[int]:
        return [s.process.pid for s in self._started if getattr(s, "process", None)]

    def env(self) -> dict[str, str]:
        """Environment variables that point the engine and the tools at this stack."""
        env = {}
        if self.kafka:
            env["KAFKA_BOOTSTRAP"] = self.kafka.bootstrap
        if self.redis:
            env["REDIS_URL"] = self.redis.url
        if self.clickhouse:
            env["CLICKHOUSE_URL"] = self.clickhouse.url
        return env

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_supervisor(workdir: str | None, components: Iterable[str], state_file: str | None) -> int:
    """Run the stack until SIGTERM/SIGINT; print its environment as shell exports."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack = LocalStack(workdir=workdir, components=components).start()
    except LocalStackError as exc:
        print(f"vbg-engine localstack: {exc}", file=sys.stderr)
        return 1
    try:
        env = stack.env()
        for key, value in env.items():
            print(f"export {key}={value}", flush=True)
        if state_file:
            Path(state_file).write_text(
                json.dumps({"pid": os.getpid(), "env": env, "pids": stack.pids()}) + "\n"
            )
        print(f"# local stack up (workdir {stack.workdir}); Ctrl-C or SIGTERM stops it", flush=True)
        while not stop.wait(0.5):
            for service in (stack.kafka, stack.redis, stack.clickhouse):
                if (
                    service
                    and getattr(service, "process", None)
                    and service.process
                    and not service.process.alive()
                ):
                    print(f"vbg-engine localstack: {service.process.name} died", file=sys.stderr)
                    return 1
        return 0
    finally:
        stack.stop()
        if state_file:
            Path(state_file).unlink(missing_ok=True)
