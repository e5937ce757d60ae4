"""Settings from the environment: typed defaults, one-line errors naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.config import ConfigError, load_settings, parse_api_tokens


def test_defaults_work_on_a_bare_machine() -> None:
    s = load_settings({})
    assert s.kafka_servers == ["127.0.0.1:9092"]
    assert s.clickhouse_url.startswith("chdb://")
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.engine_port == 6066
    assert s.topic_partitions == 4
    assert s.api_tokens == ()


def test_values_are_parsed_and_typed() -> None:
    s = load_settings(
        {
            "KAFKA_BOOTSTRAP": "k1:9092, k2:9093",
            "CLICKHOUSE_URL": "https://user:pw@ch.example:8443/viewbot",
            "REDIS_URL": "rediss://:secret@redis:6380/1",
            "ENGINE_PORT": "7000",
            "VBG_API_TOKENS": "readtoken123,writetoken456:write",
            "VBG_TOPIC_PARTITIONS": "12",
        }
    )
    assert s.kafka_servers == ["k1:9092", "k2:9093"]
    assert s.engine_port == 7000 and s.topic_partitions == 12
    scopes = {t.scope for t in s.api_tokens}
    assert scopes == {"read", "write"}
    write = next(t for t in s.api_tokens if t.scope == "write")
    assert write.allows("read") and write.allows("write")
    read = next(t for t in s.api_tokens if t.scope == "read")
    assert read.allows("read") and not read.allows("write")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ENGINE_PORT": "http"}, "ENGINE_PORT='http' is not an integer"),
        ({"ENGINE_PORT": "70000"}, "ENGINE_PORT=70000 is out of range (1..65535)"),
        ({"VBG_TOPIC_PARTITIONS": "0"}, "VBG_TOPIC_PARTITIONS=0 is out of range"),
        ({"KAFKA_BOOTSTRAP": "localhost"}, "KAFKA_BOOTSTRAP entry 'localhost' is not host:port"),
        ({"KAFKA_BOOTSTRAP": " , "}, "KAFKA_BOOTSTRAP is empty"),
        ({"CLICKHOUSE_URL": "postgres://x"}, "CLICKHOUSE_URL='postgres://x' must start with"),
        ({"CLICKHOUSE_URL": "chdb://"}, "CLICKHOUSE_URL=chdb:// needs a path"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL='memcached://x' must start with"),
        ({"VBG_API_TOKENS": "abcdefgh:admin"}, "VBG_API_TOKENS has an entry with scope 'admin'"),
        ({"VBG_API_TOKENS": "short:write"}, "VBG_API_TOKENS has a token shorter than 8"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS' must be one of"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM is required with SASL_SSL"),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, "KAFKA_SSL_CAFILE='/nonexistent/ca.pem'"),
    ],
)
def test_invalid_values_name_the_variable_on_one_line(env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_secrets_never_appear_in_repr_or_redacted_view() -> None:
    s = load_settings(
        {
            "CLICKHOUSE_URL": "https://user:chpass@ch:8443",
            "REDIS_URL": "redis://:redispass@r:6379/0",
            "VBG_API_TOKENS": "supersecrettoken:write",
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": "svc",
            "KAFKA_SASL_PASSWORD": "kafkapass",
        }
    )
    text = repr(s) + repr(s.redacted())
    for secret in ("chpass", "redispass", "supersecrettoken", "kafkapass"):
        assert secret not in text
    assert s.redacted()["clickhouse_url"] == "https://user:***@ch:8443"
    assert s.kafka_security.aiokafka_kwargs()["sasl_plain_password"] == "kafkapass"


def test_bare_token_is_read_only() -> None:
    (token,) = parse_api_tokens("justareader")
    assert token.scope == "read"


def test_cli_reports_bad_arguments_with_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_help_lists_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "localstack" in proc.stdout
