"""Compare a decisions file with the simulator's labels: precision, recall, false-positive rate
(overall and per bot family / human population, on each session's final action), time from a
bot's first event to its first flag, and the share of bot viewing time still counted.
"""

from __future__ import annotations

import argparse
import json

from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decisions", required=True, metavar="DECISIONS.jsonl")
    parser.add_argument("--labels", required=True, metavar="LABELS.jsonl")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    from engine.offline.evaluate import (
        EvaluationError,
        evaluate,
        read_decisions,
        read_labels,
        render_table,
    )

    try:
        with _open(args.labels, "labels") as f:
            labels = read_labels(f, name=f"labels {args.labels}")
        with _open(args.decisions, "decisions") as f:
            timelines, count = read_decisions(f, name=f"decisions {args.decisions}")
    except EvaluationError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"read error: {exc.strerror or exc}") from None
    result = evaluate(labels, timelines, count)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        print(render_table(result))
    return 0


def _open(path: str, what: str):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CommandError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
