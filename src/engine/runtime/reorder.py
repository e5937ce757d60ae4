"""Event-time merge of a channel partition's input sources, with watermarks (pure logic).

``vbg-engine replay`` folds events in event-time order across all topics. Kafka delivers each
source partition in order but interleaves sources by fetch: catching up on a backlog, one fetch
can hold 15 s of CDN logs and the next 150 s of player events. Folded as delivered, a session
would see a minute of segment requests before its first heartbeat, which both breaks parity
with replay and looks like a bot. So the decide agent merges its sources by event time first.

Each source (``topic:partition`` of the input) stays FIFO (its own order is kept, which the
idempotence marks in ``engine.runtime.decide`` rely on). Events are released once every source
that is still catching up on a backlog has delivered events at least that recent (the
watermark). Every input batch tells every channel partition how far its source got and whether
it reached the end of the partition (``Header.clock``/``caught_up``), so a source without events
for this partition still advances, and caught-up sources (live traffic) hold nothing back.
Nothing is released during ``grace_s`` after the first delivery (so every source's first batch
can arrive) unless all ``expected`` sources have been heard from. A source that is behind but
silent for ``stall_s`` of wall time is taken for stalled and stops holding the others back;
``max_items`` bounds memory. The stall limit is generous on purpose: when the decide agent is
the bottleneck, or after a restart when the ingest agent first re-publishes other sources'
backlog, a source's next envelope can be late for a long while, and releasing early would
apply events out of order exactly when catching up.

Releasing sorts what is releasable by (event time, source, arrival) in one C-level sort rather
than a heap operation per event; event time is made monotonic per source (the running maximum)
so the sort can never reorder a source's own events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.schemas import INPUT_TOPICS

# (sort key: event time, source rank, arrival), event, source, offset, Kafka timestamp: the
# sort key stays in front, so release hands out the very tuples it sorted (no second list)
Released = tuple[float, tuple[int, int, str], int, Any, str, int, float]


class _Segment:
    """One delivery of one source: events with their offsets and Kafka timestamps."""

    __slots__ = ("added", "events", "i", "offsets", "stamps", "token")

    def __init__(
        self,
        events: Sequence[Any],
        offsets: Sequence[int],
        stamps: Sequence[float],
        token: Hashable,
        added: float,
    ) -> None:
        self.events = events
        self.offsets = offsets
        self.stamps = stamps
        self.token = token
        self.added = added
        self.i = 0


_TOPIC_ORDER = {topic: i for i, topic in enumerate(INPUT_TOPICS)}


def source_rank(source: str) -> tuple[int, int, str]:
    """Where a source's events go among events of the same event time: a fixed order (input
    topic, then partition), so a restarted worker breaks ties exactly as the first one did,
    whatever order the sources happen to be heard from in."""
    topic, _, partition = source.rpartition(":")
    return (
        _TOPIC_ORDER.get(topic, len(_TOPIC_ORDER)),
        int(partition) if partition.isdigit() else -1,
        source,
    )


@dataclass
class _Source:
    rank: tuple[int, int, str]
    queue: deque[_Segment] = field(default_factory=deque)
    clock: float = float("-inf")  # newest event time this source has delivered
    released: float = float("-inf")  # running max event time of what was released
    seen: float = float("-inf")  # wall clock of its last delivery
    lagging: bool = False  # its last delivery did not reach the end of its partition


class ReorderBuffer:
    def __init__(
        self,
        grace_s: float = 10.0,
        stall_s: float = 30.0,
        max_items: int = 300_000,
        expected: int | None = None,
    ) -> None:
        self.grace_s = grace_s
        self.stall_s = stall_s
        self.max_items = max_items
        self.expected = expected
        self._started: float | None = None
        self._sources: dict[str, _Source] = {}
        self._size = 0
        self._seq = 0
        self._pending: dict[Hashable, int] = {}  # token -> events not yet released
        self._order: deque[Hashable] = deque()  # tokens in arrival order
        # Events released ahead of a source still catching up (buffer full, or the source
        # taken for stalled): they may be applied out of event-time order.
        self.released_early = 0

    def __len__(self) -> int:
        return self._size

    def oldest_added(self) -> float | None:
        heads = [s.queue[0].added for s in self._sources.values() if s.queue]
        return min(heads) if heads else None

    def add(
        self,
        source: str,
        token: Hashable,
        events: Sequence[Any],
        offsets: Sequence[int],
        stamps: Sequence[float],
        now: float,
        *,
        clock: float = float("-inf"),
        caught_up: bool = True,
    ) -> None:
        """Buffer ``events`` (all from ``source``, in its order) delivered now; ``clock`` is how
        far in event time the source got, ``caught_up`` whether it reached its end."""
        if self._started is None:
            self._started = now
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source(rank=source_rank(source))
        src.seen = now
        src.lagging = not caught_up
        if clock > src.clock:
            src.clock = clock
        self.touch(token)
        if not events:
            return
        self._pending[token] += len(events)
        newest = max(e.ts for e in events)
        if newest > src.clock:
            src.clock = newest
        src.queue.append(_Segment(events, offsets, stamps, token, now))
        self._size += len(events)

    def touch(self, token: Hashable) -> None:
        """Register a message (with or without events) so it completes in arrival order."""
        if token not in self._pending:
            self._pending[token] = 0
            self._order.append(token)

    def floor(self, now: float) -> float:
        """Event time of the slowest source still catching up (inf if none is)."""
        lagging = [
            s.clock for s in self._sources.values() if s.lagging and now - s.seen <= self.stall_s
        ]
        return min(lagging) if lagging else float("inf")

    def watermark(self, now: float) -> float:
        """Event time up to which every source still catching up has delivered."""
        if self._started is None:
            return float("-inf")
        in_grace = now - self._started < self.grace_s
        if in_grace and (self.expected is None or len(self._sources) < self.expected):
            return float("-inf")
        return self.floor(now)

    def _strict_watermark(self) -> float:
        """The watermark with stalled sources counted too: what release order would honour."""
        lagging = [s.clock for s in self._sources.values() if s.lagging]
        return min(lagging) if lagging else float("inf")

    def release(self, now: float, everything: bool = False) -> list[Released]:
        """Events that may be applied now, in merged event-time order (``Released`` tuples)."""
        if not self._size:
            return []
        mark = self.watermark(now)
        strict = self._strict_watermark()
        if everything:
            mark = strict = float("inf")
        elif self._size > self.max_items:
            mark = float("inf")
        picked: list[Released] = []
        add = picked.append
        pending = self._pending
        seq = self._seq
        for name, src in self._sources.items():
            queue = src.queue
            running = src.released
            rank = src.rank
            while queue:
                seg = queue[0]
                events, offsets, stamps = seg.events, seg.offsets, seg.stamps
                start = i = seg.i
                n = len(events)
                while i < n:
                    event = events[i]
                    ts = event.ts
                    if ts > running:
                        if ts > mark:
                            break
                        running = ts
                    seq += 1
                    add((running, rank, seq, event, name, offsets[i], stamps[i]))
                    i += 1
                seg.i = i
                pending[seg.token] -= i - start
                if i < n:
                    break
                queue.popleft()
            src.released = running
        self._seq = seq
        self._size -= len(picked)
        if strict < mark:
            self.released_early += sum(1 for p in picked if p[0] > strict)
        picked.sort()
        return picked

    def completed(self) -> list[Hashable]:
        """Tokens, in arrival order, whose events were all released (removed from tracking)."""
        done = []
        while self._order and self._pending.get(self._order[0], 0) == 0:
            token = self._order.popleft()
            self._pending.pop(token, None)
            done.append(token)
        return done

    def tokens(self) -> list[Hashable]:
        """Every token still tracked (for dropping the buffer on a rebalance)."""
        return list(self._order)
