"""Tunnel wave (2026.11.23.2): a burst of joins most of which came through a tunnel (a long
round trip on a fast link, ``netpath.long_fast_path``): a campaign's wave through one proxy
service with sticky exits, next to a raid whose people come from their own lines."""

from __future__ import annotations

from detect_builders import FIREFOX_JA4, FIREFOX_UA, T0, Viewer, run
from test_rules_rotation2 import audience, timed

WAVE_AT = T0 + 200.0  # the channel's join rate is known by then (five minutes of history)


def wave(n: int, prefix: str, spread: float = 20.0, **kw) -> list[Viewer]:
    """``n`` viewers landing within ``spread`` s, each on a home line (address and network) of
    its own, played visibly for six minutes."""
    return [
        Viewer(
            f"{prefix}-{i}",
            start=WAVE_AT + i * spread / n,
            duration=360.0,
            ip=f"{70 + i % 20}.{i}.{len(prefix)}.9",
            asn=20000 + i,
            viewport=(1280 + 16 * i, 720),
            **kw,
        )
        for i in range(n)
    ]


def final_of(*groups: tuple[list[Viewer], int, float]) -> dict:
    evs = [e for vs, floor, mbps in groups for v in vs for e in timed(v, floor, mbps)]
    evs.extend(e for a in audience(8) for e in timed(a, 25, 40.0))
    return run(sorted(evs, key=lambda e: e.ts))


def test_a_wave_through_one_proxy_service_is_read() -> None:
    bots = wave(14, "camp", rendition="1080p60", muted=False)
    final = final_of((bots, 210, 20.0))
    for v in bots:
        d = final[v.session_id]
        assert "tunnel_wave" in d.reasons, (d.reasons, d.features)
        assert d.features["tunnel_wave_share"] >= 0.6
        assert d.action != "count", (d.score, d.reasons)


def test_a_raid_with_a_few_people_on_vpns_is_not_read() -> None:
    # Fourteen raiders: ten on home lines, four through a VPN or from far away.
    home = wave(10, "home", rendition="1080p60")
    far = wave(4, "far", rendition="1080p60")
    final = final_of((home, 30, 40.0), (far, 210, 20.0))
    for v in home + far:
        d = final[v.session_id]
        assert "tunnel_wave" not in d.reasons, (v.session_id, d.reasons, d.features)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_tunnel_users_arriving_one_by_one_are_no_wave() -> None:
    # The same fourteen tunnel paths, but arriving a minute apart: no burst, no wave.
    spread = wave(14, "slow", spread=14 * 60.0, rendition="1080p60")
    final = final_of((spread, 210, 20.0))
    for v in spread:
        assert "tunnel_wave" not in final[v.session_id].reasons, final[v.session_id].features


def test_a_wave_of_tor_browsers_is_not_read() -> None:
    # Tor Browser's circuits make a long path for every user of it; a watch party on Tor is
    # a wave of people, not of one proxy service.
    tor = wave(14, "tor", ua=FIREFOX_UA, ja4=FIREFOX_JA4, rendition="1080p60")
    final = final_of((tor, 300, 10.0))
    for v in tor:
        assert "tunnel_wave" not in final[v.session_id].reasons, final[v.session_id].features
