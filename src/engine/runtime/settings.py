"""Worker settings beyond :class:`engine.config.Settings`, read from the same environment.

Every variable has a default that suits one worker on a laptop; bad values raise
:class:`engine.config.ConfigError` with a one-line message naming the variable.

| variable | default | what |
|---|---|---|
| ``VBG_APP_ID`` | ``viewbot-guard`` | Faust app id = consumer group; prefix of internal topics |
| ``VBG_TOPIC_PREFIX`` | (none) | prefix of the input/output topic names (``cdn-logs``...) |
| ``VBG_TABLE_STORE`` | ``memory://`` | Faust table store; ``rocksdb://`` keeps state on disk |
| ``VBG_DATA_DIR`` | ``./var/engine`` | Faust data directory (RocksDB tables live here) |
| ``VBG_TOPIC_REPLICATION`` | ``1`` | replication factor of the topics the worker creates |
| ``VBG_FETCH_MAX_WAIT_MS`` | ``100`` | consumer long-poll (see ``engine.runtime.transport``) |
| ``VBG_ACTION_TTL_S`` | ``3600`` | TTL of ``{prefix}action:{session}`` keys in Redis |
| ``VBG_REDIS_PENDING_MAX`` | ``100000`` | enforcement records held while Redis is down |
| ``VBG_CH_BATCH`` / ``VBG_CH_WITHIN_S`` | ``2000`` / ``1.0`` | ClickHouse sink: most decisions per insert, and the longest a decision waits for its batch |
| ``VBG_CH_IDLE_S`` | ``0.2`` | ClickHouse sink: insert once no decision arrived for this long |
| ``VBG_STATE_FLUSH_S`` | ``5.0`` | how often changed session/channel states are written |
| | | (live, nearly every session changes each second and a state is |
| | | ~2.5 KB: at 1 s the changelog was ~5x the input volume and |
| | | the main CPU cost; a crash replays at most this much, idempotently) |
| ``VBG_ALIGN_AHEAD_S`` | ``120`` | while catching up, an input partition more than this much |
| | | event time ahead of the slowest is paused (``engine.runtime.align``); 0: off |
| ``VBG_KAFKA_COMPRESSION`` | ``zstd`` | producer compression: none, gzip, snappy, lz4, zstd |
| ``VBG_VIEWERS_EVERY_S`` | ``5`` | how often channel viewer counts are published |
| ``VBG_RAW_CDN_SAMPLE`` | ``0.01`` | share of sessions whose CDN lines go to ``raw_cdn_log`` |
| ``VBG_SESSION_TIMEOUT_S`` | ``10`` | Kafka group session timeout: how fast a dead worker's |
| | | partitions move (6 is Apache Kafka's minimum) |
| ``VBG_STANDBY_REPLICAS`` | ``1`` | Faust table standbys kept by other workers |
| ``VBG_WEB_BIND`` | ``0.0.0.0`` | address the HTTP API listens on (port ``ENGINE_PORT``) |
| ``VBG_LOG_LEVEL`` | ``info`` | ``debug``, ``info``, ``warning`` or ``error`` |
| ``VBG_WORKER_ROLE`` | ``all`` | ``all``; or ``ingest`` (validate, regroup by channel, sinks; no |
| | | state; consumer group ``{VBG_APP_ID}-ingest``) and ``decide`` (merge, |
| | | state, decide) run as separate processes (``vbg-engine worker --role``) |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.config import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")
LOG_LEVELS = ("debug", "info", "warning", "error")
ROLES = ("all", "ingest", "decide")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass(frozen=True)
class RuntimeSettings:
    app_id: str = "viewbot-guard"
    topic_prefix: str = ""
    table_store: str = "memory://"
    data_dir: str = "./var/engine"
    topic_replication: int = 1
    fetch_max_wait_ms: int = 100
    action_ttl_s: int = 3600
    redis_pending_max: int = 100_000
    clickhouse_batch: int = 2000
    clickhouse_within_s: float = 1.0
    clickhouse_idle_s: float = 0.2
    state_flush_s: float = 5.0
    align_ahead_s: float = 120.0
    kafka_compression: str | None = "zstd"
    viewers_every_s: float = 5.0
    raw_cdn_sample: float = 0.01
    session_timeout_s: float = 10.0
    standby_replicas: int = 1
    web_bind: str = "0.0.0.0"
    log_level: str = "info"
    role: str = "all"  # all | ingest | decide (see engine.runtime.app, "Roles")

    @property
    def group_id(self) -> str:
        """The consumer group (Faust's app id): an ingest-only worker has a group of its own,
        since its subscription differs from the deciding workers'."""
        return f"{self.app_id}-ingest" if self.role == "ingest" else self.app_id

    def topic(self, name: str) -> str:
        """The full name of a public topic (``cdn-logs``, ``decisions``...)."""
        return f"{self.topic_prefix}{name}"

    def internal(self, name: str) -> str:
        """The full name of a topic only this app uses (``{app_id}-{name}``)."""
        return f"{self.app_id}-{name}"


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _compression(env: Mapping[str, str]) -> str | None:
    raw = (env.get("VBG_KAFKA_COMPRESSION") or "zstd").strip().lower()
    if raw not in COMPRESSIONS:
        raise ConfigError(f"VBG_KAFKA_COMPRESSION={raw!r} must be one of {', '.join(COMPRESSIONS)}")
    if raw == "none":
        return None
    import importlib.util

    module = "gzip" if raw == "gzip" else "cramjam"  # aiokafka compresses with cramjam
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"VBG_KAFKA_COMPRESSION={raw} needs the {module} package")
    return raw


def _rocksdb_available() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) for name in ("rocksdict", "rocksdb"))


def load_runtime_settings(env: Mapping[str, str] | None = None) -> RuntimeSettings:
    env = os.environ if env is None else env
    app_id = (env.get("VBG_APP_ID") or "viewbot-guard").strip()
    if not _NAME.match(app_id):
        raise ConfigError(f"VBG_APP_ID={app_id!r} must be 1-100 of A-Z a-z 0-9 . _ -")
    prefix = (env.get("VBG_TOPIC_PREFIX") or "").strip()
    if not _PREFIX.match(prefix):
        raise ConfigError(f"VBG_TOPIC_PREFIX={prefix!r} may only use A-Z a-z 0-9 . _ -")
    store = (env.get("VBG_TABLE_STORE") or "memory://").strip()
    if store not in ("memory://", "rocksdb://"):
        raise ConfigError(f"VBG_TABLE_STORE={store!r} must be memory:// or rocksdb://")
    if store == "rocksdb://" and not _rocksdb_available():
        raise ConfigError(
            "VBG_TABLE_STORE=rocksdb:// needs the rocksdict package (pip install rocksdict)"
        )
    level = (env.get("VBG_LOG_LEVEL") or "info").strip().lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"VBG_LOG_LEVEL={level!r} must be one of {', '.join(LOG_LEVELS)}")
    role = (env.get("VBG_WORKER_ROLE") or "all").strip().lower()
    if role not in ROLES:
        raise ConfigError(f"VBG_WORKER_ROLE={role!r} must be one of {', '.join(ROLES)}")
    return RuntimeSettings(
        app_id=app_id,
        topic_prefix=prefix,
        table_store=store,
        data_dir=(env.get("VBG_DATA_DIR") or "./var/engine").strip(),
        topic_replication=_int(env, "VBG_TOPIC_REPLICATION", 1, 1, 16),
        fetch_max_wait_ms=_int(env, "VBG_FETCH_MAX_WAIT_MS", 100, 1, 5000),
        action_ttl_s=_int(env, "VBG_ACTION_TTL_S", 3600, 10, 30 * 86400),
        redis_pending_max=_int(env, "VBG_REDIS_PENDING_MAX", 100_000, 100, 10_000_000),
        clickhouse_batch=_int(env, "VBG_CH_BATCH", 2000, 1, 1_000_000),
        clickhouse_within_s=_float(env, "VBG_CH_WITHIN_S", 1.0, 0.01, 600.0),
        clickhouse_idle_s=_float(env, "VBG_CH_IDLE_S", 0.2, 0.01, 600.0),
        state_flush_s=_float(env, "VBG_STATE_FLUSH_S", 5.0, 0.05, 60.0),
        align_ahead_s=_float(env, "VBG_ALIGN_AHEAD_S", 120.0, 0.0, 86400.0),
        kafka_compression=_compression(env),
        viewers_every_s=_float(env, "VBG_VIEWERS_EVERY_S", 5.0, 0.1, 3600.0),
        raw_cdn_sample=_float(env, "VBG_RAW_CDN_SAMPLE", 0.01, 0.0, 1.0),
        session_timeout_s=_float(env, "VBG_SESSION_TIMEOUT_S", 10.0, 6.0, 300.0),
        standby_replicas=_int(env, "VBG_STANDBY_REPLICAS", 1, 0, 8),
        web_bind=(env.get("VBG_WEB_BIND") or "0.0.0.0").strip(),
        log_level=level,
        role=role,
    )
