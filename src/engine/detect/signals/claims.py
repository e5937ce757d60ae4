"""Claims against delivery: what the player says it shows versus what the CDN delivered.

A real player can only show the rendition it downloaded, cannot move its playhead faster than
the media arrives (at the live edge, not faster than the clock at all), and plays a live stream
segment after segment. A bot that forges telemetry to look like a viewer while fetching as
little as possible contradicts the CDN log on one of these, whatever its user agent says.
"""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    _rendition(s, add)
    _playhead_speed(s, f, add)
    _segment_gaps(s, f, add)
    if s.ua_tv and f.hosting:
        # A living-room device inside a data centre: a router-level VPN does this to real
        # households, so it only corroborates.
        add((0.45, "device_network_mismatch"))


def _rendition(s: SessionState, add: Add) -> None:
    claims = s.claims
    fetched = s.seg_heights
    if not claims or not fetched or s.seg_n < 20:
        return
    total = unfetched = 0
    top = 0
    for height, n in claims.items():
        total += n
        if height not in fetched:
            unfetched += n
            top = max(top, height)
    # The player names, report after report, a picture size the CDN never delivered to it,
    # and a bigger one than it did (a player reporting its ABR target a moment early, or a
    # viewer on a smaller rendition than the label, stays below these shares).
    if total >= 5 and unfetched >= 0.8 * total and top > max(fetched):
        add((1.0, "rendition_mismatch"))


def _playhead_speed(s: SessionState, f: Facts, add: Add) -> None:
    if s.ph_fast_n < 4 or s.ph_wall_s < 120.0 or s.ph_adv_s < 1.3 * s.ph_wall_s:
        return
    # Over minutes of heartbeats the playhead ran 1.3x+ the clock. Someone fast-forwarding a
    # DVR window fetches media just as fast; a player at the live edge cannot be ahead of it.
    if f.pace >= 1.3:
        return
    add((1.0 if f.pace >= 0 or s.seg_n >= 10 else 0.6, "playhead_too_fast"))


def _segment_gaps(s: SessionState, f: Facts, add: Add) -> None:
    fwd = s.seg_fwd_n
    if fwd < 10 or s.seg_skip_n < 0.5 * fwd:
        return
    # Most steps leave numbers out: a player plays segment after segment, and one that falls
    # behind jumps ahead now and then, not at every fetch.
    skipped_share = s.seg_skipped / (s.seg_skipped + fwd)
    if skipped_share >= 0.5:
        # A player on a link too slow for the stream skips ahead to stay live: its link is
        # busy most of the time or it stalls, so then it is only medium.
        starved = f.link_busy >= 0.5 or s.stalls >= 3
        add((0.5 if starved else 1.0, "segment_gaps"))
