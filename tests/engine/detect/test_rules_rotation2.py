"""Proxy path (2026.11.13): a player whose requests take a tunnel's round trip on a fast
link (``long_fast_path``) and that does nothing a person or an adaptive player does, next to the
people with a high round trip too: slow and congested lines, geostationary satellite, phones on
cellular, Tor Browser, and a person on such a path who touches the tab now and then."""

from __future__ import annotations

import msgspec
from detect_builders import FIREFOX_JA4, FIREFOX_UA, T0, Viewer, events, run

from engine.detect.clients import HOSTING_ASNS, MOBILE_ASNS
from engine.schemas import CdnLog


def audience(n: int = 4) -> list[Viewer]:
    # Ordinary viewers, one network each: they teach the channel its segment duration and its
    # ladder (480p to 1080p).
    return [
        Viewer(
            f"aud-{i}",
            start=T0 - 400.0 + i * 40.0,
            duration=1500.0,
            ip=f"86.{i}.9.9",
            asn=3000 + i,
            rendition=("1080p60", "720p30", "480p30")[i % 3],
        )
        for i in range(n)
    ]


def timed(v: Viewer, floor_ms: int, mbps: float) -> list:
    """``v``'s events with CDN timings of a path: every response takes ``floor_ms`` plus its
    bytes at ``mbps`` (a playlist's few hundred bytes: the floor, nearly)."""
    out = []
    for i, e in enumerate(events(v)):
        if isinstance(e, CdnLog):
            took = floor_ms + (i % 7) + int(e.bytes_sent * 8 / (mbps * 1e6) * 1000)
            e = msgspec.structs.replace(e, duration_ms=took)
        out.append(e)
    return out


def final_of(*pairs: tuple[Viewer, int, float]) -> dict:
    evs = [e for v, floor, mbps in pairs for e in timed(v, floor, mbps)]
    for a in audience():
        evs.extend(timed(a, 25, 40.0))
    return run(sorted(evs, key=lambda e: e.ts))


def viewer(sid: str, **kw) -> Viewer:
    # A full-size desktop Chrome on a home ISP, muted, never touched, seven minutes at one low
    # rung (a proxy's traffic is paid per gigabyte).
    base = dict(
        start=T0,
        duration=420.0,
        ip=f"71.{len(sid)}.3.4",
        asn=701,
        muted=True,
        rendition="480p30",
    )
    base.update(kw)
    return Viewer(sid, **base)


# ---- the proxied players


def test_a_tunnel_under_an_untouched_player_suppresses() -> None:
    d = final_of((viewer("tun"), 220, 12.0))["tun"]
    assert "proxy_path" in d.reasons, (d.reasons, d.features)
    assert d.action != "count", (d.score, d.reasons)
    # the measurement behind it travels with the decision (the on-call engineer's evidence)
    assert 220 <= d.features["playlist_floor_ms"] < 230, d.features


def test_unmuted_too() -> None:
    # Stealth browsers that never mute (round 1 read only the muted ones as untouched).
    d = final_of((viewer("loud", muted=False), 160, 8.0))["loud"]
    assert "proxy_path" in d.reasons, (d.reasons, d.features)
    assert d.action != "count"


def test_with_stalls_it_is_not_read() -> None:
    # A struggling line stalls; so does an overloaded farm machine, but that is not the tunnel.
    d = final_of((viewer("stally", stalls=3), 220, 12.0))["stally"]
    assert "proxy_path" not in d.reasons, (d.reasons, d.features)
    assert d.action == "count", (d.score, d.reasons)


def test_a_person_far_from_the_edge_whose_player_climbs_to_the_top_rung() -> None:
    # A fast line 220 ms from the CDN edge (another continent), watched attentively: the
    # adaptive player uses the link's speed and plays the top rung. Seed 1402's simulated
    # low-bandwidth viewer with a 223 ms floor at 24 Mbit/s was suppressed before this check.
    d = final_of((viewer("far", rendition="1080p60", muted=False), 220, 24.0))["far"]
    assert "proxy_path" not in d.reasons, (d.reasons, d.features)
    assert d.action == "count", (d.score, d.reasons)


# ---- the people


def test_home_lines_are_not_read() -> None:
    d = final_of((viewer("home"), 30, 40.0))["home"]
    assert "proxy_path" not in d.reasons, d.reasons
    assert d.action == "count"


def test_a_slow_line_has_a_high_floor_but_a_slow_link() -> None:
    d = final_of((viewer("dsl"), 220, 2.0))["dsl"]
    assert "proxy_path" not in d.reasons, (d.reasons, d.features)
    assert d.action == "count"


def test_geostationary_satellite_is_not_a_tunnel() -> None:
    d = final_of((viewer("sat"), 640, 20.0))["sat"]
    assert "proxy_path" not in d.reasons, d.reasons
    assert d.action == "count"


def test_a_person_on_a_long_path_who_switches_tabs() -> None:
    d = final_of((viewer("far", visible=False), 220, 12.0))["far"]
    assert "proxy_path" not in d.reasons, d.reasons
    assert d.action == "count"


def test_a_person_who_pauses() -> None:
    d = final_of((viewer("pause", pauses=[(200.0, 30.0)]), 220, 12.0))["pause"]
    assert "proxy_path" not in d.reasons, d.reasons
    assert d.action == "count"


def test_tor_browser_and_cellular_and_vpn_are_not_read() -> None:
    mobile = sorted(MOBILE_ASNS)[0]
    hosting = sorted(HOSTING_ASNS)[0]
    final = final_of(
        (viewer("tor", ua=FIREFOX_UA, ja4=FIREFOX_JA4), 300, 10.0),
        (viewer("cell", asn=mobile), 220, 12.0),
        (viewer("vpn", asn=hosting), 220, 12.0),
    )
    for sid in ("tor", "cell", "vpn"):
        assert "proxy_path" not in final[sid].reasons, (sid, final[sid].reasons)
    assert final["tor"].action == "count"
    assert final["cell"].action == "count"


def test_a_short_visit_is_not_read() -> None:
    d = final_of((viewer("short", duration=90.0), 220, 12.0))["short"]
    assert "proxy_path" not in d.reasons, d.reasons


# ---- isp_rotation: a residential pool's exits inside the audience's own ISP


def pooled(sid: str, **kw) -> Viewer:
    # A geo-targeted residential exit: a new /24 of the same US ISP every four minutes.
    base = dict(
        start=T0,
        duration=800.0,
        ip="71.10.3.4",
        asn=701,
        moves=[(200.0, "71.10.50.4", 701, "US"), (440.0, "71.10.90.4", 701, "US")],
    )
    base.update(kw)
    return Viewer(sid, **base)


def test_two_seamless_moves_inside_one_isp_over_a_tunnel_suppress() -> None:
    # Before 2026.11.13 each move read only as the medium seamless_address_change. A player that
    # touches its tab (no proxy_path) still gets it: the moves and the path are enough.
    d = final_of((pooled("pool", visible=False), 220, 12.0))["pool"]
    assert "isp_rotation" in d.reasons, (d.reasons, d.features)
    assert "proxy_path" not in d.reasons
    assert d.action != "count", (d.score, d.reasons)


def test_the_same_moves_on_a_home_path_are_an_isps_nat() -> None:
    # A carrier-grade NAT of a fixed-line ISP hands a home line blocks of its own too.
    d = final_of((pooled("cgn", visible=False), 30, 40.0))["cgn"]
    assert "isp_rotation" not in d.reasons, (d.reasons, d.features)


def test_a_reconnect_a_return_or_a_carrier_are_not_read() -> None:
    mobile = sorted(MOBILE_ASNS)[0]
    cases = {
        "lease": (pooled("lease", move_gap=6.0), 220, 12.0),  # each move costs a reconnect
        "nat": (  # a NAT pool alternating between its addresses
            pooled(
                "nat",
                moves=[
                    (200.0, "71.10.50.4", 701, "US"),
                    (300.0, "71.10.3.4", 701, "US"),
                    (440.0, "71.10.90.4", 701, "US"),
                ],
            ),
            220,
            12.0,
        ),
        "cell": (
            pooled(
                "cell",
                ip="100.64.3.4",
                asn=mobile,
                moves=[(200.0, "100.64.50.4", mobile, "US"), (440.0, "100.64.90.4", mobile, "US")],
            ),
            220,
            12.0,
        ),
    }
    for sid, case in cases.items():  # one at a time: together they would be a cohort
        case[0].visible = False  # a tab switched away: no proxy_path, only the moves are read
        d = final_of(case)[sid]
        assert "isp_rotation" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)
