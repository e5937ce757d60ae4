"""Merge every session's events into one stream in global event-time order, and label sessions.

The merge works in slabs of event time: every active session runs ahead to the end of the slab
(its generator stays hot in the CPU cache while it does), the slab's events are sorted by
``(ts, session number, event number)`` and written, and the next slab begins. Arrivals are a
small heap of per-channel and per-campaign streams; a session's generator is created only when
its arrival comes. Memory follows active sessions and one slab of events, not the run's length,
and the order is a pure function of the configuration.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

import msgspec

from engine.simulate.scenario import SimConfig, World


class Label(msgspec.Struct):
    session_id: str
    label: str
    family: str
    first_ts: float
    last_ts: float


SLAB_SECONDS = 5.0


class _Session:
    __slots__ = ("family", "first", "gen", "index", "k", "label", "last", "pending", "sid")

    def __init__(self, sid: str, label: str, family: str, gen: Iterator, index: int) -> None:
        self.sid = sid
        self.label = label
        self.family = family
        self.gen = gen
        self.index = index
        self.k = 0
        self.pending = next(gen, None)
        self.first = -1.0
        self.last = -1.0


class Simulation:
    """``events()`` yields ``(ts, topic index, key, value bytes)``; labels go to ``on_label``."""

    def __init__(self, cfg: SimConfig, on_label: Callable[[Label], None] | None = None) -> None:
        self.cfg = cfg
        self.world = World(cfg)
        self.on_label = on_label or (lambda label: None)
        self.sessions = {"human": 0, "bot": 0}
        self.topic_counts = [0, 0, 0, 0]

    def _finish(self, s: _Session) -> None:
        if s.first >= 0:
            self.sessions[s.label] += 1
            self.on_label(Label(s.sid, s.label, s.family, s.first, s.last))

    def events(self) -> Iterator[tuple[float, int, str, bytes]]:
        cfg = self.cfg
        end_ts = cfg.start_ts + cfg.duration
        limit = cfg.max_events or -1
        arrivals: list[tuple] = []
        for i, src in enumerate(self.world.sources()):
            first = next(src, None)
            if first is not None:
                arrivals.append((first[0], i, first[1], src))
        heapq.heapify(arrivals)
        counts = self.topic_counts
        active: list[_Session] = []
        done: list[_Session] = []
        created = 0
        emitted = 0
        slab_start = cfg.start_ts
        while slab_start < end_ts and (active or arrivals):
            slab_end = min(slab_start + SLAB_SECONDS, end_ts)
            while arrivals and arrivals[0][0] < slab_end:
                _, i, factory, src = arrivals[0]
                sid, label, family, gen = factory()
                session = _Session(sid, label, family, gen, created)
                created += 1
                if session.pending is not None:
                    active.append(session)
                nxt = next(src, None)
                if nxt is None:
                    heapq.heappop(arrivals)
                else:
                    heapq.heapreplace(arrivals, (nxt[0], i, nxt[1], src))
            batch: list[tuple] = []
            add = batch.append
            running: list[_Session] = []
            done = []
            for s in active:
                ev, idx, gen, k = s.pending, s.index, s.gen, s.k
                while ev is not None and ev[0] < slab_end:
                    add((ev[0], idx, k, ev[1], ev[2], s))
                    k += 1
                    ev = next(gen, None)
                s.k = k
                s.pending = ev
                (running if ev is not None else done).append(s)
            active = running
            batch.sort()
            for ts, _, _, topic, payload, s in batch:
                if s.first < 0:
                    s.first = ts
                s.last = ts
                counts[topic] += 1
                yield ts, topic, s.sid, payload
                emitted += 1
                if emitted == limit:
                    break
            if emitted == limit:
                break
            for s in done:
                self._finish(s)
            done = []
            slab_start = slab_end
        unfinished = [s for s in active + done if s.first >= 0]
        for s in sorted(unfinished, key=lambda s: (s.first, s.sid)):
            self._finish(s)
