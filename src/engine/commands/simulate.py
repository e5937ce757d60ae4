"""``vbg-engine simulate``: deterministic, labelled viewer and viewbot traffic.

Generates many live channels with human viewers (desktop, mobile behind carrier NAT, phones
handed over between Wi-Fi and cellular, offices behind one IP, VPN users, background tabs,
pausers, low-bandwidth viewers, lurkers, IPv6, raids, embedded players) and viewbot campaigns
(playlist pollers, headless browsers, segment skimmers, token replayers, hosting farms,
residential proxy swarms, challenge evaders, rotating proxy gateways, slow drip feeds, stealth
browsers). Events go to a file of
``{"topic", "value"}`` envelopes in event-time order and/or to Kafka; labels (one per session)
go to a separate file. The same arguments give byte-identical output.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack

SHARE_MAX = 0.95


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} must be a positive number")
    return value


def _non_negative_float(raw: str) -> float:
    if raw.strip() == "0":
        return 0.0
    return _positive_float(raw)


def _int_range(lo: int, hi: int):
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not an integer") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lo}..{hi})")
        return value

    return parse


def _share(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0.0 <= value <= SHARE_MAX:
        raise argparse.ArgumentTypeError(f"{raw!r} must be between 0 and {SHARE_MAX}")
    return value


def _start_ts(raw: str) -> float | str:
    if raw == "now":
        return raw
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not epoch seconds or 'now'") from None
    if not 0 <= value < 32_503_680_000:
        raise argparse.ArgumentTypeError(f"{raw!r} is out of range")
    return value


def _families(raw: str) -> tuple[str, ...]:
    from engine.simulate.families.bots import FAMILIES

    if raw.strip() in ("all", ""):
        return FAMILIES
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown family {', '.join(unknown)}; choose from {','.join(FAMILIES)}"
        )
    return tuple(dict.fromkeys(names))


def _bootstrap(raw: str) -> str:
    for server in raw.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise argparse.ArgumentTypeError(f"{server!r} is not host:port")
    return raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("scenario")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument(
        "--channels", type=_int_range(1, 10_000), default=12, help="live channels (default 12)"
    )
    g.add_argument(
        "--duration", type=_positive_float, default=900.0, help="event-time seconds (default 900)"
    )
    g.add_argument(
        "--start-ts",
        type=_start_ts,
        default=None,
        help="event time of the first second, epoch seconds or 'now' (default 1717243200)",
    )
    g.add_argument(
        "--viewers",
        type=_int_range(1, 10_000_000),
        default=600,
        help="mean concurrent human viewers over all channels (default 600)",
    )
    g.add_argument(
        "--attack-share",
        type=_share,
        default=0.3,
        help="share of sessions that are bots (default 0.3)",
    )
    g.add_argument(
        "--families",
        type=_families,
        default=None,
        help="comma-separated bot families (default all)",
    )
    g.add_argument(
        "--no-attacks", action="store_true", help="humans only (same as --attack-share 0)"
    )
    g.add_argument(
        "--attack-at",
        type=_non_negative_float,
        default=None,
        help="seconds after the start when attacks begin (default: drawn per campaign)",
    )
    g.add_argument("--no-raids", action="store_true", help="no raid bursts of real viewers")
    g.add_argument(
        "--max-events", type=_int_range(1, 10**12), default=None, help="stop after this many events"
    )
    o = parser.add_argument_group("output")
    o.add_argument("--out", metavar="EVENTS.jsonl", help="write envelopes here ('-' for stdout)")
    o.add_argument("--labels", metavar="LABELS.jsonl", help="write one label per session here")
    o.add_argument(
        "--kafka", action="store_true", help="produce to Kafka (bootstrap from KAFKA_BOOTSTRAP)"
    )
    o.add_argument(
        "--bootstrap", type=_bootstrap, help="Kafka bootstrap servers (overrides KAFKA_BOOTSTRAP)"
    )
    o.add_argument(
        "--topic-prefix", default="", help="prefix for the Kafka topic names (default none)"
    )
    o.add_argument(
        "--partitions",
        type=_int_range(1, 1024),
        default=None,
        help="partitions for topics this command creates (default VBG_TOPIC_PARTITIONS)",
    )
    o.add_argument(
        "--rate",
        type=_non_negative_float,
        default=0.0,
        help="events per wall-clock second, real-time pacing (default 0: as fast as possible)",
    )
    o.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")


def _usage_error(message: str) -> int:
    print(f"vbg-engine simulate: error: {message}", file=sys.stderr)
    return 2


def _open(stack: ExitStack, path: str, what: str):
    from engine.errors import CommandError

    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb", buffering=1 << 20))
    except OSError as exc:
        raise CommandError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from engine.errors import CommandError
    from engine.simulate import DEFAULT_START_TS, FAMILIES, SimConfig, Simulation
    from engine.simulate.emit import TOPICS
    from engine.simulate.writer import LabelWriter, Progress, write_files

    if not args.out and not args.kafka:
        return _usage_error("nothing to write: give --out EVENTS.jsonl and/or --kafka")
    if args.labels and args.labels == args.out:
        return _usage_error("--labels and --out must be different files")
    if args.labels == "-" and args.out == "-":
        return _usage_error("--labels and --out cannot both be stdout")
    start_ts = DEFAULT_START_TS if args.start_ts is None else args.start_ts
    if start_ts == "now":
        start_ts = round(time.time(), 3)
    cfg = SimConfig(
        seed=args.seed,
        channels=args.channels,
        duration=args.duration,
        start_ts=float(start_ts),
        viewers=args.viewers,
        attack_share=0.0 if args.no_attacks else args.attack_share,
        families=args.families if args.families is not None else FAMILIES,
        attack_at=args.attack_at,
        raids=not args.no_raids,
        max_events=args.max_events,
    )
    with ExitStack() as stack:
        out = _open(stack, args.out, "events to") if args.out else None
        labels = _open(stack, args.labels, "labels to") if args.labels else None
        label_writer = LabelWriter(labels)
        sim = Simulation(cfg, on_label=label_writer)
        progress = Progress(cfg.start_ts, cfg.duration, enabled=not args.quiet)
        try:
            if args.kafka:
                n = _run_kafka(args, sim, progress, out)
            else:
                n = write_files(sim, out, progress, rate=args.rate)
        except BrokenPipeError:
            raise  # the reader went away (``| head``): the CLI exits quietly
        except OSError as exc:
            raise CommandError(f"write failed: {exc.strerror or exc}") from None
    if not args.quiet:
        elapsed = progress.elapsed()
        counts = ", ".join(f"{t} {c:,}" for t, c in zip(TOPICS, sim.topic_counts, strict=True))
        print(
            f"simulate: wrote {n:,} events ({counts}); {label_writer.count:,} sessions "
            f"({sim.sessions['human']:,} human, {sim.sessions['bot']:,} bot) "
            f"in {elapsed:.1f} s, {n / max(elapsed, 1e-9):,.0f} events/s",
            file=sys.stderr,
        )
    return 0


def _run_kafka(args: argparse.Namespace, sim, progress, out) -> int:
    import asyncio

    from aiokafka.errors import KafkaError

    from engine.config import load_settings
    from engine.errors import CommandError
    from engine.simulate.writer import write_kafka

    settings = load_settings()
    bootstrap = args.bootstrap or settings.kafka_bootstrap
    partitions = args.partitions or settings.topic_partitions
    security = settings.kafka_security.aiokafka_kwargs()
    try:
        return asyncio.run(
            write_kafka(
                sim, bootstrap, security, args.topic_prefix, partitions, progress, args.rate, out
            )
        )
    except (KafkaError, OSError) as exc:
        raise CommandError(f"Kafka at {bootstrap}: {type(exc).__name__}: {exc}") from None
