"""Judge detection on held-out traffic: generate, replay, evaluate, and print per-family recall and
per-population false-positive rates.

    python benchmarks/heldout/run.py                      # 3 seeds, ~600k events
    python benchmarks/heldout/run.py --seeds 11 12 --scale 0.3 --keep --workdir /tmp/heldout

Uses the product only through its command line (`vbg-engine replay` and `vbg-engine evaluate`).
A session counts as flagged when its final decision is not `count` (no decision counts as `count`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import orjson  # noqa: E402
from generate import generate  # noqa: E402

DEFAULT_SEEDS = (9101, 9102, 9103)
ACTIONS = ("suppress", "challenge", "block")


class RunError(Exception):
    """An expected failure with a one-line explanation."""


def find_engine() -> str:
    here = Path(sys.executable).parent / "vbg-engine"
    exe = str(here) if here.exists() else shutil.which("vbg-engine")
    if not exe:
        raise RunError("vbg-engine is not installed (pip install -e . in the repository venv)")
    for cmd in ("replay", "evaluate"):
        probe = subprocess.run([exe, cmd, "--help"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise RunError(
                f"`vbg-engine {cmd}` does not exist yet (exit {probe.returncode}); it is needed to "
                "judge detection. Use --generate-only to just write the held-out files."
            )
    return exe


def run_engine(exe: str, args: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode not in (0,):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RunError(f"`vbg-engine {args[0]}` exited {proc.returncode}: {tail[0]}")
    return proc


def final_actions(decisions: Path) -> tuple[dict[str, str], dict[str, float]]:
    """Final action per session, and the event time of its first non-count decision."""
    final: dict[str, str] = {}
    first_flag: dict[str, float] = {}
    with open(decisions, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = orjson.loads(line)
            sid = d["session_id"]
            final[sid] = d["action"]
            if d["action"] != "count" and sid not in first_flag:
                first_flag[sid] = float(d["ts"])
    return final, first_flag


def score(labels: Path, final: dict[str, str], first_flag: dict[str, float], acc: dict) -> None:
    with open(labels, "rb") as fh:
        for line in fh:
            lab = orjson.loads(line)
            sid = lab["session_id"]
            action = final.get(sid, "count")
            row = acc.setdefault(
                (lab["label"], lab["family"]),
                {"n": 0, "count": 0, "delay": [], **dict.fromkeys(ACTIONS, 0)},
            )
            row["n"] += 1
            row[action] = row.get(action, 0) + 1
            if action != "count" and sid in first_flag:
                row["delay"].append(first_flag[sid] - lab["first_ts"])


def report(acc: dict) -> str:
    out = []
    bot_rows = sorted((f, r) for (lab, f), r in acc.items() if lab == "bot")
    hum_rows = sorted((f, r) for (lab, f), r in acc.items() if lab == "human")
    out.append(
        f"{'BOT FAMILY':<18} {'sessions':>8} {'caught':>7} {'recall':>7} {'suppr':>6} {'chall':>6} {'block':>6} {'p50 flag s':>10}"
    )
    tp = fn = 0
    for fam, r in bot_rows:
        caught = r["n"] - r["count"]
        tp += caught
        fn += r["count"]
        delay = f"{statistics.median(r['delay']):.0f}" if r["delay"] else "-"
        out.append(
            f"{fam:<18} {r['n']:>8} {caught:>7} {caught / r['n']:>7.1%} {r['suppress']:>6} {r['challenge']:>6} {r['block']:>6} {delay:>10}"
        )
    out.append("")
    out.append(
        f"{'HUMAN POPULATION':<18} {'sessions':>8} {'flagged':>7} {'FPR':>7} {'suppr':>6} {'chall':>6} {'block':>6}"
    )
    fp = tn = 0
    for fam, r in hum_rows:
        flagged = r["n"] - r["count"]
        fp += flagged
        tn += r["count"]
        out.append(
            f"{fam:<18} {r['n']:>8} {flagged:>7} {flagged / r['n']:>7.2%} {r['suppress']:>6} {r['challenge']:>6} {r['block']:>6}"
        )
    out.append("")
    recall = tp / max(1, tp + fn)
    fpr = fp / max(1, fp + tn)
    precision = tp / max(1, tp + fp)
    worst = (
        min(((r["n"] - r["count"]) / r["n"], f) for f, r in bot_rows) if bot_rows else (0.0, "-")
    )
    out.append(
        f"overall (sessions): recall {recall:.1%}  FPR {fpr:.2%}  precision {precision:.1%}  "
        f"weakest family {worst[1]} {worst[0]:.1%}  [target: recall>=95%, FPR<=0.5%, every family>=80%]"
    )
    return "\n".join(out)


def headline(evaluation: dict) -> str:
    """The scalar fields of `evaluate --json`, whatever its exact shape."""
    parts = []
    for key, val in evaluation.items():
        if isinstance(val, int | float) and not isinstance(val, bool):
            parts.append(f"{key}={val:.4g}" if isinstance(val, float) else f"{key}={val}")
        elif isinstance(val, dict):
            for k2, v2 in val.items():
                if isinstance(v2, int | float) and not isinstance(v2, bool):
                    parts.append(
                        f"{key}.{k2}={v2:.4g}" if isinstance(v2, float) else f"{key}.{k2}={v2}"
                    )
    return ", ".join(parts[:16]) or "(no scalar fields)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    p.add_argument("--duration", type=float, default=1200.0)
    p.add_argument("--channels", type=int, default=40)
    p.add_argument("--scale", type=float, default=0.4)
    p.add_argument("--workdir", type=Path, help="where files go (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the generated and decision files")
    p.add_argument("--generate-only", action="store_true", help="write the held-out files and stop")
    a = p.parse_args(argv)

    tmp = None
    if a.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vbg-heldout-")
        a.workdir = Path(tmp.name)
    a.workdir.mkdir(parents=True, exist_ok=True)
    try:
        exe = None if a.generate_only else find_engine()
        acc: dict = {}
        total_events = 0
        gen_s = gen_cpu = 0.0
        for seed in a.seeds:
            events = a.workdir / f"heldout_{seed}.jsonl"
            labels = a.workdir / f"heldout_{seed}.labels.jsonl"
            stats = generate(seed, events, labels, a.duration, a.channels, a.scale)
            total_events += stats["events"]
            gen_s += stats["seconds"]
            gen_cpu += stats["cpu_seconds"]
            print(
                f"seed {seed}: {stats['events']:,} events, {sum(n for n, _ in stats['per_family'].values()):,} sessions, "
                f"{stats['attacks']} attacks, generated at {stats['events'] / stats['seconds']:,.0f} events/s "
                f"({stats['events'] / max(stats['cpu_seconds'], 1e-9):,.0f} per CPU second)"
            )
            if exe is None:
                continue
            decisions = a.workdir / f"heldout_{seed}.decisions.jsonl"
            began = time.perf_counter()
            proc = run_engine(exe, ["replay", "--input", str(events), "--output", str(decisions)])
            took = time.perf_counter() - began
            said = (proc.stdout + proc.stderr).strip().splitlines()
            print(
                f"  replay: {took:.1f} s wall ({stats['events'] / took:,.0f} events/s incl. startup); says: {said[-1] if said else '-'}"
            )
            proc = run_engine(
                exe, ["evaluate", "--decisions", str(decisions), "--labels", str(labels), "--json"]
            )
            try:
                print(f"  evaluate --json: {headline(orjson.loads(proc.stdout))}")
            except orjson.JSONDecodeError:
                print("  evaluate --json: output is not JSON")
            final, first_flag = final_actions(decisions)
            score(labels, final, first_flag, acc)
        print(
            f"\n{len(a.seeds)} seeds, {total_events:,} events, generation {total_events / max(gen_s, 1e-9):,.0f} "
            f"events/s wall, {total_events / max(gen_cpu, 1e-9):,.0f} per CPU second"
        )
        if exe is not None:
            print()
            print(report(acc))
        if a.keep or tmp is None:
            print(f"\nfiles in {a.workdir}")
    except RunError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"run.py: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 1
    finally:
        if tmp is not None and not a.keep:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
