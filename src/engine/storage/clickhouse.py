"""Open ClickHouse from a URL: a server over HTTP(S), or chDB embedded in this process.

``chdb://PATH`` runs the ClickHouse engine in-process on the data directory PATH (relative paths
are resolved against the working directory; ``chdb://:memory:`` keeps nothing). chDB can host
one data path per process, so the embedded client is opened once and shared; asking for a second,
different path is a :class:`StorageError` rather than a crash deep inside chDB.

``http(s)://user:password@host:port/database`` talks to a ClickHouse server (default ports 8123
and 8443). Connection problems are reported as one-line :class:`StorageError` messages with the
password redacted.

Clients return timestamps as timezone-aware UTC datetimes. clickhouse-connect and chDB calls
block; from async code run them with :func:`to_thread`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

P = ParamSpec("P")
T = TypeVar("T")

MEMORY = ":memory:"
DEFAULT_PORTS = {"http": 8123, "https": 8443}


class StorageError(Exception):
    """ClickHouse is unreachable, misconfigured or refused a statement; the message is one line."""


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where a ClickHouse URL points."""

    scheme: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        if self.embedded:
            return f"chdb://{self.path}"
        user = f"{self.username}@" if self.username else ""
        db = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}{db}"


def parse_url(url: str) -> ClickHouseTarget:
    """Parse ``chdb://PATH`` or ``http(s)://[user[:password]@]host[:port][/database]``."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("chdb", "http", "https"):
        raise StorageError(
            f"ClickHouse URL {_redact(url)!r} must start with chdb://, http:// or https://"
        )
    if scheme == "chdb":
        raw_path = unquote(rest.split("?", 1)[0])
        if raw_path in ("", "/"):
            raise StorageError("ClickHouse URL chdb:// needs a data path, e.g. chdb://./var/chdb")
        if raw_path in (MEMORY, "memory"):
            return ClickHouseTarget(scheme="chdb", path=MEMORY)
        return ClickHouseTarget(scheme="chdb", path=os.path.realpath(os.path.expanduser(raw_path)))
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise StorageError(f"ClickHouse URL {_redact(url)!r} has an invalid port") from None
    if not parts.hostname:
        raise StorageError(f"ClickHouse URL {_redact(url)!r} has no host")
    database = unquote(parts.path.strip("/")) or None
    if database and "/" in database:
        raise StorageError(f"ClickHouse URL {_redact(url)!r}: the path must be one database name")
    return ClickHouseTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=database,
    )


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        creds, _, hostport = netloc.rpartition("@")
        user = creds.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in creds else f"{user}@{hostport}"
    return f"{scheme}{sep}{netloc}{slash}{tail}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _reason(exc: BaseException) -> str:
    """The innermost OS-level cause (refused, unknown host, timeout) if any, else the message."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        if isinstance(cause, TimeoutError):
            return "timed out"
        cause = cause.__cause__ or cause.__context__
    return _one_line(exc)


_chdb_lock = threading.Lock()
_chdb_client: tuple[str, Client] | None = None


def connect(
    url: str,
    *,
    use_database: bool = True,
    connect_timeout: float = 5.0,
    send_receive_timeout: float | None = None,
) -> Client:
    """A clickhouse-connect client for ``url``.

    ``use_database=False`` ignores the database in an HTTP URL, for tools such as ``migrate``
    that create that database and use fully qualified names. ``send_receive_timeout`` bounds one
    HTTP request (clickhouse-connect's default is 300 s). The embedded chDB client is cached
    per process and shared by every caller.
    """
    target = parse_url(url)
    if target.embedded:
        return _connect_chdb(target)
    return _connect_http(
        target,
        use_database=use_database,
        connect_timeout=connect_timeout,
        send_receive_timeout=send_receive_timeout,
    )


def _connect_http(
    target: ClickHouseTarget,
    *,
    use_database: bool,
    connect_timeout: float,
    send_receive_timeout: float | None = None,
):
    import clickhouse_connect

    extra = {} if send_receive_timeout is None else {"send_receive_timeout": send_receive_timeout}
    try:
        return clickhouse_connect.get_client(
            interface=target.scheme,
            host=target.host,
            port=target.port,
            username=target.username or "default",
            password=target.password or "",
            database=target.database if use_database else None,
            connect_timeout=connect_timeout,
            query_retries=0,
            tz_mode="aware",
            **extra,
        )
    except Exception as exc:
        raise StorageError(f"cannot connect to {target.describe()}: {_reason(exc)}") from None


def _connect_chdb(target: ClickHouseTarget):
    global _chdb_client
    path = target.path or MEMORY
    with _chdb_lock:
        if _chdb_client is not None:
            open_path, client = _chdb_client
            if open_path == path:
                return client
            raise StorageError(
                f"chDB already has {open_path} open in this process and allows one data path "
                f"per process; cannot also open {path}"
            )
        import clickhouse_connect

        try:
            client = clickhouse_connect.get_client(interface="chdb", path=path, tz_mode="aware")
        except Exception as exc:
            raise StorageError(f"cannot open chDB at {path}: {_one_line(exc)}") from None
        _chdb_client = (path, client)
        return client


async def to_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking ClickHouse call in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)
