"""Event-time scheduler and event writer for the held-out generator.

Every actor (a viewer session, an arrival process) is a generator that yields the event time of
its next step. All events it emits during a step are at or after that step's time, so events can
be released in global time order as soon as the slowest actor has moved past them: memory follows
the number of active sessions, not the number of events.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from typing import IO

import orjson

_dumps = orjson.dumps
_push = heapq.heappush

CDN_PREFIX = b'{"topic":"cdn-logs","value":'
PLAYER_PREFIX = b'{"topic":"player-events","value":'
CHAT_PREFIX = b'{"topic":"chat-events","value":'
CHALLENGE_PREFIX = b'{"topic":"challenge-results","value":'


class Writer:
    """Orders events by time, assigns event ids, writes envelopes and labels."""

    def __init__(self, events: IO[bytes], labels: IO[bytes], seed: int) -> None:
        self.events = events
        self.labels = labels
        self.heap: list[tuple[float, int, bytes]] = []
        self.seq = 0
        self.written = 0
        self.per_topic = {
            "cdn-logs": 0,
            "player-events": 0,
            "chat-events": 0,
            "challenge-results": 0,
        }
        self.n_cdn = 0
        self.per_family: dict[str, list[int]] = {}  # family -> [sessions, events]
        self.id_prefix = f"hx{seed:x}-"
        self._buf: list[bytes] = []

    def flush_until(self, t: float) -> None:
        heap, buf = self.heap, self._buf
        pop = heapq.heappop
        while heap and heap[0][0] <= t:
            buf.append(pop(heap)[2])
        if len(buf) >= 4096:
            self._drain()

    def _drain(self) -> None:
        if self._buf:
            self.events.write(b"\n".join(self._buf) + b"\n")
            self.written += len(self._buf)
            self._buf.clear()

    def close(self) -> None:
        self.flush_until(float("inf"))
        self._drain()
        self.per_topic["cdn-logs"] += self.n_cdn
        self.n_cdn = 0

    def label(self, sess: Session) -> None:
        stats = self.per_family.setdefault(sess.family, [0, 0])
        stats[0] += 1
        stats[1] += sess.n_events
        if sess.n_events:
            self.labels.write(
                _dumps(
                    {
                        "session_id": sess.sid,
                        "label": sess.label,
                        "family": sess.family,
                        "first_ts": sess.first_ts,
                        "last_ts": sess.last_ts,
                    }
                )
                + b"\n"
            )


class Session:
    """One labelled viewing session; subclasses implement ``run()`` as a step generator."""

    label = "human"
    family = "unknown"

    def __init__(self, w: Writer, rng: random.Random, sid: str, channel: Channel, start: float):
        self.w = w
        self.rng = rng
        self.sid = sid
        self.ch = channel
        self.chid = channel.id
        self.start = start
        self.first_ts = 0.0
        self.last_ts = 0.0
        self.n_events = 0
        # network identity (may change within a session)
        self.ip = ""
        self.asn = 0
        self.cc = "US"
        self.ua = ""
        self.ja4 = ""
        self.ref = ""

    def run(self) -> Iterator[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stamp(self, t: float) -> float:
        ts = round(t, 3)
        if not self.n_events:
            self.first_ts = self.last_ts = ts
        elif ts > self.last_ts:
            self.last_ts = ts
        elif ts < self.first_ts:
            self.first_ts = ts
        self.n_events += 1
        return ts

    def cdn(
        self,
        t: float,
        path: str,
        status: int,
        size: int,
        sent: int,
        dur_ms: float,
        method: str = "GET",
    ) -> None:
        w = self.w
        seq = w.seq = w.seq + 1
        ts = round(t, 3)
        if self.n_events:
            if ts > self.last_ts:
                self.last_ts = ts
            elif ts < self.first_ts:
                self.first_ts = ts
        else:
            self.first_ts = self.last_ts = ts
        self.n_events += 1
        ch = self.ch
        if ch.header_bytes and status != 499:
            sent += 280 + (seq * 7919) % 190
        v = {
            "event_id": w.id_prefix + format(seq, "x"),
            "ts": ts,
            "session_id": self.sid,
            "channel_id": self.chid,
            "client_ip": self.ip,
            "asn": self.asn,
            "country": self.cc,
            "user_agent": self.ua,
            "method": method,
            "path": path,
            "status": status,
            "bytes_sent": sent,
            "object_size": size,
            "duration_ms": int(dur_ms) if dur_ms >= 1 else 1,
            "referer": self.ref,
            "tls_fingerprint": self.ja4 if ch.logs_ja4 else "",
        }
        _push(w.heap, (ts, seq, CDN_PREFIX + _dumps(v) + b"}"))
        w.n_cdn += 1

    def player(
        self,
        t: float,
        kind: str,
        pos: float,
        visible: bool,
        muted: bool,
        rendition: str,
        vw: int,
        vh: int,
    ) -> None:
        w = self.w
        w.seq += 1
        ts = self._stamp(t)
        v = {
            "event_id": w.id_prefix + format(w.seq, "x"),
            "ts": ts,
            "session_id": self.sid,
            "channel_id": self.chid,
            "type": kind,
            "position_s": round(pos, 3) if pos > 0 else 0.0,
            "visible": visible,
            "muted": muted,
            "rendition": rendition,
            "viewport_w": vw,
            "viewport_h": vh,
        }
        _push(w.heap, (ts, w.seq, PLAYER_PREFIX + _dumps(v) + b"}"))
        w.per_topic["player-events"] += 1

    def chat(self, t: float, user: str, kind: str, text_len: int = 0) -> None:
        w = self.w
        w.seq += 1
        ts = self._stamp(t)
        v = {
            "event_id": w.id_prefix + format(w.seq, "x"),
            "ts": ts,
            "session_id": self.sid,
            "channel_id": self.chid,
            "user_id": user,
            "type": kind,
            "text_len": text_len,
        }
        _push(w.heap, (ts, w.seq, CHAT_PREFIX + _dumps(v) + b"}"))
        w.per_topic["chat-events"] += 1

    def challenge(self, t: float, passed: bool, error: str) -> None:
        w = self.w
        w.seq += 1
        ts = self._stamp(t)
        v = {
            "event_id": w.id_prefix + format(w.seq, "x"),
            "ts": ts,
            "session_id": self.sid,
            "channel_id": self.chid,
            "passed": passed,
            "error": "" if passed else error,
        }
        _push(w.heap, (ts, w.seq, CHALLENGE_PREFIX + _dumps(v) + b"}"))
        w.per_topic["challenge-results"] += 1


class Channel:
    """A live channel: its rendition ladder, segment clock and how its CDN logs look."""

    def __init__(self, rng: random.Random, idx: int, name: str, t0: float, duration: float):
        self.idx = idx
        self.id = name
        self.market = ""
        self.pop = 0.0  # mean concurrent human viewers
        self.golive: float | None = None
        self.stream_start = t0 - rng.uniform(600, 5 * 3600)
        self.container = "m4s" if rng.random() < 0.4 else "ts"
        self.header_bytes = rng.random() < 0.5  # CDN logs bytes incl. response headers
        self.logs_ja4 = rng.random() > 0.06  # a few edges do not log JA4
        self.publish_delay = rng.uniform(0.25, 1.1)
        self.window = rng.choice((5, 6, 8, 10, 15))  # segments listed in the media playlist
        full = rng.random() < 0.55
        source = rng.choice(
            (("1080p60", 6500), ("1080p60", 8000), ("720p60", 4600), ("1080p30", 5000))
        )
        ladder = [source]
        if full:
            ladder += [
                ("720p60", 3400),
                ("720p30", 2500),
                ("480p30", 1400),
                ("360p30", 700),
                ("160p30", 260),
            ]
        else:
            ladder += [("480p30", 1500), ("360p30", 750), ("160p30", 280)]
        ladder = [r for i, r in enumerate(ladder) if i == 0 or r[0] != source[0]]
        ladder.sort(key=lambda r: r[1])
        self.ladder: list[tuple[str, int]] = [("audio_only", 160), *ladder]
        self.salt = rng.getrandbits(32)
        base = f"/live/{name}/"
        self.master_path = base + "index.m3u8"
        self.media_paths = [f"{base}{r}/index.m3u8" for r, _ in self.ladder]
        self.init_paths = [f"{base}{r}/init.mp4" for r, _ in self.ladder]
        self.seg_fmt = [f"{base}{r}/seg_{{}}.{self.container}" for r, _ in self.ladder]
        self.master_size = 210 + 178 * len(self.ladder) + rng.randint(0, 60)
        self.media_size = 180 + self.window * (62 if self.container == "ts" else 118)
        self.attacked_by: list[str] = []

    def lowest_video(self) -> int:
        return 1

    def live_idx(self, t: float) -> int:
        """Newest segment index a client can fetch at time ``t``."""
        return int((t - self.stream_start - self.publish_delay) // 2.0) - 1

    def seg_size(self, ri: int, n: int) -> int:
        """Deterministic per segment: every viewer downloads the same object."""
        h = (n * 0x9E3779B1 + self.salt + ri * 0x85EBCA6B) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
        h ^= h >> 12
        vbr = 0.72 + 0.56 * (h / 4294967296.0)
        size = int(self.ladder[ri][1] * 250 * vbr)
        if self.container == "ts":
            size -= size % 188
        return size


def run_actors(w: Writer, first: list[tuple[float, Iterator[float], Session | None]]) -> None:
    """Drive actors in event-time order until all are done."""
    heap: list[tuple[float, int, Iterator[float], Session | None]] = []
    counter = 0
    for t, gen, sess in first:
        counter += 1
        heap.append((t, counter, gen, sess))
    heapq.heapify(heap)
    spawn_box: list[tuple[float, Iterator[float], Session | None]] = []
    SPAWN.append(spawn_box)
    try:
        replace = heapq.heapreplace
        pop = heapq.heappop
        flush = w.flush_until
        while heap:
            t, c, gen, sess = heap[0]
            flush(t)
            try:
                nt = next(gen)
            except StopIteration:
                pop(heap)
                if sess is not None:
                    w.label(sess)
                nt = None
            if nt is not None:
                replace(heap, (nt, c, gen, sess))
            if spawn_box:
                for st, g, s in spawn_box:
                    counter += 1
                    _push(heap, (st, counter, g, s))
                spawn_box.clear()
    finally:
        SPAWN.pop()
    w.close()


SPAWN: list[list[tuple[float, Iterator[float], Session | None]]] = []


def spawn(sess: Session) -> None:
    """Start a session from inside an arrival process (its first step is at ``sess.start``)."""
    SPAWN[-1].append((sess.start, sess.run(), sess))


def spawn_actor(t: float, gen: Iterator[float]) -> None:
    SPAWN[-1].append((t, gen, None))


SessionFactory = Callable[[float], Session]
