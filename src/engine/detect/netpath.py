"""A session's network path read from CDN timings: a tunnel's round trip on a fast link.

Shared by the per-session signals (``proxy_path``, ``isp_rotation``) and by the channel context
that counts how many of a wave's viewers came through one (``tunnel_wave``).
"""

from __future__ import annotations

from engine.detect.clients import MOBILE_ASNS
from engine.detect.state import SessionState

PATH_FLOOR_MS = 100  # a home line reaches a CDN edge in 5-60 ms; a proxy's tunnel adds 50-300
PATH_FLOOR_PHONE_MS = 150  # a phone on Wi-Fi adds its radio's latency
PATH_CEILING_MS = 450  # a geostationary satellite link takes 480 ms and more: not a tunnel
PATH_MIN_PLAYLISTS = 30  # a minute of playlist reloads: the floor is the path, not a bad start
PATH_MIN_SEGMENTS = 20
PATH_FAST_BPS = 5e6  # segments arrive this fast once the round trip is taken out: no slow link


def long_fast_path(s: SessionState) -> bool:
    """A browser on a consumer line (never a hosting or a mobile carrier's network)
    whose fastest playlist response, over a minute of them, took 100-450 ms (150 for a phone)
    while its segments, the round trip taken out, still arrived at 5 Mbit/s or more: a long
    path to a fast link. A home line reaches a CDN edge in tens of milliseconds; a slow or
    congested line has a high floor but a slow link; a geostationary satellite is slower still.
    What is left is a tunnel: the proxy gateway between the client and the exit."""
    floor = s.pl_floor_ms
    if s.pl_ok_n < PATH_MIN_PLAYLISTS or s.seg_n < PATH_MIN_SEGMENTS:
        return False
    if not (PATH_FLOOR_PHONE_MS if s.ua_mobile else PATH_FLOOR_MS) <= floor <= PATH_CEILING_MS:
        return False
    if s.hosting_n or s.last_asn_mobile or any(asn in MOBILE_ASNS for asn in s.asns):
        return False
    busy = s.seg_busy_s - s.seg_n * floor / 1000.0
    return busy <= 0 or s.seg_bytes * 8.0 / busy >= PATH_FAST_BPS
