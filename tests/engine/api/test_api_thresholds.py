"""GET/PUT /api/v1/config/thresholds: live values, strict validation (422), bad bodies (400/413)."""

from __future__ import annotations

import pytest
from api_harness import READ, START_THRESHOLDS, WRITE

PATH = "/api/v1/config/thresholds"


async def test_get_returns_the_live_thresholds(api):
    _, body, _ = await api.get(PATH, headers=READ, expect=200)
    assert body == {
        "suppress": START_THRESHOLDS.suppress,
        "challenge": START_THRESHOLDS.challenge,
        "block": START_THRESHOLDS.block,
    }


async def test_put_changes_them_for_every_reader(api, services):
    new = {"suppress": 0.55, "challenge": 0.7, "block": 0.9}
    _, body, _ = await api.put(PATH, json=new, headers=WRITE, expect=200)
    assert body == new
    _, body, _ = await api.get(PATH, headers=READ, expect=200)
    assert body == new
    assert (await services.get_thresholds()).challenge == 0.7  # stored in Redis


async def test_equal_thresholds_are_allowed(api):
    await api.put(
        PATH, json={"suppress": 0.7, "challenge": 0.7, "block": 0.7}, headers=WRITE, expect=200
    )


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"suppress": 0.8, "challenge": 0.6, "block": 0.9}, "suppress <= challenge <= block"),
        ({"suppress": 0.5, "challenge": 0.95, "block": 0.9}, "suppress <= challenge <= block"),
        ({"suppress": -0.1, "challenge": 0.6, "block": 0.9}, "suppress must be between 0 and 1"),
        ({"suppress": 0.1, "challenge": 0.6, "block": 1.5}, "block must be between 0 and 1"),
        ({"suppress": "0.1", "challenge": 0.6, "block": 0.9}, "suppress must be a number"),
        ({"suppress": True, "challenge": 0.6, "block": 0.9}, "suppress must be a number"),
        ({"suppress": None, "challenge": 0.6, "block": 0.9}, "suppress must be a number"),
        ({"challenge": 0.6, "block": 0.9}, "suppress is required"),
        ({"suppress": 0.1, "challenge": 0.6, "block": 0.9, "extra": 1}, "unknown field(s): extra"),
        ([0.1, 0.6, 0.9], "thresholds must be a JSON object"),
    ],
)
async def test_invalid_thresholds_are_422_and_change_nothing(api, services, body, fragment):
    _, error, _ = await api.put(PATH, json=body, headers=WRITE, expect=422)
    assert fragment in error["error"]
    assert await services.get_thresholds() == START_THRESHOLDS


@pytest.mark.parametrize(
    "raw, status, fragment",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "request body is empty"),
        (b'{"suppress": NaN}', 400, "not valid JSON"),
        (b"[" * 30_000 + b"]" * 30_000, 400, "nested too deeply"),
        (b'{"suppress": 0.1' + b" " * 70_000 + b"}", 413, "exceeds"),
    ],
)
async def test_unparseable_bodies(api, raw, status, fragment):
    headers = {**WRITE, "Content-Type": "application/json"}
    _, error, _ = await api.put(PATH, data=raw, headers=headers, expect=status)
    assert fragment in error["error"]
