"""``vbg-engine``: the service and its offline tools behind one entry point."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engine import __version__
from engine.commands import COMMANDS
from engine.config import ConfigError
from engine.errors import CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbg-engine",
        description="Viewbot Guard engine: stream service and offline tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or help_text).strip()
        command = sub.add_parser(name, help=help_text, description=doc)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except ConfigError as exc:
        print(f"vbg-engine: configuration error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"vbg-engine {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vbg-engine {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("VBG_DEBUG"):
            raise
        print(
            f"vbg-engine {args.command}: unexpected error: {type(exc).__name__}: {exc} "
            "(set VBG_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
