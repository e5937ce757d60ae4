"""Subcommands of ``vbg-engine``: each module has ``add_arguments(parser)`` and ``run(args)``.

Command modules import their heavy dependencies (Faust, chDB) inside ``run`` so that ``--help``
and argument errors stay fast.
"""

from __future__ import annotations

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "localstack": ("engine.commands.localstack", "run the embedded Tansu/Redis/chDB stack"),
    "worker": ("engine.commands.worker", "run the stream engine service (Faust) and its API"),
    "migrate": ("engine.commands.migrate", "apply the ClickHouse schema (idempotent)"),
    "replay": ("engine.commands.replay", "run the detection core over an events file"),
    "evaluate": ("engine.commands.evaluate", "score decisions against simulator labels"),
    "simulate": ("engine.commands.simulate", "generate labelled viewer and viewbot traffic"),
}
