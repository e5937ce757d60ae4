"""Redis stopped and restarted under a running worker (issue 4, "Dependencies down").

The test runs its own redis-server, so it can stop it by PID mid-stream and bring it back on the
same port with the same data directory, without touching the session-wide Redis other tests use.
That Redis keeps an append-only file, as an enforcement Redis in production would: what was
enforced before the outage survives the restart, and the worker owes Redis only what it decided
while Redis was away.

While Redis is down, health says ``degraded`` (overall and for redis) and decisions keep being
published to Kafka; once it is back, health returns to ``ok`` and every session's action key
holds the newest decision that replay makes on the same events: nothing is lost in between.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from worker_harness import (
    Worker,
    create_input_topics,
    produce,
    read_decisions,
    replay_decisions,
    simulate,
    unique,
    wait_for,
)

from engine.localstack.ports import redis_ping_ok, wait_until
from engine.localstack.process import ManagedProcess
from engine.localstack.services import redis_server_binary

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(900),
]

RATE = 250  # events/s: the traffic outlasts the outage, so decisions are made during it


def _port_outside_ephemeral_range() -> int:
    """A free port below the kernel's ephemeral range: while this Redis is stopped, no outgoing
    connection (the worker's reconnect attempts included) can be given its port number."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randint(20_000, max(20_001, low - 1))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class PersistentRedis:
    """redis-server with an append-only file in a fixed directory, on a fixed port: it can be
    stopped (SIGTERM flushes the file) and started again with its data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "redis-data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = _port_outside_ephemeral_range()
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 60.0) -> PersistentRedis:
        argv = [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--protected-mode",
            "no",
        ]
        process = ManagedProcess("redis-outage", argv, self.workdir / "redis.log")
        self.process = process

        def ready() -> bool:
            if not process.alive():
                raise AssertionError(f"redis-server exited while starting:\n{process.log_tail()}")
            return redis_ping_ok("127.0.0.1", self.port)

        assert wait_until(ready, timeout), f"redis-server not ready:\n{process.log_tail()}"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=20)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10, socket_connect_timeout=10)


class Producer(threading.Thread):
    """Paced traffic in the background, so it keeps flowing while Redis is down."""

    def __init__(self, kafka: str, prefix: str, events: list) -> None:
        super().__init__(name="producer", daemon=True)
        self.args = (kafka, prefix, events)
        self.error: BaseException | None = None
        self.sent = 0

    def run(self) -> None:
        try:
            self.sent = produce(*self.args, rate=RATE)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _redis_status(worker: Worker) -> tuple[str, str]:
    body = worker.health()
    return body["status"], body["components"]["redis"]["status"]


def _newest(decisions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per session, its newest decision (event time, then id), as final_actions orders them."""
    newest: dict[str, dict[str, Any]] = {}
    for d in decisions:
        current = newest.get(d["session_id"])
        if current is None or (d["ts"], d["decision_id"]) >= (
            current["ts"],
            current["decision_id"],
        ):
            newest[d["session_id"]] = d
    return newest


def test_redis_outage_degrades_then_enforcement_converges(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    name = unique("rout")
    prefix = f"{name}."
    traffic = simulate(seed=11, duration=150, viewers=100)
    expected = replay_decisions(traffic)
    newest = _newest(expected)
    assert len(expected) >= 50, "the simulator traffic should lead to decisions"
    create_input_topics(kafka_bootstrap, prefix)

    server = PersistentRedis(tmp_path).start()
    worker = Worker(
        tmp_path,
        kafka_bootstrap,
        server.url,
        app_id=name,
        prefix=prefix,
        redis_prefix=f"{name}:",
        env={"VBG_VIEWERS_EVERY_S": "1", "VBG_RAW_CDN_SAMPLE": "0"},
    )
    producer = Producer(kafka_bootstrap, prefix, traffic)
    action_key = f"{name}:action:{{}}".format

    def published() -> set[str]:
        return {d["decision_id"] for d in read_decisions(kafka_bootstrap, prefix)}

    try:
        worker.start()
        worker.wait_ready(timeout=180)
        wait_for(lambda: _redis_status(worker) == ("ok", "ok"), 120, what="health ok at start")
        producer.start()

        # Enforcement works before the outage: a share of the decisions is in Redis.
        wait_for(
            lambda: len(published()) >= len(expected) // 5, 300, what="a fifth of the decisions"
        )
        client = server.client()
        try:
            enforced = wait_for(
                lambda: client.keys(action_key("*")), 120, what="action keys before the outage"
            )
        finally:
            client.close()
        assert enforced

        server.stop()
        before = published()
        status = wait_for(
            lambda: (s := _redis_status(worker))[1] != "ok" and s,
            120,
            what="health to notice Redis is down",
        )
        assert status == ("degraded", "degraded")

        # Decisions keep being published to Kafka while Redis is down, and the enforcement
        # records behind them are held for Redis.
        during = wait_for(
            lambda: len(new := published() - before) >= 10 and new,
            300,
            what="decisions published while Redis is down",
        )
        wait_for(
            lambda: worker.stats()["redis_pending_enforcement"] > 0,
            120,
            what="enforcement records pending for Redis",
        )
        assert _redis_status(worker) == ("degraded", "degraded")
        assert not redis_ping_ok("127.0.0.1", server.port), "Redis must still be down here"

        server.start()  # same port, same data directory
        wait_for(lambda: _redis_status(worker) == ("ok", "ok"), 180, what="health ok again")

        producer.join(timeout=600)
        assert not producer.is_alive(), "the producer did not finish"
        assert producer.error is None, producer.error
        assert producer.sent == len(traffic)
        wait_for(lambda: worker.events_in() >= len(traffic), 300, what="all events consumed")
        wait_for(
            lambda: sum(worker.stats()["decisions"].values()) >= len(expected),
            300,
            what=f"{len(expected)} decisions",
        )

        # What Redis must hold: the newest decision the worker published per session (its
        # event time too, so a key left over from before the outage does not pass), whose
        # action is the final action replay decides on the same events.
        published_newest = _newest(read_decisions(kafka_bootstrap, prefix))
        client = server.client()
        try:

            def diverged() -> dict[str, tuple[Any, ...]]:
                wrong = {}
                for sid, want in newest.items():
                    raw = client.get(action_key(sid))
                    got = json.loads(raw) if raw is not None else {}
                    mine = published_newest.get(sid, {})
                    if not got or (got["action"], got["ts"]) != (
                        want["action"],
                        mine.get("ts"),
                    ):
                        wrong[sid] = (
                            (got.get("action"), got.get("ts")),
                            (mine.get("action"), mine.get("ts")),
                            (want["action"], want["ts"]),
                        )
                return wrong

            try:
                wait_for(lambda: not diverged(), 180, what="Redis action keys to converge")
            except AssertionError:
                wrong = sorted(diverged().items())
                pytest.fail(
                    f"{len(wrong)} of {len(newest)} action keys are not the final action "
                    f"(Redis, worker's newest on Kafka, replay's newest): {wrong[:8]}"
                )
            # the keys hold nothing from other runs, and the ones written during the outage
            # were caught up: the sessions decided meanwhile are enforced as replay decides
            assert len(client.keys(action_key("*"))) == len(newest)
            decided_during = {d["session_id"] for d in expected if d["decision_id"] in during}
            assert decided_during and all(
                json.loads(client.get(action_key(sid)))["action"] == newest[sid]["action"]
                for sid in decided_during
            )
            for channel in {d["channel_id"] for d in expected}:
                viewers = wait_for(
                    lambda c=channel: client.hgetall(f"{name}:channel:{c}:viewers"),
                    60,
                    what=f"viewer counts of {channel}",
                )
                assert {b"raw", b"counted", b"updated_at"} <= set(viewers)
                assert 0 <= int(viewers[b"counted"]) <= int(viewers[b"raw"])
        finally:
            client.close()
        assert worker.stats()["redis_pending_enforcement"] == 0
        assert worker.alive(), worker.log_tail()
    finally:
        worker.stop()
        producer.join(timeout=120)
        server.stop()
