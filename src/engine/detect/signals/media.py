"""Media actually delivered against presence: the physics of watching a live stream.

A live player at the live edge fetches one segment per segment duration, in full. Presence
without media (playlist polling, forged heartbeats), cut-short reads, sparse or stuck segment
numbers are what cheap bots do to look present at little cost. Low bandwidth explains a media
shortfall only when the link was visibly busy or the player reported stall after stall.
"""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts, ramp
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    sd = f.segment_s
    span = f.span
    telemetry = s.p_n >= 3
    if s.seg_n == 0:
        paused_most = span > 0 and s.paused_s >= 0.5 * span
        if telemetry and s.play_progress_s >= 20.0:
            # The playhead moved without a single segment delivered: forged telemetry.
            add((0.9 + 0.7 * ramp(s.play_progress_s, 20.0, 90.0), "telemetry_without_media"))
        elif telemetry and s.play_s >= 60.0:
            add((0.8, "telemetry_without_media"))
        elif s.playlist_n >= 3 and f.cdn_span >= 20.0 and not paused_most:
            add((0.8 + 0.8 * ramp(f.cdn_span, 20.0, 90.0), "playlist_only"))

    watch = 0.0
    if s.seg_n >= 3:
        # Time the session should have been receiving media: the time spent in a fetch rhythm
        # (long gaps are pauses), as far as the player says it was playing, or the content
        # its playhead went through if that is more. A background tab whose browser froze
        # the player fetches nothing and moves nothing, and owes no media.
        fetching = s.seg_active_s + sd
        watch = max(s.play_progress_s, min(s.play_s, fetching)) if telemetry else fetching
        f.link_busy = s.seg_busy_s / watch if watch > 0 else 0.0
    starved = f.link_busy >= 0.5 or s.stalls >= 3
    if watch >= 40.0:
        f.media_ratio = s.seg_new_full * sd / watch
        if f.media_ratio < 0.5 and not starved and f.segment_known:
            add((1.5 * ramp(0.5 - f.media_ratio, 0.0, 0.4), "low_media_delivery"))
    f.partial_share = s.seg_partial / s.seg_n if s.seg_n else 0.0
    if s.seg_n >= 8 and f.partial_share >= 0.6 and not starved:
        add((0.8 + 0.8 * ramp(f.partial_share, 0.6, 0.95), "partial_segment_reads"))
    if s.seg_paced_s >= 30.0:
        # Segment numbers advance one per segment duration while a player plays, live or DVR.
        f.pace = s.seg_steps * sd / s.seg_paced_s
        if f.segment_known and f.pace < 0.4:
            add((0.45 if starved else 0.9, "segment_pace_anomaly"))
        elif f.segment_known and f.pace > 2.5:
            add((0.6, "segment_pace_anomaly"))
    if s.seg_n >= 10 and s.seg_n > 3 * max(s.seg_new, 1):
        add((0.6, "segment_refetch"))
    if s.cdn_n >= 10 and s.error_n >= 0.5 * s.cdn_n:
        add((0.4, "cdn_errors"))
