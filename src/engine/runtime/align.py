"""Event-time alignment of a worker's input partitions while they catch up (pure logic).

The decide agent's merge (``engine.runtime.reorder``) holds every event newer than the input
partition furthest behind in event time, until that partition gets there. Catching up on a
backlog, Kafka fetches the same *bytes* from every partition, which is very different *event
time*: a fetch of chat events covers an hour, one of CDN logs a few seconds. So the sparse
sources raced ahead and the merge held most of their backlog: 150-300k events per channel
partition in a million-event catch-up, and with two workers a full merge (``max_items``) had to
release events before the CDN logs they follow, so decisions differed from ``replay``.

The ingest agent therefore pauses fetching an input partition that is still catching up and
has got more than ``ahead_s`` of event time ahead of the slowest one still catching up, and
resumes it once the slowest has come within reach. Partitions that are caught up (live
traffic) are never paused and do not hold others back; neither does a partition not heard
from for ``stall_s`` (taken elsewhere by a rebalance, or its broker gone), so a pause cannot
turn into a deadlock. The slowest partition is the one the worker's merges see (they hear from
every input partition, whichever worker reads it), so workers keep pace with each other too.

``ahead_s`` trades memory for throughput: it is how far ingest may run ahead of what the merges
can apply. Measured with ``benchmarks/bench_engine.py`` on 2 cores: one worker caught up on 200k
events at 24k events/s with 30 s, 30k with 120 s; two workers on a million events at 43k with
120 s (at most 65k events held), 36k without alignment (up to 300k held).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass
class _Source:
    clock: float = float("-inf")  # newest event time ingested
    lagging: bool = False  # its last batch did not reach the end of its partition
    seen: float = 0.0  # wall clock of its last batch


@dataclass
class SourceAlignment:
    ahead_s: float = 120.0
    stall_s: float = 10.0
    paused: set[Hashable] = field(default_factory=set)
    _sources: dict[Hashable, _Source] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.ahead_s > 0

    def observe(self, source: Hashable, newest_ts: float, caught_up: bool, now: float) -> None:
        """A batch of ``source`` was ingested: its newest event time, whether it reached the end."""
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source()
        if newest_ts > src.clock:
            src.clock = newest_ts
        src.lagging = not caught_up
        src.seen = now

    def floor(self, now: float) -> float:
        """Event time of the slowest source still catching up (inf if none is)."""
        behind = [
            s.clock
            for s in self._sources.values()
            if s.lagging and now - s.seen <= self.stall_s and s.clock > float("-inf")
        ]
        return min(behind) if behind else float("inf")

    def update(
        self, now: float, floor: float = float("inf")
    ) -> tuple[list[Hashable], list[Hashable]]:
        """(sources to pause, sources to resume) now; ``paused`` is kept up to date. ``floor``
        is the slowest source as seen elsewhere (the merge, which hears from the partitions
        other workers read too)."""
        if not self.enabled:
            return [], []
        limit = min(self.floor(now), floor) + self.ahead_s
        # A paused source is silent because of the pause, not stalled.
        want = {
            key
            for key, s in self._sources.items()
            if s.lagging
            and s.clock > limit
            and (key in self.paused or now - s.seen <= self.stall_s)
        }
        pause = [key for key in want if key not in self.paused]
        resume = [key for key in self.paused if key not in want]
        self.paused = want
        return pause, resume

    def reset(self) -> list[Hashable]:
        """Forget everything (after a rebalance); returns the sources that were paused."""
        paused = list(self.paused)
        self.paused = set()
        self._sources.clear()
        return paused
