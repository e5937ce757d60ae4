"""The decide agent's CPU per event, offline: no broker, no Faust, the same code path.

    .venv/bin/python benchmarks/bench_decide.py                  # 200,000 events, best of 3
    .venv/bin/python benchmarks/bench_decide.py --opcodes 50000  # + Python opcodes per event

``bench_engine.py --split`` shows the decide process as the end-to-end critical path, but its
numbers move by 20 % and more from run to run with the machine. This bench isolates the
decide path, on the same simulator backlog ``bench_engine.py`` uses (seed 11, 600 viewers, 12
channels; fixed timestamps here), so a change to it can be measured on its own:

- **baseline**: decoding the same events from their JSON, one typed msgspec call per envelope
  (what the decide agent's own decoding costs);
- **detection**: replay's ``Detector`` over the decoded events (detection alone);
- **decide path**: ingest-style envelopes (per input topic, 500 events each) through
  ``decode_envelope``, ``DecisionProcessor.add``/``run`` (the event-time merge, the state
  cache, detection, flushes encoding the changed states every simulated second at 40k
  events/s) and decision encoding.

Times are process CPU, best of ``--repeat`` runs (the machine's noise only ever adds). With
``--opcodes N`` the decide path over the first N events also runs under a tracer counting
Python opcodes: slow, but the same count on every run, so small changes show. The decisions'
digest is printed, so a change that should not alter decisions can be checked too.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import INPUTS, simulation
from engine.detect import Detector, Policy
from engine.runtime.decide import DecisionProcessor
from engine.runtime.envelope import Header, decode_envelope, encode_envelope
from engine.schemas import EVENT_TYPES, decode_event, encode_decision

START_TS = 1_700_000_000.0
ENVELOPE_EVENTS = 500
WALL_PER_ENVELOPE_S = ENVELOPE_EVENTS / 40_000  # the merge's and the flushes' wall clock


def backlog(n: int) -> list[tuple[float, str, bytes]]:
    sim = simulation(11, 600, 3600.0, START_TS, n)
    return [(ts, INPUTS[t], value) for ts, t, _, value in sim.events()]


def envelopes(events: list[tuple[float, str, bytes]], size: int = ENVELOPE_EVENTS) -> list[bytes]:
    """Per input topic (one source partition each), in order, ``size`` events per envelope,
    sorted by their first event time, the way a consumer interleaves its fetches."""
    by_topic: dict[str, list[tuple[float, bytes]]] = collections.defaultdict(list)
    for ts, topic, value in events:
        by_topic[topic].append((ts, value))
    out = []
    for topic, items in by_topic.items():
        for i in range(0, len(items), size):
            chunk = items[i : i + size]
            header = Header(
                topic,
                0,
                list(range(i, i + len(chunk))),
                [ts for ts, _ in chunk],
                clock=max(ts for ts, _ in chunk),
                caught_up=i + size >= len(items),
            )
            out.append((chunk[0][0], encode_envelope(header, [v for _, v in chunk])))
    out.sort(key=lambda item: item[0])
    return [raw for _, raw in out]


def parse_only(raws: list[bytes]) -> str:
    """The baseline: the events of every envelope decoded, nothing else."""
    count = 0
    for raw in raws:
        count += len(decode_envelope(raw).events)
    return str(count)


def detection(events: list[Any]) -> str:
    detector = Detector(Policy())
    digest = hashlib.sha256()
    for event in events:
        decision = detector.process(event)
        if decision is not None:
            digest.update(encode_decision(decision))
    return digest.hexdigest()[:16]


def decide_path(raws: list[bytes]) -> str:
    sessions: dict[str, bytes] = {}
    channels: dict[str, bytes] = {}
    processor = DecisionProcessor(sessions.get, channels.get, grace_s=10.0, flush_s=1.0)
    processor.expect_sources(len(INPUTS))
    policy = Policy()
    digest = hashlib.sha256()
    now = 0.0
    for i, raw in enumerate(raws):
        now = i * WALL_PER_ENVELOPE_S
        processor.add(0, i, [decode_envelope(raw)], now)
        out = processor.run(0, policy, now)
        for decision, _ in out.decisions:
            digest.update(encode_decision(decision))
        sessions.update(out.sessions)
        channels.update(out.channels)
    out = processor.run(0, policy, now + 60.0, everything=True)
    for decision, _ in out.decisions:
        digest.update(encode_decision(decision))
    return digest.hexdigest()[:16]


def best_cpu(run: Callable[[], str], repeat: int) -> tuple[float, str]:
    best, result = float("inf"), ""
    for _ in range(repeat):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
    return best, result


def opcodes(run: Callable[[], str]) -> int:
    count = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        run()
    finally:
        sys.settrace(None)
    return count


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="backlog size")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument(
        "--opcodes", type=int, default=0, metavar="N", help="also count opcodes on N events"
    )
    args = parser.parse_args(argv)
    if args.events < 1000 or args.repeat < 1 or args.opcodes < 0:
        parser.error("--events must be at least 1000, --repeat at least 1, --opcodes >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"simulating {args.events:,} events (bench_engine's backlog) ...", file=sys.stderr)
    events = backlog(args.events)
    raws = envelopes(events)
    decoded = [decode_event(topic, value) for _, topic, value in events]
    assert all(type(e) in EVENT_TYPES.values() for e in decoded)
    n = len(events)
    parse_s, _ = best_cpu(lambda: parse_only(raws), args.repeat)
    detect_s, detect_digest = best_cpu(lambda: detection(decoded), args.repeat)
    decide_s, decide_digest = best_cpu(lambda: decide_path(raws), args.repeat)
    print(f"== bench_decide: {n:,} events in {len(raws):,} envelopes, best of {args.repeat} ==")
    print(f"baseline: decode only   {1e6 * parse_s / n:6.2f} us/event")
    print(f"detection (Detector)    {1e6 * detect_s / n:6.2f} us/event  digest {detect_digest}")
    print(f"decide path             {1e6 * decide_s / n:6.2f} us/event  digest {decide_digest}")
    print(f"ratio decide/baseline   {decide_s / parse_s:6.2f}x")
    if args.opcodes:
        head = events[: args.opcodes]
        count = opcodes(lambda: decide_path(envelopes(head)))
        print(f"decide path opcodes     {count / len(head):7.1f} per event (first {len(head):,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
