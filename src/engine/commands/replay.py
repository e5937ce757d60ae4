"""Run the detection core over a file of event envelopes and write every decision it emits.

Input: one {"topic": ..., "value": {...}} envelope per line, processed in file order.
Output: one decision per line (canonical JSON, decided_at == ts: byte-identical run to run).

Exit status: 0 when every line was an event; 3 when some lines were malformed (bad JSON,
unknown topic or a schema failure: each is listed with its line number on stderr, up to 20,
then summarised; the run still processes every good line); 1 when the input cannot be read or
the output cannot be written.
"""

from __future__ import annotations

import argparse
import sys

from engine.errors import CommandError

EXIT_MALFORMED = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="EVENTS.jsonl", help="event envelopes")
    parser.add_argument(
        "--output", required=True, metavar="DECISIONS.jsonl", help="where decisions go"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines (the summary is still printed)"
    )


def run(args: argparse.Namespace) -> int:
    from engine.detect import Policy
    from engine.offline.replay import MAX_LISTED_ERRORS, ReplayStats, replay_stream

    err = sys.stderr

    def on_malformed(lineno: int, code: str, reason: str) -> None:
        if stats_holder["listed"] < MAX_LISTED_ERRORS:
            print(f"replay: line {lineno}: {code}: {_one_line(reason)}", file=err)
        elif stats_holder["listed"] == MAX_LISTED_ERRORS:
            print("replay: further malformed lines are counted, not listed", file=err)
        stats_holder["listed"] += 1

    def on_progress(stats: ReplayStats) -> None:
        if not args.quiet:
            print(
                f"replay: {stats.lines:,} lines, {stats.decisions:,} decisions, "
                f"{stats.events_per_s:,.0f} events/s",
                file=err,
            )

    stats_holder = {"listed": 0}
    try:
        source = open(args.input, "rb", buffering=1 << 20)  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot read input {args.input}: {exc.strerror or exc}") from None
    with source:
        try:
            sink = open(args.output, "wb", buffering=1 << 20)  # noqa: SIM115
        except OSError as exc:
            raise CommandError(
                f"cannot write output {args.output}: {exc.strerror or exc}"
            ) from None
        with sink:
            try:
                stats = replay_stream(
                    source, sink, Policy(), on_malformed=on_malformed, on_progress=on_progress
                )
            except OSError as exc:
                raise CommandError(f"I/O error: {exc.strerror or exc}") from None
    if stats.malformed:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(stats.malformed_by_code.items()))
        print(f"replay: {stats.malformed:,} malformed line(s) skipped ({codes})", file=err)
    print(
        f"replay: {stats.events:,} events, {stats.decisions:,} decisions in "
        f"{stats.seconds:.2f} s ({stats.events_per_s:,.0f} events/s)",
        file=err,
    )
    return EXIT_MALFORMED if stats.malformed else 0


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
