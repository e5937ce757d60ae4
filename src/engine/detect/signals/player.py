"""Player telemetry: a playhead that does not move, jumps, clockwork timers, no player at all,
a player a few pixels wide."""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts, cv
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if s.play_visible_s >= 60.0:
        f.playhead_rate = s.play_progress_visible_s / s.play_visible_s
        if f.playhead_rate < 0.2 and s.stalls == 0:
            add((0.5, "playhead_stalled"))
    if s.seeks >= 6 and s.seeks >= 0.3 * s.p_n:
        add((0.4, "playhead_jumps"))
    f.hb_cv = cv(s.hb_gap_n, s.hb_gap_mean, s.hb_gap_m2)
    if s.hb_gap_n >= 8 and 0 <= f.hb_cv < 0.01:
        add((0.25, "heartbeat_clockwork"))
    f.seg_cv = cv(s.seg_gap_n, s.seg_gap_mean, s.seg_gap_m2)
    if s.seg_gap_n >= 15 and 0 <= f.seg_cv < 0.03:
        add((0.25, "request_clockwork"))
    if s.p_n == 0 and s.seg_n >= 15 and f.cdn_span >= 60.0:
        # Smart-TV apps and blocked telemetry look like this too: context only.
        add((0.25, "no_player_telemetry"))
    if s.p_n and (s.viewport_w < 10 or s.viewport_h < 10):
        # A player a few pixels across is not being watched (hidden iframes); an audio-only
        # layout could report it too, so medium.
        add((0.45, "invisible_player"))
