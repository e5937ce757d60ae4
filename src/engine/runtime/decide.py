"""The decision path's logic: envelopes in, decisions and changed states out (no Faust, no I/O).

The decide agent owns one channel partition's sessions and channels at a time. It keeps their
decoded states in a per-partition cache and writes each changed state back to its Faust table
once per batch, which keeps the changelog at one record per touched key per batch instead of
one per event.

Exactly-once effect on state over at-least-once delivery: every stored state remembers, per
source partition (``topic:partition``), the highest input offset already folded into it. Events
of one source partition reach a channel partition in offset order, so an event whose offset is
not above that mark was applied before (a replay after a crash, or an envelope re-published by
the ingest agent) and is skipped for that state. Session and channel are marked separately, so
a crash between writing one and the other repairs itself: the missing half is applied on the
replay, against a throw-away copy of the half that already has it.

Table values are an :mod:`engine.runtime.epochs` header, the value's previous version and
msgpack: the header (partition, newest event time, flush epoch) lets the periodic sweep find
idle keys of a partition without decoding every value, and the epoch and previous version let
a new owner of the partition undo a flush that a crash cut in half (see that module).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import msgspec

from engine.detect import (
    CHANNEL_IDLE_S,
    SESSION_IDLE_S,
    ChannelState,
    Policy,
    SessionState,
    advance,
    channel_expired,
    session_expired,
    step,
)
from engine.runtime import epochs
from engine.runtime.envelope import Envelope
from engine.runtime.reorder import Released, ReorderBuffer
from engine.schemas import Decision

SWEEP_EVERY_S = 60.0  # event time between sweeps of a partition's idle keys
VIEWER_WINDOW_S = 60.0  # a session counts as a viewer for this long after its last event


class SessionRecord(msgspec.Struct, array_like=True):
    applied: dict[str, int]
    state: SessionState


class ChannelRecord(msgspec.Struct, array_like=True):
    applied: dict[str, int]
    state: ChannelState


_ENCODER = msgspec.msgpack.Encoder()
_SESSION = msgspec.msgpack.Decoder(SessionRecord)
_CHANNEL = msgspec.msgpack.Decoder(ChannelRecord)
_SESSION_STATE = msgspec.msgpack.Decoder(SessionState)
_CHANNEL_STATE = msgspec.msgpack.Decoder(ChannelState)


def encode_record(
    partition: int, record: SessionRecord | ChannelRecord, epoch: int = 0, old: bytes | None = None
) -> bytes:
    """A table value written by flush ``epoch``; ``old`` is the key's value before it."""
    return epochs.encode_value(partition, record.state.last_ts, epoch, _ENCODER.encode(record), old)


def decode_session_record(raw: bytes) -> SessionRecord:
    return _SESSION.decode(epochs.payload(raw))


def decode_channel_record(raw: bytes) -> ChannelRecord:
    return _CHANNEL.decode(epochs.payload(raw))


def read_header(raw: bytes) -> tuple[int, float]:
    """(partition, newest event time) of a stored value."""
    return epochs.header(raw)[:2]


def _copy_session(state: SessionState) -> SessionState:
    return _SESSION_STATE.decode(_ENCODER.encode(state))


def _copy_channel(state: ChannelState) -> ChannelState:
    return _CHANNEL_STATE.decode(_ENCODER.encode(state))


@dataclass
class BatchOutcome:
    decisions: list[tuple[Decision, float]] = field(default_factory=list)  # decision, source ts
    sessions: dict[str, bytes] = field(default_factory=dict)  # changed: key -> table value
    channels: dict[str, bytes] = field(default_factory=dict)
    completed: list[Hashable] = field(default_factory=list)  # tokens whose events all applied
    # (key, value) of the partition's epoch marker, to write once the states are durable
    marker: tuple[str, bytes] | None = None
    events: int = 0
    duplicates: int = 0
    errors: int = 0
    newest_ts: float = 0.0
    released_early: int = 0  # applied ahead of a source still catching up (see reorder)


@dataclass
class _Partition:
    reorder: ReorderBuffer
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    channels: dict[str, ChannelRecord] = field(default_factory=dict)
    # changed since the last flush, and messages whose events are all applied since then
    dirty_s: dict[str, SessionRecord] = field(default_factory=dict)
    dirty_c: dict[str, ChannelRecord] = field(default_factory=dict)
    done: list[Hashable] = field(default_factory=list)
    flushed_at: float = 0.0
    now: float = float("-inf")
    next_sweep: float = float("-inf")
    # channel -> session -> its record, for viewer counts (newest event time, enforced action)
    viewers: dict[str, dict[str, SessionRecord]] = field(default_factory=dict)
    committed: int = 0  # the last flush epoch known durable
    recovered: bool = False  # a flush cut short by the previous owner has been undone


@dataclass(frozen=True)
class ViewerCount:
    channel_id: str
    partition: int
    raw: int
    counted: int
    by_action: dict[str, int]
    ts: float


class DecisionProcessor:
    """Folds envelopes into cached states via :func:`engine.detect.step`.

    ``load_session`` / ``load_channel`` read a stored value (bytes or None) on a cache miss.
    Changed states are reported for writing at most every ``flush_s`` seconds per partition
    (a state touched by 50 events in that time is written once), together with the messages
    whose events they contain: the caller acks those once the writes are durable.
    """

    def __init__(
        self,
        load_session: Callable[[str], bytes | None],
        load_channel: Callable[[str], bytes | None],
        on_error: Callable[[BaseException, object], None] | None = None,
        *,
        grace_s: float = 10.0,
        flush_s: float = 1.0,
        max_dirty: int = 20_000,
    ) -> None:
        self._load_session = load_session
        self._load_channel = load_channel
        self._on_error = on_error
        self._grace_s = grace_s
        self.flush_s = flush_s
        self._max_dirty = max_dirty
        self._parts: dict[int, _Partition] = {}
        self._expected: int | None = None

    @property
    def expected_sources(self) -> int | None:
        return self._expected

    def expect_sources(self, count: int | None) -> None:
        """How many input partitions exist (the merge's start-up wait can end early)."""
        self._expected = count
        for part in self._parts.values():
            part.reorder.expected = count

    def _part(self, partition: int) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition(
                ReorderBuffer(grace_s=self._grace_s, expected=self._expected)
            )
        return part

    def forget(self, partitions: Iterable[int] | None = None) -> list[Hashable]:
        """Drop cached states and buffered events (all, or of ``partitions``) after a rebalance:
        the tables rule again. Returns the tokens of messages whose events were dropped."""
        dropped: list[Hashable] = []
        for p in list(self._parts) if partitions is None else list(partitions):
            part = self._parts.pop(p, None)
            if part is not None:
                dropped.extend(part.reorder.tokens())
        return dropped

    def add(
        self, partition: int, token: Hashable, envelopes: Iterable[Envelope], now: float
    ) -> None:
        """Buffer a message's envelopes (``token`` identifies the message for its ack)."""
        reorder = self._part(partition).reorder
        reorder.touch(token)
        for env in envelopes:
            header = env.header
            reorder.add(
                env.source_key,
                token,
                env.events,
                header.offsets,
                header.timestamps,
                now,
                clock=header.clock,
                caught_up=header.caught_up,
            )

    def waiting(self) -> dict[str, int]:
        """Events held in each partition's merge (for stats)."""
        return {str(p): len(part.reorder) for p, part in self._parts.items()}

    def floor(self, now: float) -> float:
        """Event time of the slowest input partition still catching up, as the merges of this
        process's channel partitions see it (they hear from every input partition, whichever
        worker reads it); inf if none is behind."""
        return min((part.reorder.floor(now) for part in self._parts.values()), default=float("inf"))

    def needs_recovery(self, partition: int) -> bool:
        return not self._part(partition).recovered

    def recovery(
        self,
        partition: int,
        stored_sessions: Iterable[tuple[str, bytes | None]],
        stored_channels: Iterable[tuple[str, bytes | None]],
    ) -> tuple[dict[str, bytes | None], dict[str, bytes | None], tuple[str, bytes]]:
        """What a new owner writes before it applies anything to ``partition``: rewrites that
        undo an unfinished flush of the previous owner, then the marker reserving the next
        epoch. Call :meth:`recovered` once both are durable."""
        part = self._part(partition)
        key = epochs.marker_key(partition)
        committed, _ = epochs.decode_marker(self._load_channel(key))
        part.committed = committed
        part.sessions.clear()
        part.channels.clear()
        return (
            epochs.rollback(stored_sessions, partition, committed),
            epochs.rollback(stored_channels, partition, committed),
            (key, epochs.encode_marker(partition, committed, committed + 1)),
        )

    def recovered(self, partition: int) -> None:
        self._part(partition).recovered = True

    def needs_tick(self, now: float, tick_s: float) -> list[int]:
        """Partitions with events held in the merge, or changes not yet flushed, for a while:
        without new input nobody would release them."""
        due = []
        for p, part in self._parts.items():
            oldest = part.reorder.oldest_added()
            if (oldest is not None and now - oldest >= tick_s) or (
                (part.done or part.dirty_s or part.dirty_c)
                and now - part.flushed_at >= self.flush_s
            ):
                due.append(p)
        return due

    def session(self, session_id: str) -> SessionState | None:
        """The cached state of a session, if this process holds it."""
        for part in self._parts.values():
            record = part.sessions.get(session_id)
            if record is not None:
                return record.state
        return None

    def run(
        self, partition: int, policy: Policy, now: float, *, everything: bool = False
    ) -> BatchOutcome:
        """Apply what the merge releases at wall time ``now`` (all of it with ``everything``);
        report changed states and completed messages when a flush is due."""
        part = self._part(partition)
        early = part.reorder.released_early
        out = self._apply(part, part.reorder.release(now, everything), policy)
        out.released_early = part.reorder.released_early - early
        part.done.extend(part.reorder.completed())
        if (
            everything
            or now - part.flushed_at >= self.flush_s
            or len(part.dirty_s) + len(part.dirty_c) >= self._max_dirty
        ):
            if part.dirty_s or part.dirty_c:
                epoch = part.committed + 1  # reserved by the marker of the previous flush
                load_s, load_c = self._load_session, self._load_channel
                out.sessions = {
                    sid: encode_record(partition, r, epoch, load_s(sid))
                    for sid, r in part.dirty_s.items()
                }
                out.channels = {
                    cid: encode_record(partition, r, epoch, load_c(cid))
                    for cid, r in part.dirty_c.items()
                }
                out.marker = (
                    epochs.marker_key(partition),
                    epochs.encode_marker(partition, epoch, epoch + 1),
                )
                part.committed = epoch
            out.completed = part.done
            part.dirty_s, part.dirty_c, part.done = {}, {}, []
            part.flushed_at = now
        return out

    def _apply(self, part: _Partition, items: Iterable[Released], policy: Policy) -> BatchOutcome:
        out = BatchOutcome()
        touched_s = part.dirty_s
        touched_c = part.dirty_c
        decisions = out.decisions
        sessions = part.sessions
        channels = part.channels
        viewers = part.viewers
        applied = duplicates = 0
        newest = out.newest_ts
        for _, _, _, event, key, offset, stamp in items:
            sid = event.session_id
            cid = event.channel_id
            srec = sessions.get(sid)
            if srec is None:
                srec = self._fetch_session(sid)
                if srec is not None:
                    sessions[sid] = srec
            crec = channels.get(cid)
            if crec is None:
                crec = self._fetch_channel(cid)
                if crec is not None:
                    channels[cid] = crec
            ts = event.ts
            carry_s = carry_c = None  # the applied marks of an expired state, for its successor
            # The common case, kept short: both states cached, live, and new to the event.
            common = (
                srec is not None
                and crec is not None
                and srec.applied.get(key, -1) < offset
                and crec.applied.get(key, -1) < offset
                and ts - srec.state.last_ts <= SESSION_IDLE_S
                and ts - crec.state.last_ts <= CHANNEL_IDLE_S
            )
            if common:
                s_done = c_done = False
                s_state = srec.state  # type: ignore[union-attr]
                c_state = crec.state  # type: ignore[union-attr]
            else:
                s_done = srec is not None and srec.applied.get(key, -1) >= offset
                c_done = crec is not None and crec.applied.get(key, -1) >= offset
                if s_done and c_done:
                    duplicates += 1
                    continue
                if srec is not None and not s_done and session_expired(srec.state, ts):
                    carry_s, srec = srec.applied, None  # idle too long: a fresh state, as replay
                if crec is not None and not c_done and channel_expired(crec.state, ts):
                    carry_c, crec = crec.applied, None
                s_state = None if srec is None else srec.state
                c_state = None if crec is None else crec.state
                if s_done:
                    s_state = _copy_session(s_state)
                if c_done:
                    c_state = _copy_channel(c_state)
            try:
                if common:
                    decision = advance(s_state, c_state, event, policy)
                else:
                    s_state, c_state, decision = step(s_state, c_state, event, policy)
            except Exception as exc:  # a bug in detection must not stop the stream
                out.errors += 1
                if self._on_error is not None:
                    self._on_error(exc, event)
                continue
            applied += 1
            if ts > newest:
                newest = ts
            if not s_done:
                if srec is None:
                    srec = sessions[sid] = SessionRecord(dict(carry_s or {}), s_state)
                srec.applied[key] = offset
                touched_s[sid] = srec
                if decision is not None:
                    decisions.append((decision, stamp))
                members = viewers.get(cid)
                if members is None:
                    members = viewers[cid] = {}
                members[sid] = srec
            if not c_done:
                if crec is None:
                    crec = channels[cid] = ChannelRecord(dict(carry_c or {}), c_state)
                crec.applied[key] = offset
                touched_c[cid] = crec
        out.events = applied
        out.duplicates = duplicates
        out.newest_ts = newest
        if newest > part.now:
            part.now = newest
        return out

    def _fetch_session(self, sid: str) -> SessionRecord | None:
        raw = self._load_session(sid)
        return None if raw is None else decode_session_record(raw)

    def _fetch_channel(self, cid: str) -> ChannelRecord | None:
        raw = self._load_channel(cid)
        return None if raw is None else decode_channel_record(raw)

    def sweep_due(self, partition: int) -> bool:
        """Time for a sweep (every ``SWEEP_EVERY_S`` of event time, right after a flush)."""
        part = self._parts.get(partition)
        return (
            part is not None
            and part.now > float("-inf")
            and part.now >= part.next_sweep
            and not part.dirty_s
            and not part.dirty_c
        )

    def sweep(
        self,
        partition: int,
        stored_sessions: Iterable[tuple[str, bytes]],
        stored_channels: Iterable[tuple[str, bytes]],
    ) -> tuple[list[str], list[str]]:
        """Keys of ``partition`` idle past their TTL (event time): the caller deletes them."""
        part = self._parts[partition]
        now = part.now
        part.next_sweep = now + SWEEP_EVERY_S
        stale_s = [
            key
            for key, raw in stored_sessions
            if raw is not None and _stale(raw, partition, now, SESSION_IDLE_S)
        ]
        stale_c = [
            key
            for key, raw in stored_channels
            if raw is not None
            and not epochs.is_marker(key)
            and _stale(raw, partition, now, CHANNEL_IDLE_S)
        ]
        for key in stale_s:
            part.sessions.pop(key, None)
        for key in stale_c:
            part.channels.pop(key, None)
        return stale_s, stale_c

    def viewer_counts(self) -> list[ViewerCount]:
        """Raw against counted viewers per channel, as of each partition's newest event time."""
        counts = []
        for partition, part in self._parts.items():
            horizon = part.now - VIEWER_WINDOW_S
            for cid in list(part.viewers):
                members = part.viewers[cid]
                by_action = {"count": 0, "suppress": 0, "challenge": 0, "block": 0}
                for sid, record in list(members.items()):
                    state = record.state
                    if state.last_ts < horizon:
                        del members[sid]
                    else:
                        action = state.last_action or "count"
                        by_action[action] = by_action.get(action, 0) + 1
                if not members:
                    del part.viewers[cid]
                counts.append(
                    ViewerCount(
                        channel_id=cid,
                        partition=partition,
                        raw=sum(by_action.values()),
                        counted=by_action["count"],
                        by_action=by_action,
                        ts=part.now,
                    )
                )
        return counts


def _stale(raw: bytes, partition: int, now: float, idle_s: float) -> bool:
    owner, last_ts, _ = epochs.header(raw)
    return owner == partition and now - last_ts > idle_s
