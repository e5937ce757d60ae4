"""Reading request bodies with a size limit, so no client can make the engine buffer unbounded data."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from engine.api.errors import ApiError

_MISSING = object()


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The raw body; 413 as soon as it is known to exceed ``max_bytes``."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise ApiError(413, f"request body of {declared} bytes exceeds the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body exceeds the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, max_bytes: int, default: Any = _MISSING) -> Any:
    """The decoded JSON body; 400 if empty (unless ``default`` is given) or not valid JSON."""
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        if default is _MISSING:
            raise ApiError(400, "request body is empty; expected JSON")
        return default
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply") from None
