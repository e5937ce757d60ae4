"""JSON errors and the guard every API handler runs inside.

Each handler is wrapped (rather than relying on an application middleware) so the guarantees
hold on any aiohttp Application the routes are mounted on, including Faust's web server:
every response is counted, every 4xx/5xx counts as an API error, aiohttp's own HTTP exceptions
become ``{"error": ...}``, and any unexpected exception becomes ``500 {"error": "internal
error"}`` with the traceback logged (tokens scrubbed), never sent.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import web

from engine import metrics
from engine.api.codecs import Invalid, json_response

log = logging.getLogger("engine.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An expected failure: becomes ``{"error": message, **extra}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def error_response(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> web.Response:
    return json_response({"error": message, **(extra or {})}, status=status, headers=headers)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def guarded(handler: Handler, route: str, secrets: Callable[[], Iterable[str]]) -> Handler:
    """Wrap ``handler``: JSON errors, request/error counters and latency for ``route``."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.message, exc.headers, exc.extra)
        except Invalid as exc:
            extra = {"details": exc.details} if exc.details else None
            response = error_response(422, exc.message, extra=extra)
        except web.HTTPException as exc:
            headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
            response = error_response(exc.status, exc.reason or "error", headers)
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc))
            log.error(
                "unhandled error in %s %s: %s",
                request.method,
                route,
                _scrub(detail, secrets()),
            )
            response = error_response(500, "internal error")
        metrics.API_REQUESTS.inc()
        if response.status >= 400:
            metrics.API_ERRORS.inc()
        if isinstance(response, web.Response):  # not for SSE streams, whose life is the client's
            metrics.API_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response

    return wrapper
