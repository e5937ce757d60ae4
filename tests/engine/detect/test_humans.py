"""The people a viewbot detector is most likely to hurt: none of them is ever flagged.

Each population carries the innocent version of some bot signal (shared addresses, hosting
ASNs, a proxy's TLS fingerprint, hidden tabs, long pauses, aborted downloads, synchronized
joins, native players without telemetry). The assertion is strict: no decision for any of
these sessions is anything but ``count``, at any point of the session.
"""

from __future__ import annotations

import random
from itertools import accumulate

import pytest
from detect_builders import (
    IPHONE_UA,
    PROXY_JA4,
    SAFARI_JA4,
    T0,
    Viewer,
    merge,
)

from engine.detect import Detector, Policy

COREMEDIA_UA = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; en_us)"
ROKU_UA = "Roku/DVP-13.0 (13.0.0.4125-46)"
_rng = random.Random(3)
_ARRIVALS = list(accumulate(_rng.expovariate(1 / 7.0) for _ in range(40)))


def carrier_nat() -> list[Viewer]:
    # 30 phones behind a handful of CGNAT addresses in one /24; some move to another address of
    # the carrier, some walk into home Wi-Fi and back out.
    viewers = []
    for i in range(30):
        moves = [(200.0, f"172.56.40.{(i + 3) % 6}", 21928, "US")]
        if i % 5 == 0:
            moves += [(400.0, "73.50.1.9", 7922, "US"), (700.0, f"172.56.40.{i % 6}", 21928, "US")]
        viewers.append(
            Viewer(
                f"cgnat-{i}",
                ip=f"172.56.40.{i % 6}",
                asn=21928,
                ua=IPHONE_UA,
                ja4=SAFARI_JA4,
                start=T0 + _ARRIVALS[i],  # people arrive at random, not on a beat
                duration=900.0,
                viewport=(390, 844),
                moves=moves,
                move_gap=3.0,  # a handover drops the connection for a few seconds
            )
        )
    return viewers


def office_all_hands() -> list[Viewer]:
    # One NAT address, one managed browser build, a TLS-inspecting proxy, everyone joins at 10:00.
    return [
        Viewer(
            f"office-{i}",
            ip="203.0.113.10",
            asn=3356,
            ja4=PROXY_JA4,
            start=T0 + 600.0 + i * 0.7,
            duration=1200.0,
            referer="",
        )
        for i in range(40)
    ]


def vpn_users() -> list[Viewer]:
    return [
        Viewer(
            f"vpn-{i}",
            ip=f"185.236.200.{20 + i % 4}",
            asn=9009,
            country="RO",
            start=T0 + i * 31.0,
            duration=600.0,
        )
        for i in range(12)
    ]


def background_tabs() -> list[Viewer]:
    frozen = [  # the browser froze a muted background player; heartbeats go on, media stops
        Viewer(
            f"frozen-{i}",
            visible=False,
            muted=True,
            pauses=[(60.0, 700.0)],
            pause_events=False,
            start=T0 + i * 17.0,
            duration=900.0,
        )
        for i in range(4)
    ]
    return frozen + [
        Viewer(
            f"bg-{i}",
            visible=False,
            muted=True,
            start=T0 + i * 13.0,
            duration=1500.0,
            heartbeat_s=60.0,
            heartbeat_jitter=5.0,
            rendition="480p30",
            segment_bytes=300_000,
        )
        for i in range(5)
    ]


def pausers() -> list[Viewer]:
    with_telemetry = [
        Viewer(
            f"pause-{i}",
            pauses=[(120.0, 300.0), (600.0, 90.0)],
            start=T0 + i * 17.0,
            duration=900.0,
        )
        for i in range(5)
    ]
    blind = [
        Viewer(
            f"pause-blind-{i}",
            telemetry=False,
            pauses=[(90.0, 240.0)],
            start=T0 + i * 23.0,
            duration=600.0,
        )
        for i in range(5)
    ]
    return with_telemetry + blind


def low_bandwidth() -> list[Viewer]:
    return [
        Viewer(
            f"slow-{i}",
            abort_share=0.3,
            stalls=6,
            rendition="240p30",
            segment_bytes=90_000,
            jitter=0.9,
            start=T0 + i * 11.0,
            duration=700.0,
            ip=f"41.32.{i}.9",
            asn=8452,
            country="EG",
        )
        for i in range(6)
    ]


def native_players() -> list[Viewer]:
    ios = [
        Viewer(
            f"ios-app-{i}",
            ua_rotation=(IPHONE_UA, COREMEDIA_UA),
            ja4=SAFARI_JA4,
            start=T0 + i * 9.0,
            duration=500.0,
        )
        for i in range(4)
    ]
    tv = [
        Viewer(
            f"tv-{i}",
            ua=ROKU_UA,
            ja4="t12d1209h1_d34a8e72043a_b39be8c56a14",
            telemetry=False,
            referer="",
            start=T0 + i * 9.0,
            duration=1800.0,
        )
        for i in range(4)
    ]
    return ios + tv


def raid() -> list[Viewer]:
    steady = [
        Viewer(f"regular-{i}", start=T0 + i * 25.0, duration=1200.0, ip=f"24.{i}.3.3")
        for i in range(12)
    ]
    raiders = [
        Viewer(
            f"raider-{i}",
            start=T0 + 400.0 + i * 0.3,
            duration=600.0,
            ip=f"{(73, 98, 24, 86)[i % 4]}.{i}.7.7",
            asn=(7922, 7018, 20115, 2856)[i % 4],
        )
        for i in range(80)
    ]
    return steady + raiders


def dvr_and_chat() -> list[Viewer]:
    return [
        Viewer(f"chatter-{i}", chat_every=45.0, start=T0 + i * 5.0, duration=600.0)
        for i in range(5)
    ]


def dvr_rewinders() -> list[Viewer]:
    return [
        Viewer(f"dvr-{i}", rewind=(120.0 + i * 20.0, 150), start=T0 + i * 13.0, duration=600.0)
        for i in range(5)
    ]


def travellers() -> list[Viewer]:
    # A border crossing mid-stream: new carrier, new country, once.
    return [
        Viewer(
            f"roam-{i}",
            ip=f"176.0.{i}.9",
            asn=6805,
            country="DE",
            ua=IPHONE_UA,
            ja4=SAFARI_JA4,
            moves=[(200.0, f"37.160.{i}.4", 51207, "FR")],
            start=T0 + i * 19.0,
            duration=500.0,
        )
        for i in range(4)
    ]


def audio_only() -> list[Viewer]:
    return [
        Viewer(
            f"audio-{i}",
            viewport=(0, 0),
            visible=False,
            rendition="audio",
            segment_bytes=32_000,
            start=T0 + i * 21.0,
            duration=900.0,
        )
        for i in range(4)
    ]


POPULATIONS = {
    "carrier_nat": carrier_nat,
    "office_nat_tls_proxy": office_all_hands,
    "vpn_hosting_asn": vpn_users,
    "background_tab": background_tabs,
    "pauser": pausers,
    "low_bandwidth": low_bandwidth,
    "native_player": native_players,
    "raid": raid,
    "chatter": dvr_and_chat,
    "dvr_rewind": dvr_rewinders,
    "traveller": travellers,
    "audio_only": audio_only,
}


@pytest.mark.parametrize("population", list(POPULATIONS))
def test_population_is_never_flagged(population: str) -> None:
    viewers = POPULATIONS[population]()
    detector = Detector(Policy())
    decided: set[str] = set()
    flagged = []
    for event in merge(*viewers):
        decision = detector.process(event)
        if decision is None:
            continue
        decided.add(decision.session_id)
        if decision.action != "count":
            flagged.append((decision.session_id, decision.score, decision.reasons))
    assert not flagged, flagged[:5]
    assert decided == {v.session_id for v in viewers}  # every session was looked at


def test_all_populations_together_stay_counted() -> None:
    viewers = [v for make in POPULATIONS.values() for v in make()]
    detector = Detector(Policy())
    flagged = [
        (d.session_id, d.reasons)
        for d in map(detector.process, merge(*viewers))
        if d is not None and d.action != "count"
    ]
    assert not flagged, flagged[:5]
