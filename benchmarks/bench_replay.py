"""Replay throughput against a plain JSON parse of the same file, and replay's peak RSS.

    .venv/bin/python benchmarks/bench_replay.py                   # generate 200k events
    .venv/bin/python benchmarks/bench_replay.py --events 1000000  # the 1M-event RSS check
    .venv/bin/python benchmarks/bench_replay.py --input EVENTS.jsonl  # e.g. simulator output

One run measures, over the very same lines:
- parse-only with the stdlib (``json.loads`` per line) and with ``orjson.loads`` per line;
- replay: the envelope decode + schema validation + detection + decision encoding and writing
  that ``vbg-engine replay`` does, in a child process so its peak RSS is its own.
It prints both rates, the ratios (target: replay >= 0.2x the stdlib parse-only rate), and peak
RSS (target: < 600 MB for 1M events).

Without ``--input`` it writes a synthetic file: channels with live viewers (playlist + segment
every 2 s, a heartbeat every 10 s), a share of playlist-polling and headless bots, and chat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

_CHILD = r"""
import json, resource, sys, time
from engine.detect import Policy
from engine.offline.replay import replay_stream
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb", buffering=1 << 20) as f, open(dst, "wb", buffering=1 << 20) as out:
    stats = replay_stream(f, out, Policy())
print(json.dumps({
    "seconds": stats.seconds, "lines": stats.lines, "events": stats.events,
    "decisions": stats.decisions, "malformed": stats.malformed,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""

UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
JA4S = (
    "t13d1516h2_8daaf6152771_02713d6af862",
    "t13d2014h2_a09f3c656075_14788d8d241b",
    "t13d1715h2_5b57614c22b0_3d5424432f57",
)


def generate(path: Path, n_events: int, seed: int = 7) -> int:
    """Time-ordered envelopes for ~n_events: sessions join and leave over the run."""
    rng = random.Random(seed)
    concurrent = max(50, n_events // 400)
    t0 = 1_700_000_000.0
    written = 0
    sessions: list[dict] = []
    sid = 0
    tick = 0
    with open(path, "wb") as out:
        while written < n_events:
            now = t0 + tick * 2.0
            while len(sessions) < concurrent:
                sid += 1
                kind = rng.random()
                ua = rng.randrange(3)
                sessions.append(
                    {
                        "id": f"s{sid:08d}",
                        "ch": f"ch{rng.randrange(40):03d}",
                        "ip": f"{rng.randrange(1, 223)}.{rng.randrange(256)}."
                        f"{rng.randrange(256)}.{rng.randrange(1, 255)}",
                        "asn": rng.choice((7922, 7018, 3320, 2856, 16509)),
                        "ua": UAS[ua] if kind > 0.05 else "HeadlessChrome/124.0",
                        "ja4": JA4S[ua],
                        "bot": kind < 0.1,
                        "left": rng.randrange(30, 400),
                        "pos": 0.0,
                    }
                )
            lines = []
            for s in sessions:
                base = {"session_id": s["id"], "channel_id": s["ch"]}
                ts = now + rng.random() * 1.5
                for path_kind in ("pl", "seg") if not s["bot"] else ("pl",):
                    written += 1
                    seg = f"seg_{int(ts // 2)}.ts" if path_kind == "seg" else "index.m3u8"
                    size = 700_000 if path_kind == "seg" else 600
                    value = {
                        "event_id": f"e{written}",
                        "ts": round(ts, 3),
                        **base,
                        "client_ip": s["ip"],
                        "asn": s["asn"],
                        "country": "US",
                        "user_agent": s["ua"],
                        "method": "GET",
                        "path": f"/live/{s['ch']}/720p30/{seg}",
                        "status": 200,
                        "bytes_sent": size,
                        "object_size": size,
                        "duration_ms": rng.randrange(20, 400),
                        "referer": "",
                        "tls_fingerprint": s["ja4"],
                    }
                    lines.append(orjson.dumps({"topic": "cdn-logs", "value": value}))
                if tick % 5 == 0 and not s["bot"]:
                    written += 1
                    s["pos"] += 10.0
                    value = {
                        "event_id": f"e{written}",
                        "ts": round(ts + 0.1, 3),
                        **base,
                        "type": "heartbeat",
                        "position_s": s["pos"],
                        "visible": True,
                        "muted": False,
                        "rendition": "720p30",
                        "viewport_w": 1280,
                        "viewport_h": 720,
                    }
                    lines.append(orjson.dumps({"topic": "player-events", "value": value}))
                if rng.random() < 0.005:
                    written += 1
                    value = {
                        "event_id": f"e{written}",
                        "ts": round(ts + 0.2, 3),
                        **base,
                        "user_id": f"u{s['id']}",
                        "type": "message",
                        "text_len": 24,
                    }
                    lines.append(orjson.dumps({"topic": "chat-events", "value": value}))
                s["left"] -= 1
            out.write(b"\n".join(lines) + b"\n")
            sessions = [s for s in sessions if s["left"] > 0]
            tick += 1
    return written


def parse_only(path: Path, loads) -> tuple[int, float]:
    started = time.perf_counter()
    n = 0
    with open(path, "rb", buffering=1 << 20) as f:
        for line in f:
            loads(line)
            n += 1
    return n, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="an events file to use instead of generating")
    parser.add_argument("--events", type=int, default=200_000, help="events to generate")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        path = args.input
        if path is None:
            path = Path(tmp) / "events.jsonl"
            n = generate(path, args.events)
            print(f"generated {n:,} events ({path.stat().st_size / 1e6:.0f} MB)")
        if not path.exists():
            print(f"bench_replay: no such file: {path}", file=sys.stderr)
            return 1
        n_std, s_std = parse_only(path, json.loads)
        n_orj, s_orj = parse_only(path, orjson.loads)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), os.path.join(tmp, "decisions.jsonl")],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(f"bench_replay: replay failed: {child.stderr.strip()}", file=sys.stderr)
            return 1
        r = json.loads(child.stdout)
    std_rate = n_std / s_std
    orj_rate = n_orj / s_orj
    replay_rate = r["lines"] / r["seconds"]
    print(f"lines                    {r['lines']:>12,}")
    print(f"parse-only json.loads    {std_rate:>12,.0f} lines/s")
    print(f"parse-only orjson.loads  {orj_rate:>12,.0f} lines/s")
    print(
        f"replay                   {replay_rate:>12,.0f} events/s "
        f"({r['decisions']:,} decisions, {r['malformed']} malformed)"
    )
    print(f"ratio replay/json        {replay_rate / std_rate:>12.2f}x  (target >= 0.2x)")
    print(f"ratio replay/orjson      {replay_rate / orj_rate:>12.2f}x")
    print(f"replay peak RSS          {r['maxrss_kb'] / 1024:>12,.0f} MB  (target < 600 MB at 1M)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
