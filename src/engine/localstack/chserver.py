"""A ClickHouse HTTP interface served by chDB in a process of its own.

Why: chDB runs inside the process that opens it, one process per data directory. That process
can never become "unreachable" (so the worker's outage handling cannot be exercised), and no
second process (cockpit, ``vbg-engine migrate``) can open the same directory. Serving the
directory over ClickHouse's HTTP protocol from one small process fixes both on a machine without
a ClickHouse server binary: every tool connects with ``CLICKHOUSE_URL=http://127.0.0.1:PORT``.

    python -m engine.localstack.chserver --path DIR --host 127.0.0.1 --port 8123

The subset of the HTTP interface clickhouse-connect's HTTP client uses:

* ``GET|HEAD /ping`` and ``/replicas_status`` answer ``Ok.``.
* ``GET|POST /``: the statement is the ``query`` URL parameter followed by the request body
  (or a urlencoded/multipart form field ``query``). ``database``, ``default_format``,
  ``query_id`` and bound parameters ``param_NAME`` are honoured; every other URL parameter that
  is not a transport parameter is a query-level setting (``insert_deduplication_token``,
  ``max_result_rows``...), applied to this request only.
* ``INSERT INTO t [(cols)] [SETTINGS ...] FORMAT F`` followed by data in any input format chDB
  knows (Native, RowBinary, JSONEachRow, TSV...): the data goes through a temporary file and
  ``INSERT ... FROM INFILE``, as clickhouse-connect's own chDB backend does.
* Request bodies compressed with ``Content-Encoding`` lz4 (frames), zstd, gzip, deflate or br.
  Responses are never compressed (``Accept-Encoding`` is ignored, which HTTP allows).
* Responses carry ``X-ClickHouse-Query-Id``, ``X-ClickHouse-Summary``, ``X-ClickHouse-Timezone``
  and, for statements with a result, ``X-ClickHouse-Format``. Errors answer with a non-200 status,
  ``X-ClickHouse-Exception-Code`` and ClickHouse's ``Code: N. DB::Exception: ...`` body.

Refused with a clean ClickHouse error (NOT_IMPLEMENTED): external data tables, ClickHouse's own
block compression (``compress=1``/``decompress=1``). Not implemented: authentication (any user is
accepted; bind to loopback), sessions (``session_id`` is accepted but every request runs on a
fresh chDB connection, so ``SET`` and temporary tables do not outlive the request), streaming
(results are buffered), progress headers. Requests run one at a time on a single engine thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# URL parameters that shape the HTTP exchange rather than the query: never sent to the engine.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "query_id",
        "user",
        "password",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "enable_http_compression",
        "http_zlib_compression_level",
        "cancel_http_readonly_queries_on_client_close",
        "compress",
        "decompress",
        "stacktrace",
    }
)

NOT_IMPLEMENTED = 48
BAD_ARGUMENTS = 36
CANNOT_DECOMPRESS = 271
SYNTAX_ERROR = 62

# ClickHouse's HTTPHandler maps some exception codes to 4xx statuses; everything else is 500.
# 429/503/504 are avoided on purpose: clickhouse-connect retries those.
_HTTP_STATUS = {
    **dict.fromkeys((36, 62, 26, 27, 6, 38, 41, 53, 69, 72, 115, 117, 271), 400),
    **dict.fromkeys((516, 164, 497), 403),
    **dict.fromkeys((60, 81, 46, 47, 16), 404),
}

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"Code: (\d+)\.")
_COMMENT = re.compile(rb"\A(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)
# INSERT ... FORMAT F: the head may not hold VALUES/SELECT (those carry their data inline).
_INSERT_FORMAT = re.compile(
    rb"\A(INSERT\s+INTO\s+(?:(?!\bVALUES\b|\bSELECT\b|\bFORMAT\b).)+?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_INSERT_SETTINGS = re.compile(rb"\s\bSETTINGS\s+(.*)\Z", re.IGNORECASE | re.DOTALL)
_TRAILING_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.IGNORECASE)
_RESULT_KEYWORDS = frozenset(
    {b"SELECT", b"WITH", b"SHOW", b"DESCRIBE", b"DESC", b"EXISTS", b"EXPLAIN", b"CHECK", b"("}
)
_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
}


class ClickHouseError(Exception):
    """A ClickHouse-style failure: a numeric code and a one-line message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Statement:
    """One HTTP request, parsed: what to run, with which settings, and the insert data if any."""

    sql: bytes
    database: str | None = None
    default_format: str = "TabSeparated"
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    insert_head: bytes | None = None  # INSERT INTO t (cols)
    insert_settings: bytes | None = None  # the statement's own SETTINGS clause
    insert_format: str | None = None
    data: bytes = b""


@dataclass
class Outcome:
    body: bytes
    format: str | None
    summary: dict[str, str]


def decompress_body(data: bytes, encoding: str) -> bytes:
    """Undo ``Content-Encoding`` (clickhouse-connect sends one lz4 frame per block)."""
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return data
        if encoding == "lz4":
            import lz4.frame

            out = []
            rest = data
            while rest:
                dec = lz4.frame.LZ4FrameDecompressor()
                out.append(dec.decompress(rest))
                if not dec.eof:
                    raise ValueError("truncated lz4 frame")
                rest = dec.unused_data
            return b"".join(out)
        if encoding == "zstd":
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError:
                from backports import zstd  # type: ignore[no-redef]
            return zstd.decompress(data)
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(data)
        if encoding == "deflate":
            return zlib.decompress(data)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return brotli.decompress(data)
    except ImportError:
        pass
    except Exception as exc:
        raise ClickHouseError(
            CANNOT_DECOMPRESS, f"cannot decompress the {encoding} request body: {exc}"
        ) from None
    raise ClickHouseError(NOT_IMPLEMENTED, f"unsupported Content-Encoding {encoding!r}")


def parse_statement(params: dict[str, str], body: bytes) -> Statement:
    """Split an HTTP request into statement, settings, bound parameters and insert data."""
    if params.get("compress") in ("1", "true") or params.get("decompress") in ("1", "true"):
        raise ClickHouseError(
            NOT_IMPLEMENTED, "ClickHouse block compression (compress/decompress) is not supported"
        )
    stmt = Statement(sql=b"")
    stmt.database = params.get("database") or None
    stmt.default_format = params.get("default_format") or "TabSeparated"
    for key, value in params.items():
        if key.startswith("param_"):
            stmt.params[key[6:]] = value
        elif key not in TRANSPORT_PARAMS:
            if not _SETTING_NAME.match(key):
                raise ClickHouseError(BAD_ARGUMENTS, f"invalid setting name {key!r}")
            stmt.settings[key] = value
    query = params.get("query", "").encode()
    head = _COMMENT.sub(b"", query) if query else b""
    if head:
        match = _INSERT_FORMAT.match(head)
        if match and match.end() >= len(head.rstrip()):
            _set_insert(stmt, match)
            stmt.data = body
            return stmt
        stmt.sql = query + (b"\n" + body if body else b"")
        return stmt
    head = _COMMENT.sub(b"", body)
    match = _INSERT_FORMAT.match(head[:65536])
    if match:
        _set_insert(stmt, match)
        stmt.data = head[match.end() :]
        return stmt
    if not head.strip():
        raise ClickHouseError(SYNTAX_ERROR, "Empty query")
    stmt.sql = body
    return stmt


def _set_insert(stmt: Statement, match: re.Match[bytes]) -> None:
    target = match.group(1)
    extra = _INSERT_SETTINGS.search(target)
    if extra:
        stmt.insert_settings = extra.group(1).strip()
        target = target[: extra.start()]
    stmt.insert_head = target.strip()
    stmt.insert_format = match.group(2).decode()


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _error_from(exc: BaseException) -> ClickHouseError:
    text = " ".join(str(exc).split())
    idx = text.find("Code: ")
    if idx > 0:
        text = text[idx:]
    match = _CODE.search(text)
    return ClickHouseError(int(match.group(1)) if match else 1001, text or type(exc).__name__)


class Engine:
    """The chDB engine of one data directory; each request gets a fresh connection handle so
    its database and settings cannot leak into the next one."""

    def __init__(self, path: str) -> None:
        import chdb

        self._chdb = chdb
        self.path = path
        self._base = chdb.connect(path)  # keeps the engine open for the process lifetime
        self.timezone = self._base.query("SELECT timezone()", "TabSeparated").bytes().decode()
        self.timezone = self.timezone.strip() or "UTC"
        self.version = self._base.query("SELECT version()", "TabSeparated").bytes().decode()
        self.version = self.version.strip()

    def close(self) -> None:
        self._base.close()

    def execute(self, stmt: Statement) -> Outcome:
        conn = self._chdb.connect(self.path)
        try:
            return self._execute(conn, stmt)
        except ClickHouseError:
            raise
        except Exception as exc:
            raise _error_from(exc) from None
        finally:
            conn.close()

    def _execute(self, conn: Any, stmt: Statement) -> Outcome:
        if stmt.database:
            conn.query(f"USE {_quote_identifier(stmt.database)}", "TabSeparated")
        # readonly goes last: once it is set, no other setting may change.
        for name, value in sorted(stmt.settings.items(), key=lambda kv: kv[0] == "readonly"):
            conn.query(f"SET {name} = {_quote(value)}", "TabSeparated")
        if stmt.insert_head is not None:
            return self._insert(conn, stmt)
        match = _TRAILING_FORMAT.search(stmt.sql)
        fmt = match.group(1).decode() if match else stmt.default_format
        result = conn.query(stmt.sql, fmt, params=stmt.params)
        produces = match is not None or _first_keyword(stmt.sql) in _RESULT_KEYWORDS
        return Outcome(result.bytes() or b"", fmt if produces else None, _summary(result))

    def _insert(self, conn: Any, stmt: Statement) -> Outcome:
        fd, name = tempfile.mkstemp(prefix="chserver-", suffix=".in")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(stmt.data)
            sql = stmt.insert_head + b" FROM INFILE " + _quote(name).encode()
            if stmt.insert_settings:
                sql += b" SETTINGS " + stmt.insert_settings
            sql += b" FORMAT " + (stmt.insert_format or "Native").encode()
            result = conn.query(sql.decode("utf-8", "replace"), "TabSeparated", params=stmt.params)
            summary = _summary(result)
            written = _stat(result, "rows_written") or _stat(result, "rows_read")
            summary["written_rows"] = str(written)
            summary["written_bytes"] = str(_stat(result, "bytes_written") or len(stmt.data))
            return Outcome(b"", None, summary)
        finally:
            os.unlink(name)


def _first_keyword(sql: bytes) -> bytes:
    head = _COMMENT.sub(b"", sql)
    if head.startswith(b"("):
        return b"("
    match = re.match(rb"\w+", head)
    return match.group(0).upper() if match else b""


def _stat(result: Any, name: str) -> int:
    try:
        return int(getattr(result, name)())
    except Exception:
        return 0


def _summary(result: Any) -> dict[str, str]:
    elapsed = 0.0
    with contextlib.suppress(Exception):
        elapsed = float(result.elapsed())
    return {
        "read_rows": str(_stat(result, "rows_read")),
        "read_bytes": str(_stat(result, "bytes_read")),
        "written_rows": str(_stat(result, "rows_written")),
        "written_bytes": str(_stat(result, "bytes_written")),
        "total_rows_to_read": "0",
        "result_rows": "0",
        "result_bytes": str(_stat(result, "size")),
        "elapsed_ns": str(int(elapsed * 1e9)),
    }


class Server:
    """aiohttp handlers over one :class:`Engine`, queries serialised on one thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chdb")
        self.display_name = socket.gethostname()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/ping", self.ping)
        app.router.add_route("*", "/replicas_status", self.ping)
        app.router.add_route("*", "/", self.query)
        app.router.add_route("*", "/{tail:.*}", self.not_found)
        return app

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(text="Ok.\n")

    async def not_found(self, request: web.Request) -> web.Response:
        return self._error(
            ClickHouseError(BAD_ARGUMENTS, f"there is no handler for {request.path}"),
            "",
            status=404,
        )

    async def query(self, request: web.Request) -> web.Response:
        query_id = request.query.get("query_id") or str(uuid.uuid4())
        try:
            if request.method not in ("GET", "POST", "HEAD"):
                raise ClickHouseError(BAD_ARGUMENTS, f"method {request.method} is not allowed")
            params, body = await self._read(request)
            stmt = parse_statement(params, body)
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self.pool, self.engine.execute, stmt)
        except ClickHouseError as exc:
            return self._error(exc, query_id)
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Summary": json.dumps(outcome.summary, separators=(",", ":")),
            "X-ClickHouse-Timezone": self.engine.timezone,
            "X-ClickHouse-Server-Display-Name": self.display_name,
        }
        content_type = "text/plain; charset=UTF-8"
        if outcome.format:
            headers["X-ClickHouse-Format"] = outcome.format
            content_type = _CONTENT_TYPES.get(outcome.format, "application/octet-stream")
        headers["Content-Type"] = content_type
        return web.Response(body=outcome.body, headers=headers)

    async def _read(self, request: web.Request) -> tuple[dict[str, str], bytes]:
        params = {k: v for k, v in request.query.items()}
        if request.method != "POST":
            return params, b""
        ctype = request.content_type
        if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if not isinstance(value, str):
                    raise ClickHouseError(
                        NOT_IMPLEMENTED, "external data (file parts) is not supported"
                    )
                params[key] = value
            return params, b""
        body = await request.read()
        return params, decompress_body(body, request.headers.get("Content-Encoding", ""))

    def _error(
        self, exc: ClickHouseError, query_id: str, status: int | None = None
    ) -> web.Response:
        message = str(exc)
        if not message.startswith("Code: "):
            message = f"Code: {exc.code}. DB::Exception: {message}"
        text = f"{message} (version {self.engine.version})\n"
        return web.Response(
            status=status or _HTTP_STATUS.get(exc.code, 500),
            text=text,
            headers={
                "X-ClickHouse-Exception-Code": str(exc.code),
                "X-ClickHouse-Query-Id": query_id,
            },
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.localstack.chserver",
        description="Serve a chDB data directory over ClickHouse's HTTP interface.",
    )
    parser.add_argument("--path", required=True, help="chDB data directory (created if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args(argv)
    try:
        os.makedirs(args.path, exist_ok=True)
        engine = Engine(os.path.realpath(args.path))
    except Exception as exc:
        print(f"chserver: cannot open chDB at {args.path}: {_one_line(exc)}", file=sys.stderr)
        return 1
    server = Server(engine)
    started = time.monotonic()

    async def serve() -> None:
        # Bodies are decoded here (lz4 too), so aiohttp must not decode gzip/zstd/br first.
        runner = web.AppRunner(
            server.app(), access_log=None, handle_signals=False, auto_decompress=False
        )
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise SystemExit(
                f"chserver: cannot listen on {args.host}:{args.port}: {exc.strerror}"
            ) from None
        print(
            f"chserver pid {os.getpid()}: {engine.path} (chDB {engine.version}) "
            f"on http://{args.host}:{args.port} "
            f"ready in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    try:
        asyncio.run(serve())
    finally:
        server.pool.shutdown(wait=True)
        engine.close()
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
