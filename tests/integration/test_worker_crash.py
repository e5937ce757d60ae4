"""kill -9 of a worker mid-stream, then a restart: no decision lost, none duplicated.

The worker is SIGKILLed while it works through a backlog (no shutdown code runs: offsets, table
changelogs and sink batches are cut wherever they were). A new worker on the same group and the
same chDB directory picks up from the last commit. Afterwards the decisions topic holds exactly
the decisions replay makes, ClickHouse holds each of them once (FINAL rows == distinct ids ==
replay's count), and every session's final action matches replay.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from worker_harness import (
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

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(300),
    # Issue 4 is open: after a kill -9 the restarted worker does not always reproduce replay's
    # decisions (some runs differ in a few, some in dozens: sessions decided without events the
    # first worker had read). Set VBG_WORKER_TESTS=1 to run it.
    pytest.mark.skipif(
        os.environ.get("VBG_WORKER_TESTS") != "1",
        reason="kill -9 recovery can still lose events (issue 4 open); set VBG_WORKER_TESTS=1 to run",
    ),
]


def test_kill9_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    name = unique("crash")
    prefix = f"{name}."
    create_input_topics(kafka_bootstrap, prefix)
    traffic = simulate(seed=21, duration=300, viewers=600)
    expected = replay_decisions(traffic)
    produce(kafka_bootstrap, prefix, traffic)
    config = {"app_id": name, "prefix": prefix, "redis_prefix": f"{name}:"}
    # A slow sink keeps ClickHouse behind the decisions: the kill cuts through every stage.
    first = Worker(
        tmp_path, kafka_bootstrap, redis_url, name="first", env={"VBG_CH_WITHIN_S": "2"}, **config
    )
    second = Worker(tmp_path, kafka_bootstrap, redis_url, name="second", **config)
    try:
        first.start().wait_ready()
        # Mid-stream: some decisions published, not all.
        published = wait_for(
            lambda: (n := sum(first.stats()["decisions"].values())) >= len(expected) // 5 and n,
            120,
            interval=0.05,
            what="a fifth of the decisions",
        )
        first.kill9()
        assert published < len(expected), "the kill came too late to be mid-stream"

        second.start().wait_ready(timeout=120)
        ids = {d["decision_id"] for d in expected}

        status: dict[str, str] = {}

        def all_published() -> bool:
            published = read_decisions(kafka_bootstrap, prefix)
            missing = ids - {d["decision_id"] for d in published}
            stats = second.stats()
            lost = [d for d in expected if d["decision_id"] in missing][:3]
            status["last"] = (
                f"{len(missing)} missing, e.g. {lost}; published for that session:"
                f" {[d for d in published if lost and d['session_id'] == lost[0]['session_id']]}"
                f"; second worker: events_in {second.events_in()}"
                f" of {len(traffic)}, decisions {stats['decisions']},"
                f" held in merge {stats.get('merge_waiting')}"
            )
            return not missing

        try:
            wait_for(all_published, 120, what="every decision published")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {status.get('last')}") from None
        counts = wait_for(
            lambda: (c := second.clickhouse_counts())["rows_final"] >= len(ids) and c,
            60,
            what="every decision in ClickHouse",
        )
        published = read_decisions(kafka_bootstrap, prefix)
        assert {d["decision_id"] for d in published} == ids  # nothing lost, nothing extra
        assert counts["rows_final"] == counts["distinct_ids"] == len(ids)  # nothing doubled
        assert final_actions(published) == final_actions(expected)
    finally:
        first.stop()
        second.stop()
