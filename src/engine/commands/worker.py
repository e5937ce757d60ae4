"""``vbg-engine worker``: the stream service (Faust) with its HTTP API on ENGINE_PORT.

Configuration comes from the environment (KAFKA_BOOTSTRAP, CLICKHOUSE_URL, REDIS_URL,
ENGINE_PORT, VBG_API_TOKENS, VBG_TOPIC_PARTITIONS, Kafka TLS/SASL, and the VBG_* worker settings
of engine.runtime.settings). Before starting, the worker checks every dependency and creates the
topics it needs; any problem ends it with a one-line reason. SIGTERM or SIGINT stops it
gracefully: in-flight batches finish or stay uncommitted, offsets are committed, clients closed.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the configuration and every dependency, create missing topics, then exit",
    )
    parser.add_argument(
        "--role",
        choices=("all", "ingest", "decide"),
        help="what this process runs (default: VBG_WORKER_ROLE, else all): ingest validates "
        "input and regroups it by channel; decide keeps the state, decides and sinks. Run one "
        "of each to use two cores per worker",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging.config
    import os

    from engine.config import load_settings
    from engine.runtime.logs import logging_config
    from engine.runtime.preflight import preflight
    from engine.runtime.settings import load_runtime_settings

    settings = load_settings()
    env = dict(os.environ)
    if args.role:
        env["VBG_WORKER_ROLE"] = args.role
    rt = load_runtime_settings(env)
    secrets = [t.token for t in settings.api_tokens]
    for secret in (settings.kafka_security.sasl_password,):
        if secret:
            secrets.append(secret)
    config = logging_config(rt.log_level, secrets)
    logging.config.dictConfig(config)
    asyncio.run(preflight(settings, rt))
    if args.check:
        print("vbg-engine worker: configuration and dependencies OK")
        return 0

    import gc
    import sys

    import faust

    from engine.runtime.app import Engine

    # The consumer runs in its own thread (Faust's aiokafka driver). With CPython's default
    # 5 ms GIL switch interval, every syscall of the event loop (a socket send) could hand the
    # GIL to that thread and wait up to 5 ms to get it back; 0.5 ms keeps the loop responsive.
    sys.setswitchinterval(0.0005)
    # The worker keeps many long-lived objects (session states) and allocates many short-lived
    # ones per event: with the default thresholds the cyclic GC re-traverses the long-lived heap
    # every few hundred allocations, which cost a third of the decision path's time. Fewer
    # young-generation collections, and startup objects moved out of the GC's view.
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)

    engine = Engine(settings, rt)
    worker = faust.Worker(
        engine.app,
        loglevel=rt.log_level,
        logging_config=config,
        quiet=True,
        redirect_stdouts=False,
        override_logging=True,
    )
    worker.execute_from_commandline()
    return 0
