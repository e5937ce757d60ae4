"""Two workers in one consumer group: they split the partitions, together they decide exactly
what replay decides, and a threshold change made through one worker's API applies on both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from worker_harness import (
    PARTITIONS,
    Worker,
    create_input_topics,
    final_actions,
    produce,
    read_decisions,
    replay_decisions,
    simulate,
    unique,
    wait_for,
)

from engine.schemas import INPUT_TOPICS

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(400)]


def _inputs(worker: Worker) -> set[str]:
    """The input partitions (``topic:partition``) assigned to ``worker`` now."""
    inputs = {worker.prefix + t for t in INPUT_TOPICS}
    return {tp for tp in worker.stats()["worker"]["assignment"] if tp.split(":")[0] in inputs}


def _split(a: Worker, b: Worker) -> tuple[set[str], set[str]] | None:
    mine, theirs = _inputs(a), _inputs(b)
    everything = {f"{a.prefix}{t}:{p}" for t in INPUT_TOPICS for p in range(PARTITIONS)}
    ok = mine and theirs and not mine & theirs and mine | theirs == everything
    ok = ok and a.health()["components"]["worker"]["status"] == "ok"
    ok = ok and b.health()["components"]["worker"]["status"] == "ok"
    return (mine, theirs) if ok else None


def _score(worker: Worker, session: str) -> str:
    """The action the worker's live policy gives a plain viewer's batch (POST /api/v1/score)."""
    t0 = time.time() - 120
    events = [
        {
            "topic": "cdn-logs",
            "value": {
                "event_id": f"{session}-{i}",
                "ts": t0 + 2 * i,
                "session_id": session,
                "channel_id": "scaleout-probe",
                "client_ip": "203.0.113.7",
                "asn": 64500,
                "country": "DE",
                "user_agent": "Mozilla/5.0",
                "method": "GET",
                "path": f"/live/scaleout-probe/720p60/seg_{i}.ts",
                "status": 200,
                "bytes_sent": 500_000,
                "object_size": 500_000,
                "duration_ms": 120,
                "referer": "",
                "tls_fingerprint": "",
            },
        }
        for i in range(40)
    ]
    response = worker.post("/api/v1/score", events)
    assert response.status_code == 200, response.text
    return response.json()["decision"]["action"]


def test_two_workers_split_partitions_and_share_live_thresholds(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    name = unique("scale")
    prefix = f"{name}."
    create_input_topics(kafka_bootstrap, prefix)
    config = {"app_id": name, "prefix": prefix, "redis_prefix": f"{name}:"}
    # chDB is in-process: one directory per worker (a ClickHouse server would be shared).
    a = Worker(tmp_path, kafka_bootstrap, redis_url, name="a", chdb=tmp_path / "chdb-a", **config)
    b = Worker(tmp_path, kafka_bootstrap, redis_url, name="b", chdb=tmp_path / "chdb-b", **config)
    try:
        a.start().wait_ready()
        b.start()
        mine, theirs = wait_for(lambda: _split(a, b), 120, what="the partitions split in two")
        assert len(mine) + len(theirs) == len(INPUT_TOPICS) * PARTITIONS
        # Both merges know how many input partitions to wait for, the group leader's and the
        # other's (Faust answers only on the leader; the other waited 10 s on every start).
        for worker in (a, b):
            assert worker.stats()["worker"]["input_partitions"] == len(INPUT_TOPICS) * PARTITIONS

        # Together they decide what replay decides, each on its own share.
        traffic = simulate(seed=31, duration=150, viewers=160)
        expected = replay_decisions(traffic)
        produce(kafka_bootstrap, prefix, traffic)
        ids = {d["decision_id"] for d in expected}
        wait_for(
            lambda: {d["decision_id"] for d in read_decisions(kafka_bootstrap, prefix)} >= ids,
            150,
            what="every decision published",
        )
        published = read_decisions(kafka_bootstrap, prefix)
        assert {d["decision_id"] for d in published} == ids
        assert final_actions(published) == final_actions(expected)
        per_worker = [sum(w.stats()["decisions"].values()) for w in (a, b)]
        assert all(n > 0 for n in per_worker), per_worker  # both did part of the work
        assert _split(a, b) == (mine, theirs)  # no rebalance meanwhile

        # A threshold change through a's API reaches b's live policy.
        before = b.get("/api/v1/config/thresholds").json()
        assert _score(b, "probe-before") == "count"
        strict = {"suppress": 0.0, "challenge": 0.0, "block": 0.0}
        response = a.put("/api/v1/config/thresholds", strict)
        assert response.status_code == 200, response.text
        wait_for(
            lambda: b.get("/api/v1/config/thresholds").json() != before,
            30,
            what="b to see the new thresholds",
        )
        seen = b.get("/api/v1/config/thresholds").json()
        assert {k: seen[k] for k in strict} == strict
        assert _score(b, "probe-after") == "block"
        assert _score(a, "probe-after") == "block"
    finally:
        a.stop()
        b.stop()
