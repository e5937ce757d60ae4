"""infra/: compose file, Dockerfile and systemd unit stay valid without a Docker engine here."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from engine.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


class RecordingEnv(dict):
    """An environment that remembers which variables the settings loader asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def variables_the_engine_reads() -> set[str]:
    env = RecordingEnv()
    load_settings(env)
    return env.asked


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with nothing set: the default."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def test_compose_services_and_images(compose):
    services = compose["services"]
    assert {"redpanda", "clickhouse", "redis", "migrate", "engine", "simulator"} <= set(services)
    for name in ("redpanda", "clickhouse", "redis"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image version"
        assert services[name]["healthcheck"]["test"], name
    assert services["simulator"]["profiles"] == ["simulator"]
    assert "profiles" not in services["engine"]
    build = services["migrate"]["build"]
    assert (INFRA / build["context"] / build["dockerfile"]).resolve() == (
        INFRA / "docker" / "Dockerfile"
    )
    for name in ("migrate", "engine", "simulator"):
        assert services[name]["image"] == services["migrate"]["image"]
    assert services["migrate"]["command"] == ["vbg-engine", "migrate"]
    assert services["engine"]["command"] == ["vbg-engine", "worker"]
    assert services["simulator"]["command"][:2] == ["vbg-engine", "simulate"]


@pytest.mark.parametrize("service", ["migrate", "engine", "simulator"])
def test_compose_commands_parse_with_the_real_cli(compose, service):
    from engine.cli import build_parser
    from engine.commands import COMMANDS

    argv = compose["services"][service]["command"]
    assert argv[0] == "vbg-engine"
    if argv[1] not in COMMANDS:
        pytest.skip(f"`vbg-engine {argv[1]}` is not in this tree yet")
    args = build_parser().parse_args(argv[1:])  # argparse exits (SystemExit) on unknown flags
    assert args.command == argv[1]


def test_compose_start_order(compose):
    services = compose["services"]
    engine_deps = services["engine"]["depends_on"]
    for name in ("redpanda", "clickhouse", "redis"):
        assert engine_deps[name]["condition"] == "service_healthy"
    assert engine_deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert services["simulator"]["depends_on"]["engine"]["condition"] == "service_healthy"
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
            if service["depends_on"][dep]["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck"


def test_compose_engine_environment_is_a_valid_engine_config(compose):
    services = compose["services"]
    env = {k: interpolate(str(v)) for k, v in services["engine"]["environment"].items()}
    read = variables_the_engine_reads()
    assert set(env) - {"PYTHONUNBUFFERED"} <= read, "variables the engine does not read"
    for required in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL", "REDIS_URL", "ENGINE_PORT"):
        assert env[required]
    settings = load_settings(env)  # the compose defaults are a working configuration
    hosts = {
        settings.kafka_servers[0].rpartition(":")[0],
        urlsplit(settings.clickhouse_url).hostname,
        urlsplit(settings.redis_url).hostname,
    }
    assert hosts == {"redpanda", "clickhouse", "redis"} and hosts <= set(services)
    engine = services["engine"]
    assert str(settings.engine_port) in [str(p).split(":")[-1] for p in engine["ports"]]
    assert str(settings.engine_port) in json.dumps(engine["healthcheck"]["test"])
    assert engine["stop_signal"] == "SIGTERM"
    assert services["migrate"]["environment"] == engine["environment"]


def test_compose_volumes_are_declared_and_bind_mounts_exist(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (INFRA / source).exists(), f"{name}: {source} does not exist"
            else:
                used.add(source)
    assert used and used <= declared
    assert {"redpanda_data", "clickhouse_data", "redis_data"} <= used


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_config_accepts_the_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    args = [
        "-f",
        str(INFRA / "docker-compose.yml"),
        "--profile",
        "simulator",
        "--profile",
        "monitoring",
        "config",
        "-q",
    ]
    result = subprocess.run(cli + args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (INFRA / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile():
    instructions = dockerfile_instructions()
    froms = [rest.split()[0] for kw, rest in instructions if kw == "FROM"]
    assert froms and all(image == "python:3.11-slim" for image in froms)
    final = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    tail = instructions[final:]
    users = [rest for kw, rest in tail if kw == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert json.loads(next(rest for kw, rest in tail if kw == "CMD")) == ["vbg-engine", "worker"]
    assert ("STOPSIGNAL", "SIGTERM") in tail
    assert any(kw == "RUN" and "pip install" in rest for kw, rest in tail)
    for kw, rest in instructions:
        if kw == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY source {source} missing"
    healthcheck = next(rest for kw, rest in tail if kw == "HEALTHCHECK")
    assert "/api/v1/health" in healthcheck and "6066" in healthcheck
    # The schema ships in the wheel through the src/engine/storage/sql symlink.
    link = ROOT / "src" / "engine" / "storage" / "sql"
    copied = {rest.split()[0] for kw, rest in instructions if kw == "COPY"}
    if link.is_symlink():
        target = (link.parent / link.readlink()).resolve().relative_to(ROOT)
        assert str(target) in copied


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(INFRA / "systemd" / "vbg-engine.service")
    return parser


def test_systemd_unit():
    service = unit()["Service"]
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["ExecStart"].endswith("vbg-engine worker")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # cli.py: configuration error
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"].rstrip("s")) >= 30
    assert service["User"] not in ("root", "0")
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify_knows_every_directive(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = (INFRA / "systemd" / "vbg-engine.service").read_text()
    # Only what cannot exist on a test machine is swapped: the binary, user and env file.
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", text, flags=re.M)
    text = re.sub(r"^(User|Group)=.*$", r"\1=root", text, flags=re.M)
    text = text.replace("EnvironmentFile=", "EnvironmentFile=-")
    copy = tmp_path / "vbg-engine.service"
    copy.write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Invalid" not in result.stderr, result.stderr


def test_example_environment_file_is_a_valid_config():
    env = {}
    for line in (INFRA / "systemd" / "engine.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert set(env) <= variables_the_engine_reads()
    load_settings(env)
