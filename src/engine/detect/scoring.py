"""``decide``'s first half: turn a session's aggregates into evidence, a score and features.

Evidence is additive in log-odds-like units ``z``; ``score = 1 - exp(-z)``, so z = 0.69 is 0.5
and every further piece of evidence moves the score less the higher it already is. The rules
live in :mod:`engine.detect.signals`; a rule's strength decides how it combines:

- strong (z >= 0.7): physically impossible for a person watching in a real player (no media
  ever delivered, cut-short reads, a headless client, one session hopping between networks).
  One is enough to suppress.
- medium (z < 0.7): unusual for people, but with known innocent causes (a TLS-inspecting
  office proxy, carrier NAT address churn). It takes two of them to suppress.
- weak (the codes in ``WEAK``): context common among real viewers (VPN users in hosting ASNs,
  offices behind one IP, raids arriving at once, players without telemetry). It only adds to
  strong or medium evidence and is capped.

Without a strong signal or two medium ones the total stays under ``UNCORROBORATED_CAP``, below
the suppress threshold: no single weak or medium signal can suppress a viewer. Exculpatory
evidence (a passed challenge, chat) subtracts. docs/detection.md explains every code.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from engine.detect.channel import observe_context, segment_seconds
from engine.detect.signals import COLLECTORS, Facts
from engine.detect.state import ChannelState, SessionState

WEAK = frozenset(
    {
        "hosting_network",
        "shared_ip_crowd",
        "join_burst",
        "heartbeat_clockwork",
        "request_clockwork",
        "no_player_telemetry",
    }
)
# Medium signals about *who and where* (a residential network shared with many, a TLS stack
# rewritten by a proxy, a device in a data centre) come together innocently: a campus behind a
# TLS-inspecting proxy shows two of them. (Crowds inside hosting networks are not on this list:
# people do not live in data centres, and a VPN exit keeps its users' own TLS stacks.) Two medium signals suppress only when one is about behaviour.
CONTEXT_MEDIUM = frozenset(
    {
        "subnet_crowd",
        "tls_ua_mismatch",
        "device_network_mismatch",
        # When people arrive from a network, not what they do: a campus filling up between
        # classes arrives from one /24 at a steady beat too (2026.11.4).
        "join_trickle",
    }
)
CONTEXT_EVERY_S = 10.0  # how often a session re-reads its channel's counts (event time)
STRONG_Z = 0.7  # a non-weak signal this strong suppresses on its own (score 0.50)
WEAK_CAP = 1.0  # context never adds more than this, however much of it there is
UNCORROBORATED_CAP = 0.6  # score 0.45: below suppress without a strong or two medium signals
PASSED_CHALLENGE_RELIEF = 0.9  # per passed challenge, at most two


class Assessment(NamedTuple):
    score: float
    reasons: tuple[str, ...]
    features: dict[str, float] | None


def combine(evidence: list[tuple[float, str]]) -> float:
    """Sum the evidence, letting context and single medium signals count only when corroborated.

    With a strong signal everything counts (context capped at ``WEAK_CAP``); with two medium
    signals, one of them about behaviour rather than network or client identity, they count
    with capped context; otherwise the total stays under
    ``UNCORROBORATED_CAP``, i.e. under the suppress threshold.
    """
    strong = medium = weak = 0.0
    mediums = behavioural = 0
    for z, code in evidence:
        if code in WEAK:
            weak += z
        elif z >= STRONG_Z:
            strong += z
        else:
            medium += z
            mediums += 1
            behavioural += code not in CONTEXT_MEDIUM
    weak = min(weak, WEAK_CAP)
    if strong > 0 or (mediums >= 2 and behavioural):
        return strong + medium + weak
    return min(medium + weak, UNCORROBORATED_CAP)


def assess(s: SessionState, c: ChannelState | None, *, with_features: bool = True) -> Assessment:
    """Score the session; ``with_features`` also builds the feature map a decision carries."""
    if c is not None and (with_features or s.last_ts - s.context_ts >= CONTEXT_EVERY_S):
        s.context_ts = s.last_ts
        observe_context(c, s)
    segment_s, segment_known = segment_seconds(c)
    f = Facts(
        span=s.last_ts - s.first_ts,
        cdn_span=s.cdn_last_ts - s.cdn_first_ts if s.cdn_n else 0.0,
        segment_s=segment_s,
        segment_known=segment_known,
    )
    evidence: list[tuple[float, str]] = []
    add = evidence.append
    for collect in COLLECTORS:
        collect(s, f, add)

    total = combine(evidence) - PASSED_CHALLENGE_RELIEF * min(s.challenge_passed, 2)
    if s.chat_messages >= 2:
        total -= 0.3 if s.chat_messages >= 10 else 0.15
    if f.block_floor and total < STRONG_Z:
        # (2026.11.9) A pass relieves what a session did, not what its block did: members of a
        # block whose other members failed challenges with an automation verdict stay
        # suppressed (not counted, no user impact), never challenged again for it.
        total = STRONG_Z
    score = round(1.0 - math.exp(-total), 4) if total > 0 else 0.0
    evidence.sort(key=lambda item: (-item[0], item[1]))
    reasons = tuple(code for z, code in evidence if z > 0)
    if not with_features:
        return Assessment(score, reasons, None)
    return Assessment(score, reasons, _features(s, f, total))


def _features(s: SessionState, f: Facts, total: float) -> dict[str, float]:
    cdn_n = s.cdn_n
    return {
        "span_s": round(f.span, 1),
        "cdn_requests": float(cdn_n),
        "segments": float(s.seg_n),
        "media_ratio": round(f.media_ratio, 3),
        "partial_share": round(f.partial_share, 3),
        "link_busy_share": round(f.link_busy, 3),
        "segment_pace": round(f.pace, 3),
        "playlist_only_polls": float(s.playlist_idle_n),
        "player_events": float(s.p_n),
        "playhead_rate": round(f.playhead_rate, 3),
        "seeks": float(s.seeks),
        "heartbeat_cv": round(f.hb_cv, 4),
        "request_cv": round(f.seg_cv, 4),
        "ips": float(s.ip_count),
        "asns": float(len(s.asns)),
        "ip_returns": float(s.ip_returns),
        "asn_returns": float(s.asn_returns),
        "country_switches": float(s.country_switches),
        "hosting_share": round(s.hosting_n / cdn_n, 3) if cdn_n else 0.0,
        "bad_ua_share": round(f.bad_share, 3),
        "tls_mismatch_share": round(f.mismatch_share, 3),
        "peers_ip": float(s.peers_ip),
        "peers_subnet": float(s.peers_subnet),
        "subnet_addresses": float(s.subnet_addresses),
        "subnet_lift": float(s.subnet_lift),
        "lockstep_peers": float(s.lockstep_peers),
        "lockstep_surprise": round(s.lockstep_surprise, 2),
        "lockstep_minutes": float(s.lockstep_minutes),
        "first_beat_peers": float(s.beat_peers),
        "first_beat_surprise": round(s.beat_surprise, 2),
        "first_beat_spread_s": round(s.beat_spread, 2),
        "peers_asn": float(s.peers_asn),
        "channel_sessions": float(s.channel_sessions),
        "viewport_area": float(s.viewport_w * s.viewport_h),
        "mobile_ua": float(s.ua_mobile),
        "join_burst": round(s.join_burst, 2),
        "trickle_joins": float(s.trickle_joins),
        "cluster_joins": float(s.cluster_joins),
        "client_trickle_joins": float(s.client_trickle),
        "rendition_claims_unfetched": round(_unfetched_share(s), 3),
        "playhead_clock_ratio": round(s.ph_adv_s / s.ph_wall_s, 3) if s.ph_wall_s else -1.0,
        "segment_skip_share": round(s.seg_skip_n / s.seg_fwd_n, 3) if s.seg_fwd_n else 0.0,
        "network_switches": float(len(s.switch_gaps)),
        "seamless_cohort": float(s.seamless_cohort),
        "inert_cohort": float(s.inert_cohort),
        "exit_hops": float(len(s.hop_gaps)),
        "isp_moves": float(len(s.isp_hop_gaps)),
        "playlist_floor_ms": float(s.pl_floor_ms),
        "toolkit_peers": float(max(s.toolkit_view, s.toolkit_crowd)),
        "network_beat_joins": float(s.pair_joins),
        "tunnel_wave_share": s.tunnel_wave / 1000.0,
        "drip_beat_gaps": float(s.drip_gaps),
        "heartbeat_sd_ms": round(1000.0 * math.sqrt(s.hb_gap_m2 / (s.hb_gap_n - 1)), 2)
        if s.hb_gap_n >= 2
        else -1.0,
        "lowest_rung_only": float(
            bool(s.seg_heights)
            and s.ladder_max > s.ladder_min
            and max(s.seg_heights) == s.ladder_min
        ),
        "chat_messages": float(s.chat_messages),
        "challenges_passed": float(s.challenge_passed),
        "challenges_failed": float(s.challenge_failed),
        "subnet_automation_failures": float(s.subnet_automation),
        "subnet_challenge_failures": float(s.subnet_failures),
        "subnet_challenge_passes": float(s.subnet_passes),
        "evidence_z": round(total, 3),
    }


def _unfetched_share(s: SessionState) -> float:
    total = sum(s.claims.values())
    if not total or not s.seg_heights:
        return 0.0
    return sum(n for h, n in s.claims.items() if h not in s.seg_heights) / total
