"""Real `vbg-engine worker` processes for integration tests, and the traffic they read.

Each worker is a subprocess in its own process group with a parent-death signal
(``engine.localstack.ManagedProcess``), on a free ENGINE_PORT, with its own app id (consumer
group), topic prefix, Redis key prefix and chDB directory, so tests sharing one broker and one
Redis never see each other's data. Tests stop workers by PID in ``finally``/teardown.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.kafkameta import exact_end_offsets, topic_partitions
from engine.localstack.ports import free_port
from engine.localstack.process import ManagedProcess
from engine.schemas import INPUT_TOPICS

WRITE_TOKEN = "test-write-token-0123456789"
READ_TOKEN = "test-read-token-0123456789"
PARTITIONS = 4


def unique(name: str) -> str:
    return f"it{name}{uuid.uuid4().hex[:8]}"


class Worker:
    """One `vbg-engine worker` subprocess and an HTTP client for its API."""

    def __init__(
        self,
        workdir: Path,
        kafka: str,
        redis_url: str,
        *,
        app_id: str,
        prefix: str,
        redis_prefix: str,
        chdb: Path | None = None,
        env: dict[str, str] | None = None,
        name: str = "worker",
    ) -> None:
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.app_id = app_id
        self.prefix = prefix
        self.redis_prefix = redis_prefix
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": kafka,
            "REDIS_URL": redis_url,
            "CLICKHOUSE_URL": f"chdb://{chdb or workdir / 'chdb'}",
            "ENGINE_PORT": str(self.port),
            "VBG_APP_ID": app_id,
            "VBG_TOPIC_PREFIX": prefix,
            "VBG_REDIS_PREFIX": redis_prefix,
            "VBG_TOPIC_PARTITIONS": str(PARTITIONS),
            "VBG_DATA_DIR": str(workdir / f"data-{name}"),
            "VBG_SESSION_TIMEOUT_S": "6",
            "VBG_API_TOKENS": f"{READ_TOKEN}:read,{WRITE_TOKEN}:write",
            "VBG_WEB_BIND": "127.0.0.1",
            "VBG_CH_WITHIN_S": "0.5",
            "VBG_LOG_LEVEL": "info",
            **(env or {}),
        }
        self.process: ManagedProcess | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Worker:
        argv = [sys.executable, "-m", "engine", "worker"]
        self.process = ManagedProcess(self.name, argv, self.log_path, env=self.env)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process else ""

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the API answers and the worker component is ``ok`` (assigned, config loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited while starting:\n{self.log_tail()}")
            try:
                body = self.http.get("/api/v1/health").json()
                if body["components"]["worker"]["status"] == "ok":
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def get(self, path: str, token: str = READ_TOKEN, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def put(self, path: str, body: Any, token: str = WRITE_TOKEN) -> httpx.Response:
        return self.http.put(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, body: Any, token: str = WRITE_TOKEN) -> httpx.Response:
        return self.http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def stats(self) -> dict[str, Any]:
        return self.get("/api/v1/stats").json()

    def health(self) -> dict[str, Any]:
        return self.http.get("/api/v1/health").json()

    def events_in(self) -> int:
        return int(sum(self.stats()["events_in"].values()))

    def clickhouse_counts(self) -> dict[str, int]:
        rows = self.get("/api/v1/analytics/decision_counts").json()["rows"]
        return {k: int(v) for k, v in rows[0].items()}

    def kill9(self) -> None:
        """SIGKILL the worker's process group: no shutdown code runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.process is not None
        self.process.popen.send_signal(signal.SIGTERM)
        return self.process.popen.wait(timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=20)
        self.http.close()


def wait_for(probe, timeout: float, interval: float = 0.25, what: str = "condition") -> Any:
    """Poll ``probe`` until it returns something truthy; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


# ---- traffic ------------------------------------------------------------------------------


def simulate(
    seed: int, duration: float, viewers: int = 150, channels: int = 4
) -> list[tuple[str, bytes, bytes]]:
    """Simulator traffic with current timestamps (ClickHouse keeps it: TTL), as
    ``(topic, key, value)`` in event-time order."""
    from engine.simulate import FAMILIES, SimConfig, Simulation
    from engine.simulate.emit import TOPICS

    cfg = SimConfig(
        seed=seed,
        channels=channels,
        duration=duration,
        start_ts=round(time.time() - duration - 60, 3),
        viewers=viewers,
        attack_share=0.3,
        families=FAMILIES,
        attack_at=None,
        raids=False,
        max_events=None,
    )
    sim = Simulation(cfg, on_label=lambda label: None)
    return [(TOPICS[topic], key.encode(), value) for _ts, topic, key, value in sim.events()]


def replay_decisions(events: Iterable[tuple[str, bytes, bytes]]) -> list[dict[str, Any]]:
    """What `vbg-engine replay` decides on the same events (same code path as the CLI)."""
    from engine.detect import Detector, Policy
    from engine.schemas import Decision, decode_event

    detector = Detector(Policy())
    out = []
    for topic, _key, value in events:
        event = decode_event(topic, value)
        assert not hasattr(event, "code"), f"simulator produced an invalid event: {event}"
        decision: Decision | None = detector.process(event)
        if decision is not None:
            out.append(json.loads(_encode(decision)))
    return out


def _encode(decision: Any) -> bytes:
    from engine.schemas import encode_decision

    return encode_decision(decision)


def final_actions(decisions: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Per session, the action of its newest decision (event time, then id)."""
    newest: dict[str, tuple[float, str, str]] = {}
    for d in decisions:
        key = (d["ts"], d["decision_id"], d["action"])
        current = newest.get(d["session_id"])
        if current is None or key[:2] >= current[:2]:
            newest[d["session_id"]] = key
    return {sid: v[2] for sid, v in newest.items()}


async def _produce(
    kafka: str, prefix: str, events: Iterable[tuple[str, bytes | None, bytes | None]], rate: float
) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, linger_ms=5, max_batch_size=262_144, max_request_size=1_000_000
    )
    await producer.start()
    n = 0
    start = time.monotonic()
    try:
        pending = []
        for topic, key, value in events:
            pending.append(await producer.send(prefix + topic, value=value, key=key))
            n += 1
            if rate and n % 200 == 0:
                ahead = start + n / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n


def produce(
    kafka: str,
    prefix: str,
    events: Iterable[tuple[str, bytes | None, bytes | None]],
    rate: float = 0,
) -> int:
    """Produce ``(topic, key, value)`` to ``prefix + topic``; ``rate`` events/s (0: unpaced)."""
    return asyncio.run(_produce(kafka, prefix, events, rate))


async def _create_topics(kafka: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if wanted:
            await admin.create_topics(wanted)
    finally:
        await admin.close()


def create_input_topics(kafka: str, prefix: str) -> None:
    names = [prefix + t for t in (*INPUT_TOPICS, "decisions", "enforcement", "dlq")]
    asyncio.run(_create_topics(kafka, names, PARTITIONS))


async def _read_all(kafka: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = await topic_partitions(kafka, topic)
        if not tps:
            return []
        # Not ListOffsets alone: Tansu's are short after multi-record batches (docs/brokers.md, 1).
        ends = await exact_end_offsets(consumer, await consumer.end_offsets(tps))
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend((r.key, r.value) for r in records)
        return out
    finally:
        await consumer.stop()


def read_topic(kafka: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of ``topic`` as (key, value), from the beginning to the current end."""
    return asyncio.run(_read_all(kafka, topic))


def read_decisions(kafka: str, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(value) for _key, value in read_topic(kafka, prefix + "decisions") if value]
