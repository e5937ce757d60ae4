"""Claims against delivery, network changes and arrival cadence: the rules added for bots that
look like people on every single field, and the people who share one of their traits."""

from __future__ import annotations

import random

import pytest
from detect_builders import (
    CHROME_JA4,
    FIREFOX_JA4,
    FIREFOX_UA,
    PROXY_JA4,
    ROKU_UA,
    T0,
    Viewer,
    merge,
    run,
)

from engine.detect import Detector, Policy
from engine.schemas import Decision


def audience(n: int = 3, **kw) -> list[Viewer]:
    return [
        Viewer(f"aud-{i}", start=T0 - 60.0 + i * 5.0, duration=600.0, ip=f"86.{i}.9.9", **kw)
        for i in range(n)
    ]


def final_of(viewer: Viewer) -> Decision:
    return run(merge(viewer, *audience()))[viewer.session_id]


ROTATION = [
    (i * 90.0, f"{70 + i}.{i}.3.4", (7922, 7018, 20115, 701, 22773)[i % 5], "US")
    for i in range(1, 7)
]

# (case id, session, reason expected, flags on its own)
CASES = [
    (
        "claims_1080p_fetches_160p",
        Viewer("b", rendition="160p30", claimed_rendition="1080p60"),
        "rendition_mismatch",
        True,
    ),
    (
        "playhead_three_times_the_clock",
        Viewer("b", playhead_rate=3.0, heartbeat_s=20.0),
        "playhead_too_fast",
        True,
    ),
    ("every_fifth_segment", Viewer("b", fetch_every=5), "segment_gaps", True),
    (
        "rotating_proxy",
        Viewer("b", moves=ROTATION, duration=700.0),
        "seamless_network_change",
        True,
    ),
    (
        "tv_in_a_data_centre",
        Viewer("b", ua=ROKU_UA, ja4="", ip="65.108.134.201", asn=24940, referer=""),
        "device_network_mismatch",
        False,
    ),
]


@pytest.mark.parametrize(
    ("viewer", "reason", "flags"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_claim_signal(viewer: Viewer, reason: str, flags: bool) -> None:
    decision = final_of(viewer)
    assert reason in decision.reasons, decision.reasons
    assert (decision.action != "count") is flags, (decision.score, decision.reasons)


def test_playhead_speed_needs_minutes_not_one_jump() -> None:
    # A DVR viewer skipping ahead once: one fast interval, then real time.
    d = final_of(Viewer("h", rewind=(100.0, 20)))
    assert "playhead_too_fast" not in d.reasons
    assert d.action == "count"


def test_starved_player_skipping_segments_is_only_medium() -> None:
    # A link too slow for the stream: downloads take longer than the segment lasts and the
    # player jumps ahead to stay live. Same gaps as a sampler, but the link explains them.
    slow = Viewer("h", fetch_every=3, segment_bytes=9_000_000, stalls=4)
    d = final_of(slow)
    assert "segment_gaps" in d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_rendition_switch_reported_with_the_fetch_is_no_mismatch() -> None:
    d = final_of(Viewer("h", rendition="720p60", claimed_rendition="720p30"))
    assert "rendition_mismatch" not in d.reasons


def drip(n: int = 26, every: float = 8.0) -> list[Viewer]:
    # A scheduler feeding a viewer into the channel every ~8 s from six addresses of one /24.
    return [
        Viewer(
            f"drip-{i}",
            ip=f"99.25.91.{10 + i % 6}",
            asn=7018,
            start=T0 + i * every + (i % 3) * 0.7,
            duration=600.0,
        )
        for i in range(n)
    ]


def test_slow_drip_from_six_addresses_of_one_subnet_is_context_only() -> None:
    # Since 2026.11.4 join_trickle is context: a steady beat of arrivals from six addresses of
    # one /24 is also what a campus NAT between classes looks like, so with the crowd it makes
    # (another context signal) it does not suppress. A drip on fresh addresses is an
    # arrival_cluster (test_arrivals.py).
    others = [Viewer(f"o-{i}", ip=f"24.{i}.1.1", start=T0 + i * 13.0) for i in range(30)]
    final = run(merge(*drip(), *others))
    late = [v.session_id for v in drip()[15:]]
    assert all("join_trickle" in final[sid].reasons for sid in late)
    assert all("arrival_cluster" not in final[sid].reasons for sid in late)
    assert all(final[sid].action == "count" for sid in late)
    assert all(final[v.session_id].action == "count" for v in others)


# --- people who share one trait with the bots above: never flagged ------------------------------


def campus_waves() -> list[Viewer]:
    # ~100 students behind four NAT addresses of one /24 (a TLS-inspecting proxy on some) and a
    # quarter on the campus IPv6 /48, arriving in waves at the start of lectures.
    rng = random.Random(7)
    viewers = []
    start = T0
    for i in range(100):
        wave, k = divmod(i, 25)
        start = T0 + wave * 500.0 if k == 0 else start + rng.expovariate(1 / 2.5)
        if i % 4 == 3:
            ip, asn = f"2607:f140:84d:{i:x}::{i + 1:x}", 25
        else:
            ip, asn = f"136.152.136.{20 + i % 4}", 25
        viewers.append(
            Viewer(
                f"campus-{i}",
                ip=ip,
                asn=asn,
                ja4=PROXY_JA4 if i % 3 == 0 else CHROME_JA4,
                start=start,
                duration=700.0,
            )
        )
    return viewers


def tv_apps() -> list[Viewer]:
    return [
        Viewer(
            f"tv-{i}",
            ua=ROKU_UA,
            ja4="",
            referer="",
            ip=f"73.{i}.4.4",
            heartbeat_s=30.0,
            heartbeat_jitter=0.0,
            jitter=0.0,
            viewport=(1920, 1080),
            start=T0 + i * 11.0,
            duration=900.0,
        )
        for i in range(6)
    ]


def privacy_browsers() -> list[Viewer]:
    # UA switchers and resistFingerprinting: the user agent says Firefox, the TLS stack Chrome.
    return [
        Viewer(f"priv-{i}", ua=FIREFOX_UA, ja4=CHROME_JA4, ip=f"81.{i}.7.7", telemetry=i % 2 == 0)
        for i in range(6)
    ]


def roamers() -> list[Viewer]:
    # Home Wi-Fi to cellular: new address and ASN, a few seconds with nothing, stalls.
    return [
        Viewer(
            f"roam-{i}",
            ip=f"98.{i}.2.2",
            asn=7922,
            moves=[(200.0 + i * 10, f"172.56.{i}.9", 21928, "US")],
            move_gap=4.0 + i,
            stalls=2,
            duration=600.0,
        )
        for i in range(4)
    ]


def tor_users() -> list[Viewer]:
    # A new exit (address, ASN, country) every 10-25 minutes, seamlessly.
    exits = [
        ("185.220.101.4", 60729, "DE"),
        ("171.25.193.9", 198093, "SE"),
        ("45.84.107.2", 208312, "NL"),
    ]
    viewers = []
    for i in range(3):
        moves = [
            (600.0 + 700.0 * k, *exits[(i + k + 1) % 3][:2], exits[(i + k + 1) % 3][2])
            for k in range(3)
        ]
        viewers.append(
            Viewer(
                f"tor-{i}",
                ua=FIREFOX_UA.replace("rv:125.0", "rv:128.0"),
                ja4=FIREFOX_JA4,
                ip=exits[i][0],
                asn=exits[i][1],
                country=exits[i][2],
                moves=moves,
                viewport=(1000, 600),
                duration=2800.0,
            )
        )
    return viewers


TRAPS = {
    "campus_nat_waves": campus_waves,
    "tv_app_exact_heartbeats": tv_apps,
    "privacy_browser": privacy_browsers,
    "wifi_to_cellular": roamers,
    "tor_exit_changes": tor_users,
}


@pytest.mark.parametrize("trap", list(TRAPS))
def test_trap_population_is_never_flagged(trap: str) -> None:
    viewers = TRAPS[trap]()
    detector = Detector(Policy())
    flagged = []
    for event in merge(*viewers, *audience(4)):
        decision = detector.process(event)
        if decision is not None and decision.action != "count":
            flagged.append((decision.session_id, decision.reasons))
    assert not flagged, flagged[:5]
