from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from api_harness import ApiClient, RedisServices, start_client


@pytest.fixture
async def services(redis_url: str) -> AsyncIterator[RedisServices]:
    svc = RedisServices(redis_url)
    yield svc
    await svc.close()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., Awaitable[ApiClient]]]:
    closers: list[Callable[[], Any]] = []

    async def make(services: Any, **kwargs: Any) -> ApiClient:
        client, close = await start_client(services, **kwargs)
        closers.append(close)
        return client

    yield make
    for close in closers:
        await close()


@pytest.fixture
async def api(services: RedisServices, make_client) -> ApiClient:
    return await make_client(services)
