"""GET/POST/DELETE /api/v1/overrides: validated, normalised, TTL turned into expires_at."""

from __future__ import annotations

import time

import pytest
from api_harness import READ, WRITE

PATH = "/api/v1/overrides"


def override(**changes):
    body = {
        "scope": "ip",
        "value": "203.0.113.7",
        "verdict": "block",
        "reason": "INC-42 viewbot farm",
        "ttl": 3600,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


async def test_add_list_and_remove(api, services):
    before = time.time()
    _, created, _ = await api.post(PATH, json=override(), headers=WRITE, expect=201)
    after = time.time()
    assert created["scope"] == "ip" and created["value"] == "203.0.113.7"
    assert created["verdict"] == "block" and created["reason"] == "INC-42 viewbot farm"
    assert before <= created["created_at"] <= after
    assert created["expires_at"] == pytest.approx(created["created_at"] + 3600)
    assert created["created_by"].startswith("token:")
    assert len(created["override_id"]) == 32

    _, listed, _ = await api.get(PATH, headers=READ, expect=200)
    assert listed == {"overrides": [created]}

    _, removed, _ = await api.delete(f"{PATH}/{created['override_id']}", headers=WRITE, expect=200)
    assert removed == {"removed": created["override_id"]}
    _, listed, _ = await api.get(PATH, headers=READ, expect=200)
    assert listed == {"overrides": []}
    assert [a for a, _ in services.audit] == ["add_override", "remove_override"]


async def test_remove_by_query_parameter_and_unknown_id(api):
    _, created, _ = await api.post(PATH, json=override(), headers=WRITE, expect=201)
    await api.delete(PATH, params={"id": created["override_id"]}, headers=WRITE, expect=200)
    _, error, _ = await api.delete(f"{PATH}/{created['override_id']}", headers=WRITE, expect=404)
    assert "no override with id" in error["error"]
    await api.delete(PATH, headers=WRITE, expect=422)  # no id at all


@pytest.mark.parametrize(
    "scope, value, stored",
    [
        ("subnet24", "198.51.100.77", "198.51.100.0/24"),
        ("subnet24", "198.51.100.0/24", "198.51.100.0/24"),
        ("subnet24", "2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("ip", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("asn", 64500, "64500"),
        ("asn", "AS64500", "64500"),
        ("session", " s-1 ", "s-1"),
        ("channel", "chan-9", "chan-9"),
    ],
)
async def test_values_are_normalised_to_what_the_policy_matches(api, scope, value, stored):
    _, created, _ = await api.post(
        PATH, json=override(scope=scope, value=value, verdict="allow"), headers=WRITE, expect=201
    )
    assert created["value"] == stored


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"scope": "planet"}, "scope must be one of"),
        ({"scope": ...}, "scope must be one of"),
        ({"verdict": "maybe"}, "verdict must be allow or block"),
        ({"value": "999.1.1.1"}, "not an IPv4 or IPv6 address"),
        ({"value": "10.0.0.0/8"}, "an ip override takes one address"),
        ({"scope": "subnet24", "value": "10.0.0.0/16"}, "cover a /24 network"),
        ({"scope": "asn", "value": "cloud"}, "not an AS number"),
        ({"scope": "session", "value": ""}, "value is required"),
        ({"scope": "session", "value": "a\nb"}, "control characters"),
        ({"ttl": ...}, "ttl is required"),
        ({"ttl": 0}, "ttl must be between"),
        ({"ttl": 10**9}, "ttl must be between"),
        ({"ttl": "3600"}, "ttl is required"),
        ({"reason": ...}, "reason is required"),
        ({"reason": "   "}, "reason is required"),
        ({"reason": "x" * 501}, "reason is longer than 500"),
        ({"created_by": "mallory"}, "unknown field(s): created_by"),
    ],
)
async def test_invalid_overrides_are_422(api, services, changes, fragment):
    _, error, _ = await api.post(PATH, json=override(**changes), headers=WRITE, expect=422)
    assert fragment in error["error"]
    assert await services.list_overrides() == []


async def test_non_object_body_is_422_and_bad_json_400(api):
    await api.post(PATH, json=["ip"], headers=WRITE, expect=422)
    await api.post(PATH, data=b"scope=ip", headers=WRITE, expect=400)
