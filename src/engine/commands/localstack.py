"""``vbg-engine localstack``: the embedded stack as a long-running supervisor."""

from __future__ import annotations

import argparse

from engine.localstack import COMPONENTS, run_supervisor
from engine.localstack.stack import OPTIONAL_COMPONENTS


def _components(raw: str) -> list[str]:
    known = COMPONENTS + OPTIONAL_COMPONENTS
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown component {', '.join(unknown) or '(none)'}; choose from {','.join(known)}"
        )
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="where logs and data go (default: a new temp dir)")
    parser.add_argument(
        "--components",
        type=_components,
        default=list(COMPONENTS),
        help="comma-separated subset of kafka,redis,clickhouse (default: all); clickhouse-http "
        "serves chDB over HTTP from its own process instead of a bare chDB directory",
    )
    parser.add_argument("--state-file", help="write the stack's env and PIDs here as JSON")


def run(args: argparse.Namespace) -> int:
    return run_supervisor(args.workdir, args.components, args.state_file)
