"""Shared fixtures: one real service each, session-scoped, on free loopback ports.

If ``KAFKA_BOOTSTRAP`` / ``REDIS_URL`` / ``CLICKHOUSE_URL`` is set, that server is used instead
of starting an embedded one (this is how ``make test-kafka`` points the suite at Apache Kafka).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.localstack import LocalStack


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    with LocalStack(tmp_path_factory.mktemp("tansu"), components=["kafka"]) as stack:
        yield stack.kafka.bootstrap


@pytest.fixture(scope="session")
def kafka_flavour() -> str:
    """Which broker the suite runs against: ``tansu`` or ``apache`` (set by run-tests.sh)."""
    return os.environ.get("VBG_KAFKA_FLAVOUR", "tansu")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    with LocalStack(tmp_path_factory.mktemp("redis"), components=["redis"]) as stack:
        yield stack.redis.url


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One chDB directory per test session: chDB allows one open path per process."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_url(chdb_path: Path) -> str:
    return os.environ.get("CLICKHOUSE_URL") or f"chdb://{chdb_path}"
