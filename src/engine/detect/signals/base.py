"""What the signal modules share: intermediate figures and a ramp."""

from __future__ import annotations

import math
from collections.abc import Callable

Add = Callable[[tuple[float, str]], None]


class Facts:
    """Figures computed once per scoring and reused by later rules and the feature map."""

    __slots__ = (
        "bad_share",
        "block_floor",
        "cdn_span",
        "hb_cv",
        "hosting",
        "link_busy",
        "media_ratio",
        "mismatch_share",
        "own_address",
        "own_address_crowd",
        "pace",
        "partial_share",
        "playhead_rate",
        "pool",
        "seg_cv",
        "segment_known",
        "segment_s",
        "span",
    )

    def __init__(self, span: float, cdn_span: float, segment_s: float, segment_known: bool) -> None:
        self.span = span
        self.cdn_span = cdn_span
        self.segment_s = segment_s
        self.segment_known = segment_known
        self.media_ratio = -1.0
        self.link_busy = 0.0
        self.partial_share = 0.0
        self.pace = -1.0
        self.playhead_rate = -1.0
        self.hb_cv = -1.0
        self.seg_cv = -1.0
        self.mismatch_share = 0.0
        self.bad_share = 0.0
        self.hosting = False
        self.pool = False  # the session's /24 has a sticky proxy pool's shape (proxy_pool)
        # subnet_crowd of IPv4 desktop sessions on about one address each (2026.11.8)
        self.own_address_crowd = False
        # (2026.11.9) an IPv4 desktop session outside hosting networks, on an address no other
        # session of the channel used, in a /24 where other addresses watch it too, about one
        # session each: a block of one-session addresses, not a NAT (office, campus, carrier)
        self.own_address = False
        # (2026.11.9) its block's failures keep it from being counted even after a pass
        self.block_floor = False


def ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo`` or below, 1 at ``hi`` or above, linear between."""
    if x <= lo:
        return 0.0
    if x >= hi:
        return 1.0
    return (x - lo) / (hi - lo)


def cv(n: int, mean: float, m2: float) -> float:
    """Coefficient of variation from Welford aggregates; -1 when undefined."""
    if n < 2 or mean <= 0:
        return -1.0
    return math.sqrt(m2 / (n - 1)) / mean
