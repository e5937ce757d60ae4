"""What a real browser and a real adaptive player would do: timers that jitter, bitrates that
climb when the link allows, and people who touch their player now and then.

- A browser runs its heartbeat on the main thread (``setInterval``), next to layout, script and
  garbage collection, so successive beats land milliseconds apart from the nominal period. A
  timer exact to the millisecond beat after beat is a scripted clock (an automation driver or
  a forger writing timestamps), not a page. Native apps (smart TVs, consoles) are metronomic
  by design, which is why this only reads browsers whose TLS stack agrees with their user agent.
- An adaptive (ABR) player measures its throughput and moves up the ladder while downloads
  take a small part of each segment's duration. A visible, full-size player that stays on the
  channel's lowest rung for minutes while its link idles is not adapting; it was told to fetch
  as little as possible. (2026.11.23) So is one that never leaves a middle rung of 480p or less
  in a player of 1280x720 or more (``abr_pinned_low``).

Both are behaviour a person can cause (a privacy setting clamping timers, a quality pinned by
hand), so both are medium: they need a second behavioural signal to suppress anyone.
"""

from __future__ import annotations

import math

from engine.detect.channel import inert
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

EXACT_TIMER_SD_S = 0.001  # a browser's heartbeat gaps spread wider than a millisecond
# In a data centre a driven browser's clock is measured over a short, quiet path: two
# milliseconds is still tighter than a page's timer plus a home link's delay jitter (2026.11.5).
EXACT_TIMER_SD_HOSTING_S = 0.002
# Gaps equal to a quarter of a millisecond beat after beat are not measured but written: a
# forger computing timestamps (2026.11.5); no page timer and no network path is that steady.
WRITTEN_TIMER_SD_S = 0.00025
WRITTEN_TIMER_GAPS = 8
EXACT_TIMER_GAPS = 6  # three minutes of 30 s heartbeats
ABR_MIN_SEGMENTS = 60  # two minutes of 2 s segments
ABR_IDLE_LINK = 0.2  # downloads took under a fifth of the time: room for a rung or two more
ABR_MIN_VIEWPORT = (640, 360)  # a player this size is not capped to the lowest rung
# (2026.11.23) ``abr_pinned_low``: a player this size is capped to 720p at the least by its size
# (hls.js and Shaka cap the level to the player's size, never below it), so a rung of 480p or
# less, never left, with an idle link, on a ladder that reaches 720p, was pinned.
PINNED_MIN_VIEWPORT = (1280, 720)
PINNED_MAX_HEIGHT = 480
PINNED_LADDER_TOP = 720


def collect(s: SessionState, f: Facts, add: Add) -> None:
    visible = s.play_s > 0 and s.hidden_s <= 0.1 * s.play_s
    if (
        visible
        and s.hb_gap_n >= EXACT_TIMER_GAPS
        and s.hb_gap_mean >= 5.0
        and s.ua_kind == "browser"
        and s.ua_engine in ("chromium", "webkit")
        and f.mismatch_share < 0.5
    ):
        sd = math.sqrt(s.hb_gap_m2 / (s.hb_gap_n - 1))
        # Hidden tabs are left out (browsers align their timers to whole seconds), and so are
        # Gecko and UA-switched browsers, whose privacy modes clamp the clock. In a data centre
        # (2026.11.4) it is strong: a browser on a machine clock in a rented machine is a
        # driven browser; a VPN user's or a cloud desktop's browser still jitters. Anywhere,
        # gaps equal to a quarter millisecond over eight beats are written, not timed (2026.11.5).
        if sd < WRITTEN_TIMER_SD_S and s.hb_gap_n >= WRITTEN_TIMER_GAPS:
            add((0.75, "browser_timer_exact"))
        elif sd < (EXACT_TIMER_SD_HOSTING_S if f.hosting else EXACT_TIMER_SD_S):
            add((0.75 if f.hosting else 0.5, "browser_timer_exact"))
    heights = s.seg_heights
    if (
        heights
        and s.ladder_max > s.ladder_min
        and max(heights) == s.ladder_min
        and _idle_link_player(s, f, visible, ABR_MIN_VIEWPORT)
    ):
        add((0.45, "abr_stuck_lowest"))
    elif (
        len(heights) == 1
        and s.ladder_min < heights[0] <= PINNED_MAX_HEIGHT
        and s.ladder_max >= PINNED_LADDER_TOP
        and _idle_link_player(s, f, visible, PINNED_MIN_VIEWPORT)
    ):
        # (2026.11.23) The same, one rung up: a full-size player that never left a middle rung
        # of 480p or less. A proxy's traffic is paid per gigabyte, so a farm pins a low rung;
        # the player's own ABR would have climbed. A person who picked a quality by hand looks
        # the same: medium, never alone.
        add((0.45, "abr_pinned_low"))
    if f.hosting and not s.ua_mobile and inert(s):
        # (2026.11.11) A desktop browser in a data centre that has played, muted, visible, for
        # five minutes and more without a single gesture: no tab switch, no pause, no unmute,
        # no chat. A driven (stealth) browser does nothing; a person in a rented machine (a VPN
        # user, a cloud desktop) still switches tabs, unmutes or pauses now and then. Medium
        # and only read in hosting networks, where people are few: with a crowd on the same
        # rented address or /24 it suppresses.
        add((0.45, "inert_player"))
    if s.inert_crowd and not f.hosting and inert(s):
        # (2026.11.12) This browser and a crowd of its build on the channel (4+, a quarter of
        # the build's sessions, among 8+ such players of any build; the build under 90% of
        # the channel's sessions) have played muted and untouched for five minutes and more:
        # a farm of driven browsers behind residential or ISP proxies. People do it too (a
        # muted stream on a second monitor), one here and there, and the one who shares a
        # build with a farm on the same channel looks the same: medium, so it needs a second
        # behavioural signal (a failed challenge, a steady join beat of its build, a pinned
        # lowest rung). In a data centre ``inert_player`` says it already; a gesture (tab
        # switch, pause, unmute, chat) clears it.
        add((0.45, "inert_cohort"))


def _idle_link_player(
    s: SessionState, f: Facts, visible: bool, min_viewport: tuple[int, int]
) -> bool:
    """A visible player of ``min_viewport`` or more, two minutes and 60+ full segments into
    play, that never stalled while its link idled: its ABR had room to climb."""
    return (
        s.seg_new_full >= ABR_MIN_SEGMENTS
        and 0 < f.link_busy < ABR_IDLE_LINK
        and s.stalls == 0
        and visible
        and s.play_visible_s >= 120.0
        and s.viewport_w >= min_viewport[0]
        and s.viewport_h >= min_viewport[1]
    )
