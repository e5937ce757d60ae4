"""kill -9 of a worker mid-stream, then a restart: no decision lost, none duplicated.

The worker is SIGKILLed while it works through a backlog (no shutdown code runs: offsets, table
changelogs and sink batches are cut wherever they were). A new worker on the same group and the
same chDB directory picks up from the last commit. Afterwards the decisions topic holds exactly
the decisions replay makes, ClickHouse holds each of them once (FINAL rows == distinct ids ==
replay's count), and every session's final action matches replay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from worker_harness import (
    Worker,
    create_input_topics,
    final_actions,
    produce,
    read_decisions,
    read_topic,
    replay_decisions,
    simulate,
    unique,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


# Before any state flush (states are written every 5 s; the backlog takes about that long),
# so the restart replays the whole channel backlog: this found streams skipping, and queues
# emptied, around recovery. After many flushes (every 0.5 s), so the restart recovers the
# tables from their changelogs and resumes from committed offsets: this found Tansu's short
# end offsets.
@pytest.mark.parametrize(
    ("kill_at", "flush_s"), [(0.2, "5"), (0.6, "0.5")], ids=["before-flush", "after-flushes"]
)
def test_kill9_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path, kill_at: float, flush_s: str
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
        tmp_path,
        kafka_bootstrap,
        redis_url,
        name="first",
        env={"VBG_CH_WITHIN_S": "2", "VBG_STATE_FLUSH_S": flush_s},
        **config,
    )
    second = Worker(tmp_path, kafka_bootstrap, redis_url, name="second", **config)
    try:
        first.start().wait_ready()
        # Mid-stream: some decisions published, not all.
        published = wait_for(
            lambda: (
                (n := sum(first.stats()["decisions"].values())) >= len(expected) * kill_at and n
            ),
            120,
            interval=0.05,
            what=f"{kill_at:.0%} of the decisions",
        )
        first.kill9()
        if float(flush_s) < 1:
            # The case this variant is for: the restart has flushed states to recover.
            assert read_topic(kafka_bootstrap, f"{name}-sessions-changelog"), "nothing flushed"
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
