"""GET /api/v1/sessions/{id}: the engine's view of one session, 404 when unknown."""

from __future__ import annotations

from api_harness import READ


async def test_known_session(api, services):
    view = {
        "session_id": "s-1",
        "channel_id": "c-1",
        "score": 0.91,
        "action": "block",
        "reasons": ["segment_cadence_robotic"],
        "features": {"segment_rate": 0.5},
        "recent_decisions": [],
    }
    await services.put_session("s-1", view)
    _, body, _ = await api.get("/api/v1/sessions/s-1", headers=READ, expect=200)
    assert body == view


async def test_unknown_session_is_404(api):
    _, error, _ = await api.get("/api/v1/sessions/nobody", headers=READ, expect=404)
    assert error["error"] == "unknown session 'nobody'"


async def test_overlong_session_id_is_422(api):
    await api.get("/api/v1/sessions/" + "x" * 300, headers=READ, expect=422)
