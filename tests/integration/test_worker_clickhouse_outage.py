"""ClickHouse made unreachable for a while under a running worker: nothing lost, nothing doubled.

ClickHouse here is a separate process (``engine.localstack.chserver``, chDB served over HTTP), so
it can really go away: the test kills it by PID mid-stream (connections are refused), keeps it
down while the worker goes on consuming and publishing decisions, then starts it again on the
same port and data directory. Afterwards the ``FINAL`` row count, the distinct decision ids and
the decisions ``vbg-engine replay`` makes on the same events must all agree.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
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

from engine.analytics import catalog
from engine.localstack.services import ChdbHttpService, clickhouse_ping_ok
from engine.storage.clickhouse import connect
from engine.storage.migrate import migrate

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(420),
]

RATE = 400  # events/s: production lasts long enough to stop ClickHouse in the middle of it
DOWN_S = 15  # how long ClickHouse stays unreachable


@pytest.fixture(scope="module")
def traffic() -> list[tuple[str, bytes, bytes]]:
    return simulate(seed=11, duration=120, viewers=120)


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbHttpService]:
    service = ChdbHttpService(tmp_path_factory.mktemp("chserver"))
    service.start(timeout=60)
    try:
        client = connect(service.url)
        migrate(client)
        client.close()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    clickhouse: ChdbHttpService,
) -> Iterator[Worker]:
    name = unique("chout")
    create_input_topics(kafka_bootstrap, f"{name}.")
    w = Worker(
        tmp_path_factory.mktemp(name),
        kafka_bootstrap,
        redis_url,
        app_id=name,
        prefix=f"{name}.",
        redis_prefix=f"{name}:",
        env={"CLICKHOUSE_URL": clickhouse.url, "VBG_RAW_CDN_SAMPLE": "0.05"},
    ).start()
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


def decisions_published(worker: Worker) -> int:
    return int(sum(worker.stats()["decisions"].values()))


def clickhouse_counts(url: str) -> dict[str, int]:
    client = connect(url)
    try:
        row = catalog.run(client, "decision_counts")[0]
    finally:
        client.close()
    return {k: int(v) for k, v in row.items()}


def test_clickhouse_outage_loses_nothing(
    worker: Worker,
    clickhouse: ChdbHttpService,
    kafka_bootstrap: str,
    traffic: list[tuple[str, bytes, bytes]],
) -> None:
    expected = replay_decisions(traffic)
    expected_ids = {d["decision_id"] for d in expected}
    assert expected_ids, "the simulator traffic should lead to decisions"

    producer = threading.Thread(
        target=produce, args=(kafka_bootstrap, worker.prefix, traffic, RATE), daemon=True
    )
    producer.start()
    try:
        # Mid-stream: some decisions are already in ClickHouse when it goes away.
        wait_for(
            lambda: clickhouse_counts(clickhouse.url)["rows_final"] > 0,
            120,
            what="first decisions in ClickHouse",
        )
        assert clickhouse.process is not None
        down_pid = clickhouse.process.pid
        # SIGKILL: an insert in flight may land without its answer reaching the worker, whose
        # retry must then be dropped by the deduplication token.
        os.killpg(down_pid, signal.SIGKILL)
        clickhouse.stop()  # reaps it
        assert not clickhouse_ping_ok(clickhouse.host, clickhouse.port)
        down_at = time.monotonic()
        published_at_stop = decisions_published(worker)

        health = wait_for(
            lambda: (h := worker.health())["components"]["clickhouse"]["status"] != "ok" and h,
            60,
            what="health to report ClickHouse",
        )
        assert health["components"]["clickhouse"]["status"] in ("down", "degraded")
        assert health["status"] != "ok"
        # Detection does not wait for ClickHouse: decisions keep reaching Kafka meanwhile.
        wait_for(
            lambda: decisions_published(worker) > published_at_stop,
            60,
            what="decisions published while ClickHouse is down",
        )
        failures_seen = wait_for(lambda: sink_failures(worker) >= 2, 60, what="the sink retrying")
        assert failures_seen
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
        assert worker.health()["components"]["clickhouse"]["status"] != "ok"

        clickhouse.start(timeout=60)
        assert clickhouse.process is not None and clickhouse.process.pid != down_pid
    finally:
        producer.join(timeout=300)
    assert not producer.is_alive()

    wait_for(lambda: worker.events_in() >= len(traffic), 180, what="all events consumed")
    wait_for(
        lambda: decisions_published(worker) >= len(expected),
        180,
        what=f"{len(expected)} decisions published",
    )
    published = read_decisions(kafka_bootstrap, worker.prefix)
    published_ids = {d["decision_id"] for d in published}
    assert published_ids == expected_ids

    counts = wait_for(
        lambda: (c := clickhouse_counts(clickhouse.url))["distinct_ids"] >= len(expected_ids) and c,
        180,
        what="every decision in ClickHouse",
    )
    assert counts["rows_final"] == counts["distinct_ids"] == len(expected_ids)
    client = connect(clickhouse.url)
    try:
        stored = {
            row[0]
            for row in client.query(
                "SELECT DISTINCT decision_id FROM viewbot.decisions"
            ).result_rows
        }
    finally:
        client.close()
    assert stored == expected_ids
    wait_for(
        lambda: worker.health()["components"]["clickhouse"]["status"] == "ok",
        60,
        what="health back to ok",
    )
    assert "Traceback" not in Path(worker.log_path).read_text(errors="replace")


def sink_failures(worker: Worker) -> float:
    """The worker's ``viewbot_sink_write_failures`` for ClickHouse, from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = worker.http.get("/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "sink_write_failures" in sample.name and sample.labels.get("sink") == "clickhouse":
                total += sample.value
    return total
