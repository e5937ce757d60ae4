"""ClickHouse URLs and connections: chDB in process (one path per process) and HTTP servers."""

from __future__ import annotations

import os
import threading

import pytest

from engine.localstack.ports import free_port
from engine.storage.clickhouse import StorageError, connect, parse_url, to_thread


def test_parse_chdb_paths(tmp_path):
    assert parse_url(f"chdb://{tmp_path}/db").path == os.path.realpath(tmp_path / "db")
    relative = parse_url("chdb://./var/chdb")
    assert relative.embedded
    assert relative.path == os.path.realpath("var/chdb")
    assert parse_url("chdb://:memory:").path == ":memory:"
    assert (
        parse_url(f"chdb://{tmp_path}/db").describe() == f"chdb://{os.path.realpath(tmp_path)}/db"
    )


def test_parse_http_urls():
    plain = parse_url("http://ch.example:9123")
    assert (plain.scheme, plain.host, plain.port, plain.database) == (
        "http",
        "ch.example",
        9123,
        None,
    )
    full = parse_url("https://bob:p%40ss@ch.example/viewbot")
    assert (full.port, full.username, full.password, full.database) == (
        8443,
        "bob",
        "p@ss",
        "viewbot",
    )
    assert parse_url("http://ch.example").port == 8123
    assert "p@ss" not in full.describe()
    assert "p@ss" not in repr(full)
    assert full.describe() == "https://bob@ch.example:8443/viewbot"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://h", "must start with chdb://, http:// or https://"),
        ("ch.example:8123", "must start with"),
        ("chdb://", "needs a data path"),
        ("http://", "has no host"),
        ("http://h:99999", "invalid port"),
        ("http://h/a/b", "one database name"),
    ],
)
def test_parse_rejects_bad_urls(url, fragment):
    with pytest.raises(StorageError, match=fragment):
        parse_url(url)


def test_bad_url_error_redacts_password():
    with pytest.raises(StorageError) as info:
        parse_url("ftp://alice:hunter2@h")
    assert "hunter2" not in str(info.value)


def test_unreachable_server_is_one_line_error():
    port = free_port()
    with pytest.raises(StorageError) as info:
        connect(f"http://alice:hunter2@127.0.0.1:{port}/viewbot", connect_timeout=2)
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        f"cannot connect to http://alice@127.0.0.1:{port}/viewbot: Connection refused"
    )


def test_unknown_host_is_one_line_error():
    with pytest.raises(StorageError) as info:
        connect("http://no-such-host.invalid:8123", connect_timeout=2)
    assert str(info.value).startswith("cannot connect to http://no-such-host.invalid:8123: ")
    assert "\n" not in str(info.value)


@pytest.fixture
def chdb_url(clickhouse_url: str) -> str:
    if not clickhouse_url.startswith("chdb://"):
        pytest.skip("CLICKHOUSE_URL points at a server; these tests are about embedded chDB")
    return clickhouse_url


def test_chdb_client_is_shared_per_path(chdb_url, chdb_path):
    client = connect(chdb_url)
    assert connect(chdb_url) is client
    # Another spelling of the same directory is the same chDB path.
    assert connect(f"chdb://{chdb_path}/../{chdb_path.name}/") is client
    assert client.query("SELECT 41 + 1").result_rows == [(42,)]


def test_second_chdb_path_is_a_clear_error(chdb_url, chdb_path, tmp_path):
    connect(chdb_url)
    other = tmp_path / "other-chdb"
    with pytest.raises(StorageError) as info:
        connect(f"chdb://{other}")
    message = str(info.value)
    assert "one data path per process" in message
    assert str(chdb_path) in message
    assert str(other) in message
    assert not other.exists()


async def test_to_thread_keeps_the_event_loop_free(clickhouse_url):
    client = connect(clickhouse_url)
    loop_thread = threading.get_ident()

    def blocking_query() -> tuple[int, int]:
        return threading.get_ident(), client.query("SELECT 7").result_rows[0][0]

    worker_thread, value = await to_thread(blocking_query)
    assert value == 7
    assert worker_thread != loop_thread
