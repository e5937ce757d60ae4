"""ClickHouse sink: batches of decisions into ``viewbot.decisions``, idempotently, never dropped.

A batch is written with an ``insert_deduplication_token`` derived from where its records sit in
Kafka (topic, partition, first and last offset of each partition) and the decision ids they
carry: a batch retried after a timeout or re-read after a crash with the same offsets is
dropped by ClickHouse itself (``non_replicated_deduplication_window`` on the table makes this
work on a single server and on chDB, checked in tests), and a decision re-published with other
offsets replaces itself in the ReplacingMergeTree.

When ClickHouse fails, :meth:`ClickHouseWriter.write_decisions` retries with exponential backoff
(capped, jittered so several workers do not retry in step) until it succeeds or the worker stops;
the caller does not ack in the meantime, so Faust stops fetching the ``decisions`` partitions
once their buffer is full (backpressure) and nothing is lost: the decisions wait in Kafka.
Client calls run one at a time (``self.lock``: chDB is driven from a thread, and an HTTP client
carries a session) on the writer's own thread, so calls stuck behind an unreachable server queue
there instead of taking the event loop's default threads. The HTTP client has a bounded
read timeout (a hung server fails the attempt instead of holding the sink for minutes), and the
health ping of a server goes to ``/ping`` outside the lock, so health answers during an outage.

chDB holds one data path per process and one process per path: with ``chdb://`` only one worker
may run. Scale out with a ClickHouse server (``http(s)://``), where every worker writes its own
batches.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from engine import metrics
from engine.schemas import CdnLog, Decision
from engine.storage.clickhouse import StorageError, connect, parse_url
from engine.storage.rows import insert_cdn_logs, insert_decisions

log = logging.getLogger("engine.sinks.clickhouse")
T = TypeVar("T")

BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0
READ_TIMEOUT_S = 60.0  # one HTTP request to a server; a hung server fails the attempt


CHANNEL_STATS_COLUMNS = (
    "minute",
    "channel_id",
    "source",
    "raw_viewers",
    "counted_viewers",
    "suppressed",
    "challenged",
    "blocked",
    "updated_at",
)


def _insert_channel_stats(
    client: Any, rows: Sequence[Sequence[Any]], *, dedup_token: str | None
) -> int:
    # Gauge rows: each write is new (updated_at), so no deduplication token.
    client.insert(
        "channel_stats", list(rows), column_names=list(CHANNEL_STATS_COLUMNS), database="viewbot"
    )
    return len(rows)


def preload_driver_imports() -> None:
    """Import what clickhouse-connect would import on the first insert.

    The driver resolves numpy and pandas lazily, on the first insert: about a second of imports
    with the GIL held, which froze the event loop (and the decision path) mid-stream. Done
    here, it is part of start-up instead.
    """
    from clickhouse_connect.driver import options

    for name in ("np", "pd"):
        getattr(options, name, None)


def dedup_token(topic: str, spans: dict[int, tuple[int, int]], ids: Sequence[str]) -> str:
    """``topic|p:first-last,...|digest``: the batch's place in Kafka plus a digest of its ids."""
    where = ",".join(f"{p}:{a}-{b}" for p, (a, b) in sorted(spans.items()))
    digest = hashlib.blake2b("\n".join(ids).encode(), digest_size=8).hexdigest()
    return f"{topic}|{where}|{digest}"


class ClickHouseWriter:
    """The worker's ClickHouse client, its health, and retrying writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.target = parse_url(url)
        self.lock = threading.Lock()
        self._client: Any = None
        self.healthy = True
        self.last_error = ""
        self.last_ok: float | None = None
        self.failures = 0
        self.down_since: float | None = None
        self.backlog = 0
        self._executor: ThreadPoolExecutor | None = None
        if not self.target.embedded:
            # Each failed attempt is logged here (throttled); the driver's own warning per failed
            # request would flood the log during an outage.
            logging.getLogger("clickhouse_connect").setLevel(logging.ERROR)

    @property
    def embedded(self) -> bool:
        return self.target.embedded

    def describe(self) -> str:
        return self.target.describe()

    def client(self) -> Any:
        if self._client is None:
            self._client = connect(self.url, send_receive_timeout=READ_TIMEOUT_S)
        return self._client

    def open(self) -> None:
        """Connect and check the schema is there (fail fast at startup, in a thread)."""
        preload_driver_imports()
        with self.lock:
            client = self.client()
            try:
                client.query("SELECT count() FROM viewbot.decisions WHERE 0")
            except Exception as exc:
                raise StorageError(
                    f"ClickHouse at {self.describe()} has no viewbot.decisions table "
                    f"(run `vbg-engine migrate`): {' '.join(str(exc).split())[:200]}"
                ) from None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(client, ...)`` under the process-wide lock (call from a thread)."""
        with self.lock:
            return fn(self.client(), *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`call` on the writer's own thread (calls are serialised anyway)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self.call(fn, *args, **kwargs))

    async def ping(self, timeout: float = 3.0) -> bool:
        """Does ClickHouse answer? A server is asked ``/ping`` directly, not behind the lock."""
        try:
            if self.embedded or self._client is None:
                await asyncio.wait_for(self.run(lambda c: c.query("SELECT 1")), timeout)
                return True
            client = self._client
            return bool(await asyncio.to_thread(client.ping, timeout))
        except Exception:
            return False

    def close(self) -> None:
        """Stop the writer's thread (pending calls finish first)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def write_decisions(self, decisions: Sequence[Decision], token: str) -> None:
        """Insert until it works; raises CancelledError if the worker stops meanwhile."""
        if not decisions:
            return
        await self._retrying("decisions", len(decisions), insert_decisions, decisions, token)

    async def write_cdn_logs(self, events: Sequence[CdnLog], token: str, attempts: int) -> bool:
        """Best effort (a sample of raw logs): a few attempts, then the batch is dropped."""
        try:
            await self._retrying(
                "raw_cdn_log", len(events), insert_cdn_logs, events, token, attempts
            )
        except StorageError:
            return False
        return True

    async def write_channel_stats(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Per-minute viewer counts (a gauge, rewritten every few seconds): best effort."""
        try:
            await self._retrying("channel_stats", len(rows), _insert_channel_stats, rows, None, 2)
        except StorageError:
            return False
        return True

    async def _retrying(
        self,
        what: str,
        n: int,
        insert: Callable[..., int],
        rows: Sequence[Any],
        token: str | None,
        attempts: int | None = None,
    ) -> None:
        delay = BACKOFF_START_S
        tries = 0
        self.backlog += n
        metrics.SINK_BACKLOG.labels(sink="clickhouse").set(self.backlog)
        try:
            while True:
                tries += 1
                try:
                    await self.run(lambda c: insert(c, rows, dedup_token=token))
                except Exception as exc:
                    self.failures += 1
                    if self.healthy:
                        self.down_since = time.time()
                    self.healthy = False
                    self.last_error = " ".join(str(exc).split())[:300]
                    metrics.SINK_WRITE_FAILURES.labels(sink="clickhouse").inc()
                    if tries == 1 or tries % 10 == 0:
                        log.warning(
                            "clickhouse insert into %s failed (attempt %d), retrying in %.1fs: %s",
                            what,
                            tries,
                            delay,
                            self.last_error,
                        )
                    if attempts is not None and tries >= attempts:
                        raise StorageError(self.last_error) from None
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, BACKOFF_MAX_S)
                    continue
                if not self.healthy:
                    log.info(
                        "clickhouse writes work again after %.1fs of failures",
                        time.time() - (self.down_since or time.time()),
                    )
                self.healthy = True
                self.last_ok = time.time()
                return
        finally:
            self.backlog -= n
            metrics.SINK_BACKLOG.labels(sink="clickhouse").set(self.backlog)
