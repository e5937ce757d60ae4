"""The API on a real aiohttp server, driven with httpx: shutdown ends open SSE streams."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web
from api_harness import READ, TOKENS

from engine.api.routes import ApiOptions, register
from engine.localstack.ports import free_port


async def test_server_shutdown_closes_sse_clients_instead_of_waiting(services):
    app = web.Application()
    register(app, services, TOKENS, ApiOptions(heartbeat_s=3600))  # no heartbeat to save us
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            health = await client.get("/api/v1/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            async with client.stream("GET", "/api/v1/decisions/stream", headers=READ) as resp:
                assert resp.status_code == 200
                lines = resp.aiter_lines()
                assert await anext(lines) == "retry: 3000"
                # The hook registered by register() ends the stream; cleanup must not hang
                # until aiohttp's shutdown timeout.
                await asyncio.wait_for(runner.cleanup(), 30)
                rest = [line async for line in lines]
                assert all(not line.startswith("data:") for line in rest)
        assert len(services.hub) == 0
    finally:
        await runner.cleanup()
