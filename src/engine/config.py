"""Engine settings from the environment (12-factor).

Every variable has a typed default that works on a bare machine. A bad value raises
:class:`ConfigError` whose message is one line naming the variable, so a misconfigured service
fails fast with a reason an operator can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_CLICKHOUSE_URL = "chdb://./var/chdb"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_ENGINE_PORT = 6066

KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TOKEN_SCOPES = ("read", "write")


class ConfigError(ValueError):
    """A setting is invalid; the message names the variable and fits on one line."""


@dataclass(frozen=True)
class ApiToken:
    """A bearer token and its scope; ``write`` implies ``read``."""

    token: str = field(repr=False)
    scope: str

    def allows(self, scope: str) -> bool:
        return self.scope == "write" or scope == "read"


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    def aiokafka_kwargs(self) -> dict[str, object]:
        """Keyword arguments for aiokafka clients (producer, consumer, admin)."""
        kwargs: dict[str, object] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            kwargs["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        if self.protocol.startswith("SASL"):
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        return kwargs


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    clickhouse_url: str = DEFAULT_CLICKHOUSE_URL
    redis_url: str = DEFAULT_REDIS_URL
    redis_key_prefix: str = "vbg:"
    engine_port: int = DEFAULT_ENGINE_PORT
    api_tokens: tuple[ApiToken, ...] = field(default=(), repr=False)
    topic_partitions: int = 4
    max_message_bytes: int = 1_048_576

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.redacted().items())
        return f"Settings({fields})"

    def redacted(self) -> dict[str, object]:
        """Settings safe to log: credentials and tokens never leave this object."""
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "kafka_security_protocol": self.kafka_security.protocol,
            "clickhouse_url": _redact_url(self.clickhouse_url),
            "redis_url": _redact_url(self.redis_url),
            "redis_key_prefix": self.redis_key_prefix,
            "engine_port": self.engine_port,
            "api_tokens": f"{len(self.api_tokens)} configured",
            "topic_partitions": self.topic_partitions,
            "max_message_bytes": self.max_message_bytes,
        }


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return parts._replace(netloc=netloc).geturl()


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _choice(env: Mapping[str, str], name: str, default: str | None, choices: tuple[str, ...]):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return value


def _bootstrap(env: Mapping[str, str]) -> str:
    raw = env.get("KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP).strip()
    servers = [s.strip() for s in raw.split(",") if s.strip()]
    if not servers:
        raise ConfigError("KAFKA_BOOTSTRAP is empty; expected host:port[,host:port...]")
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"KAFKA_BOOTSTRAP entry {server!r} is not host:port")
    return ",".join(servers)


def _clickhouse_url(env: Mapping[str, str]) -> str:
    raw = env.get("CLICKHOUSE_URL", DEFAULT_CLICKHOUSE_URL).strip()
    scheme = urlsplit(raw).scheme
    if scheme not in ("http", "https", "chdb"):
        raise ConfigError(
            f"CLICKHOUSE_URL={_redact_url(raw)!r} must start with http://, https:// or chdb://"
        )
    if scheme == "chdb" and raw in ("chdb://", "chdb:///"):
        raise ConfigError("CLICKHOUSE_URL=chdb:// needs a path, e.g. chdb://./var/chdb")
    if scheme in ("http", "https") and not urlsplit(raw).hostname:
        raise ConfigError(f"CLICKHOUSE_URL={_redact_url(raw)!r} has no host")
    return raw


def _redis_url(env: Mapping[str, str]) -> str:
    raw = env.get("REDIS_URL", DEFAULT_REDIS_URL).strip()
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"REDIS_URL={_redact_url(raw)!r} must start with redis://, rediss:// or unix://"
        )
    return raw


def parse_api_tokens(raw: str) -> tuple[ApiToken, ...]:
    """Parse ``token:scope`` pairs separated by commas; a bare token is read-only."""
    tokens = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        token, sep, scope = item.rpartition(":")
        if not sep:
            token, scope = item, "read"
        scope = scope.strip().lower()
        if scope not in TOKEN_SCOPES:
            raise ConfigError(
                f"VBG_API_TOKENS has an entry with scope {scope!r}; use token:read or token:write"
            )
        if len(token) < 8:
            raise ConfigError("VBG_API_TOKENS has a token shorter than 8 characters")
        tokens.append(ApiToken(token=token, scope=scope))
    return tuple(tokens)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    protocol = _choice(env, "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", KAFKA_SECURITY_PROTOCOLS)
    mechanism = _choice(env, "KAFKA_SASL_MECHANISM", None, KAFKA_SASL_MECHANISMS)
    security = KafkaSecurity(
        protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
        sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
        ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
        ssl_certfile=env.get("KAFKA_SSL_CERTFILE") or None,
        ssl_keyfile=env.get("KAFKA_SSL_KEYFILE") or None,
    )
    if protocol.startswith("SASL"):
        if security.sasl_mechanism is None:
            raise ConfigError(f"KAFKA_SASL_MECHANISM is required with {protocol}")
        if not security.sasl_username or not security.sasl_password:
            raise ConfigError(
                f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with {protocol}"
            )
    for name in ("KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE"):
        path = env.get(name)
        if path and not os.path.isfile(path):
            raise ConfigError(f"{name}={path!r} does not exist")
    prefix = env.get("VBG_REDIS_PREFIX", "vbg:")
    if not prefix or any(c.isspace() for c in prefix):
        raise ConfigError(f"VBG_REDIS_PREFIX={prefix!r} must be non-empty with no whitespace")
    return Settings(
        kafka_bootstrap=_bootstrap(env),
        kafka_security=security,
        clickhouse_url=_clickhouse_url(env),
        redis_url=_redis_url(env),
        redis_key_prefix=prefix,
        engine_port=_int(env, "ENGINE_PORT", DEFAULT_ENGINE_PORT, 1, 65535),
        api_tokens=parse_api_tokens(env.get("VBG_API_TOKENS", "")),
        topic_partitions=_int(env, "VBG_TOPIC_PARTITIONS", 4, 1, 1024),
        max_message_bytes=_int(env, "VBG_MAX_MESSAGE_BYTES", 1_048_576, 1024, 64 * 1_048_576),
    )
