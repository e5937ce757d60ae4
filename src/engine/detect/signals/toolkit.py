"""(2026.11.13) A campaign's sameness: one client family at a handful of exact window sizes.

A driven browser (a stealth-patched headless Chrome, or the browser a slow-drip scheduler
opens for each new viewer) gets its window size from its toolkit's short list; people's
windows vary with their screens, toolbars, zoom and resizing, so even viewers of one popular
browser spread over many exact sizes. The channel counts its sessions per client family (JA4
and user agent without version numbers: farms rotate the Chrome version they claim) and per
family and exact window size (``channel._toolkit_context``); this module reads those counts
next to what the session does. Desktop browsers with a window 1000+ px wide only (not phones,
not embedded players), and never while the family is (nearly) the channel's whole audience.

- Untouched farm: this player is untouched (``channel.inert``: five minutes and more muted,
  visible, no pause, unmute or chat), on an address of its own, and 3+ other sessions of the
  channel in the same minute run its family at its exact size, a third of them or more
  untouched too. Medium; strong from 8 untouched players at one size.
- Drip: 3+ other sessions of its family at its exact size (a fifth of the family's sessions or
  more) and this session's join kept a steady beat: ``client_trickle``'s (medium), or a tight
  one (CV under 0.3 over 8+ gaps and 3+ minutes, strong) of its exact build or of its exact
  build at its window size (a drip of the audience's most common build loses its build's beat
  among people's random arrivals, not its sizes'). A sticky proxy address shared with up to
  two other sessions is allowed here.

- Crowd: a session whose join was not seen (watching when the log began) among 8+
  sessions of its exact build at its exact size (0.3+ of the build, 0.05+ of the channel),
  while the joins of that build at that size seen since keep a loose beat from changing
  networks (``channel._toolkit_crowd``). Strong from 12 that are a tenth of the channel.
- ``network_beat`` (any client): the merged joins of the session's network and the
  channel's other busiest network keep one steady beat, the session's join on it
  (``channel.arrival_pair``): a drip split over two operators, whatever user agents it draws.

Who it could hurt: a person of a farm's family at the farm's exact window size (a maximised
browser at a common resolution) who leaves the stream muted and untouched on the attacked
channel; a person of a drip's exact build and size whose join lands on the drip's beat, or who was
already watching at that build and size when the log began; people of a channel's two biggest
networks arriving unusually evenly (a queue admitting viewers one by one).
Offices and campuses behind shared addresses are not read.
"""

from __future__ import annotations

from engine.detect.channel import inert
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

TOOLKIT_MIN_VIEWPORT_W = 1000  # a browser window, not an embedded player
TOOLKIT_STRONG_INERT = 8  # untouched players of one client family and exact window size
TOOLKIT_BEAT_MAX_PEERS_IP = 2  # other sessions on the session's address (a drip's sticky proxy)
# (2026.11.13, crowd) strong from 12 of one build at one size that are a tenth of the channel's
# sessions and 0.35 of their build's (thousandths); the session's /24 must hold under half
TOOLKIT_CROWD_STRONG = 12
TOOLKIT_CROWD_STRONG_AUDIENCE = 100
TOOLKIT_CROWD_STRONG_BUILD = 350
TOOLKIT_CROWD_SUBNET_SHARE = 0.5
# (network beat) strong from 17 merged joins (16 gaps) at a gap CV under 0.4
NETWORK_BEAT_STRONG = 17
NETWORK_BEAT_STRONG_CV = 0.4


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if s.ua_kind != "browser" or s.ua_mobile or s.viewport_w < TOOLKIT_MIN_VIEWPORT_W:
        return
    z = 0.0
    if s.toolkit_inert and s.peers_ip == 0 and inert(s):
        z = 0.75 if s.toolkit_inert >= TOOLKIT_STRONG_INERT else 0.45
    if s.toolkit_view and s.peers_ip <= TOOLKIT_BEAT_MAX_PEERS_IP and not s.trickle_joins:
        # A sticky proxy address serves a browser or two more; an office's NAT address, many.
        if s.toolkit_beat:
            z = 0.75
        elif s.client_trickle:
            z = max(z, 0.45)
    if (
        s.toolkit_crowd
        and s.peers_ip <= TOOLKIT_BEAT_MAX_PEERS_IP
        and not s.trickle_joins
        and s.peers_subnet + 1 < TOOLKIT_CROWD_SUBNET_SHARE * s.toolkit_crowd
    ):
        # (2026.11.13, crowd) a drip that was running before the log began, still dripping at this
        # session's build and size; not a lab or a classroom (one /24 holding half the crowd)
        strong = (
            s.toolkit_crowd >= TOOLKIT_CROWD_STRONG
            and s.toolkit_crowd_aud >= TOOLKIT_CROWD_STRONG_AUDIENCE
            and s.toolkit_crowd_build >= TOOLKIT_CROWD_STRONG_BUILD
        )
        z = max(z, 0.75 if strong else 0.45)
    if z:
        add((z, "toolkit_cohort"))


def network_beat(s: SessionState, f: Facts, add: Add) -> None:
    """(2026.11.13, network beat) The session's network and the channel's other busiest network
    fed it joins on one steady beat, and this session's join kept it. Any client: a drip that
    draws its user agent from a list per viewer keeps its beat across its two operators."""
    if not s.pair_joins or s.peers_ip > TOOLKIT_BEAT_MAX_PEERS_IP or s.trickle_joins:
        return
    strong = s.pair_joins >= NETWORK_BEAT_STRONG and s.pair_cv < NETWORK_BEAT_STRONG_CV
    add((0.75 if strong else 0.45, "network_beat"))
