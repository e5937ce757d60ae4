"""Held-out labelled traffic for Viewbot Guard, written independently of the product's simulator.

    python benchmarks/heldout/generate.py --seed 7 --out EVENTS.jsonl --labels LABELS.jsonl
    python benchmarks/heldout/generate.py --seed 7 --check        # small run + schema self-check

Events are envelopes ``{"topic": ..., "value": {...}}`` in global event-time order; labels are one
line per session. See README.md in this directory for what is modelled.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import orjson  # noqa: E402
from ho_core import Writer, run_actors  # noqa: E402
from ho_world import World  # noqa: E402

DEFAULT_T0 = 1_767_258_000.0  # 2026-01-01 09:00 UTC


def generate(
    seed: int,
    out: Path,
    labels: Path,
    duration: float = 1800.0,
    channels: int = 40,
    scale: float = 1.0,
    t0: float | None = None,
    manifest: Path | None = None,
) -> dict:
    """Write one held-out set; returns counts and timing."""
    start = DEFAULT_T0 + (seed % 997) * 86_400.0 if t0 is None else t0
    began = time.perf_counter()
    cpu0 = time.process_time()
    with open(out, "wb", buffering=1 << 20) as ev, open(labels, "wb", buffering=1 << 16) as lab:
        w = Writer(ev, lab, seed)
        world = World(seed, start, duration, channels, scale, w)
        run_actors(w, world.actors())
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    if manifest is not None:
        manifest.write_bytes(orjson.dumps(world.manifest(), option=orjson.OPT_INDENT_2))
    return {
        "events": w.written,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "per_topic": w.per_topic,
        "per_family": w.per_family,
        "attacks": len(world.attacks),
    }


def check(events: Path, labels: Path) -> list[str]:
    """Every line decodes with the engine's own schemas, time never goes back, ids are unique."""
    try:
        from engine.schemas import DlqRecord, decode_event
    except ImportError:
        sys.path.insert(0, str(HERE.parents[1] / "src"))
        from engine.schemas import DlqRecord, decode_event

    problems: list[str] = []
    label_ids: dict[str, tuple[float, float]] = {}
    with open(labels, "rb") as fh:
        for i, line in enumerate(fh, 1):
            rec = orjson.loads(line)
            if rec["label"] not in ("human", "bot") or rec["session_id"] in label_ids:
                problems.append(f"labels line {i}: bad or duplicate label {rec}")
            label_ids[rec["session_id"]] = (rec["first_ts"], rec["last_ts"])
    seen_ids: set[str] = set()
    seen_sessions: set[str] = set()
    last_ts = 0.0
    with open(events, "rb") as fh:
        for i, line in enumerate(fh, 1):
            env = orjson.loads(line)
            ev = decode_event(env["topic"], orjson.dumps(env["value"]))
            if isinstance(ev, DlqRecord):
                problems.append(f"events line {i}: {ev.code}: {ev.reason}")
            else:
                if ev.ts < last_ts:
                    problems.append(f"events line {i}: ts {ev.ts} before {last_ts}")
                last_ts = ev.ts
                if ev.event_id in seen_ids:
                    problems.append(f"events line {i}: duplicate event_id {ev.event_id}")
                seen_ids.add(ev.event_id)
                seen_sessions.add(ev.session_id)
                span = label_ids.get(ev.session_id)
                if span is None:
                    problems.append(f"events line {i}: session {ev.session_id} has no label")
                elif not span[0] <= ev.ts <= span[1]:
                    problems.append(
                        f"events line {i}: ts outside the labelled span of {ev.session_id}"
                    )
            if len(problems) > 20:
                problems.append("... stopping after 20 problems")
                return problems
    missing = set(label_ids) - seen_sessions
    if missing:
        problems.append(f"{len(missing)} labelled sessions have no events")
    return problems


def _summary(stats: dict) -> str:
    lines = [
        f"{stats['events']} events in {stats['seconds']:.1f} s "
        f"({stats['events'] / max(stats['seconds'], 1e-9):,.0f} events/s wall, "
        f"{stats['events'] / max(stats['cpu_seconds'], 1e-9):,.0f} per CPU second), {stats['attacks']} attacks",
        "topics: " + ", ".join(f"{k}={v}" for k, v in stats["per_topic"].items()),
        f"{'family':<18} {'sessions':>8} {'events':>9}",
    ]
    for fam, (n, e) in sorted(stats["per_family"].items()):
        lines.append(f"{fam:<18} {n:>8} {e:>9}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, help="events JSONL (envelopes)")
    p.add_argument("--labels", type=Path, help="labels JSONL")
    p.add_argument(
        "--duration", type=float, default=1800.0, help="seconds of event time (default 1800)"
    )
    p.add_argument("--channels", type=int, default=40, help="live channels (default 40)")
    p.add_argument("--scale", type=float, default=1.0, help="audience and attack size multiplier")
    p.add_argument("--t0", type=float, default=None, help="epoch seconds of the first event time")
    p.add_argument(
        "--manifest", type=Path, help="write channels, attacks, raids and campuses as JSON"
    )
    p.add_argument("--check", action="store_true", help="validate the output with engine.schemas")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.duration < 60 or a.channels < 1 or a.scale <= 0:
        p.error("need --duration >= 60, --channels >= 1 and --scale > 0")
    tmp = None
    if a.out is None or a.labels is None:
        if not a.check:
            p.error("--out and --labels are required unless --check")
        tmp = tempfile.TemporaryDirectory(prefix="vbg-heldout-")
        a.out = a.out or Path(tmp.name) / "events.jsonl"
        a.labels = a.labels or Path(tmp.name) / "labels.jsonl"
        if a.duration == 1800.0 and a.channels == 40:
            a.duration, a.channels, a.scale = 600.0, 12, min(a.scale, 0.5)
    try:
        stats = generate(a.seed, a.out, a.labels, a.duration, a.channels, a.scale, a.t0, a.manifest)
    except OSError as exc:
        print(f"generate.py: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 1
    if not a.quiet:
        print(_summary(stats), file=sys.stderr)
    rc = 0
    if a.check:
        problems = check(a.out, a.labels)
        for msg in problems:
            print(f"check: {msg}", file=sys.stderr)
        print(f"check: {'FAILED' if problems else 'ok'} ({a.out})", file=sys.stderr)
        rc = 1 if problems else 0
    if tmp is not None:
        tmp.cleanup()
    return rc


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
