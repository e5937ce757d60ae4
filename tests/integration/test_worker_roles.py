"""One worker run as two processes, ``--role decide`` and ``--role ingest``: together they decide
exactly what replay decides, each does only its half (ingest: input and the sinks; decide: the
state and the decisions), and the ingest process keeps no state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
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


def _topics_of(worker: Worker) -> set[str]:
    return {tp.rpartition(":")[0] for tp in worker.stats()["worker"]["assignment"]}


async def _list_topics(kafka: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_ingest_and_decide_processes_decide_what_replay_decides(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    name = unique("roles")
    prefix = f"{name}."
    create_input_topics(kafka_bootstrap, prefix)
    config = {"app_id": name, "prefix": prefix, "redis_prefix": f"{name}:"}

    def member(role: str) -> Worker:
        # chDB is in-process: one directory per process (a ClickHouse server would be shared).
        return Worker(
            tmp_path,
            kafka_bootstrap,
            redis_url,
            name=role,
            chdb=tmp_path / f"chdb-{role}",
            env={"VBG_WORKER_ROLE": role},
            **config,
        )

    decide, ingest = member("decide"), member("ingest")
    inputs = {prefix + t for t in INPUT_TOPICS}
    stateless = inputs | {prefix + "decisions", prefix + "enforcement"}
    channel_topic = f"{name}-channel-events"
    try:
        decide.start().wait_ready()
        ingest.start().wait_ready()
        wait_for(lambda: channel_topic in _topics_of(decide), 60, what="decide assigned")
        wait_for(lambda: _topics_of(ingest) == stateless, 60, what="ingest assigned")
        # The deciding process does not read the input topics, so it asks the broker how many
        # partitions they have (else its merge would wait out its start-up grace every time).
        assert decide.stats()["worker"]["input_partitions"] == len(INPUT_TOPICS) * PARTITIONS

        traffic = simulate(seed=43, duration=150, viewers=140)
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

        # Each process did its half only.
        ingest_stats, decide_stats = ingest.stats(), decide.stats()
        assert ingest_stats["worker"]["role"] == "ingest"
        assert decide_stats["worker"]["role"] == "decide"
        assert sum(ingest_stats["events_in"].values()) == len(traffic)
        assert sum(decide_stats["events_in"].values()) == 0
        assert sum(ingest_stats["decisions"].values()) == 0
        assert sum(decide_stats["decisions"].values()) >= len(expected)
        assert _topics_of(ingest) == stateless  # never the channel topic
        assert not _topics_of(decide) & stateless  # the channel topic and its changelogs
        # The sinks run in the ingest process (its own chDB here; a server would be shared).
        wait_for(
            lambda: ingest.clickhouse_counts()["rows_final"] >= len(ids),
            60,
            what="decisions in ClickHouse",
        )
        assert ingest.clickhouse_counts()["rows_final"] == len(ids)
        assert decide.clickhouse_counts()["rows_stored"] == 0

        # The ingest process keeps no state: no tables, so no changelog topics of its group.
        topics = asyncio.run(_list_topics(kafka_bootstrap))
        assert f"{name}-sessions-changelog" in topics
        assert not [t for t in topics if t.startswith(f"{name}-ingest-") and "changelog" in t]
        # Its API still answers a session lookup (from the decisions, not from state it lacks).
        session = expected[-1]["session_id"]
        response = ingest.get(f"/api/v1/sessions/{session}")
        assert response.status_code in (200, 404), response.text
    finally:
        ingest.stop()
        decide.stop()
