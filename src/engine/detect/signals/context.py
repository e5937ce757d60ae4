"""Channel context: crowds from one network, synchronized arrivals, timers on one grid.

All of it describes *where* and *when* a session is, which real people share in offices,
carrier NAT, VPN exits and raids; so most of it is context, and the strong forms need the
crowd to be a real share of the channel's audience or the timers to be machine-precise.
"""

from __future__ import annotations

from engine.detect.channel import POOL_MIN_ADDRESSES
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

LOCKSTEP_STRONG_SURPRISE = 8.0
FIRST_BEAT_MIN_PEERS = 4  # (2026.11.7) five sessions' first heartbeats within 0.15 s ...
FIRST_BEAT_MIN_SURPRISE = 4.0  # ... against the density of first beats in the 6 s around
POOL_LIFT = 3.0  # a /24 holding 3x the mean of its ASN's uncrowded /24s on the channel
POOL_CROWD_ADDRESSES = (
    9  # a pool that is a tenth of the audience: nine addresses (until 2026.11.5 too)
)
CLIENT_TRICKLE_STRONG_CV = 0.45  # (2026.11.11) a scheduler's beat, tighter than people make
HOSTING_TLS_CROWD = 5  # (2026.11.9) other sessions of the channel in one hosting /24 (v6 /48)


def collect(s: SessionState, f: Facts, add: Add) -> None:
    audience = max(s.channel_sessions, 1)
    f.hosting = s.cdn_n > 0 and s.hosting_n >= 0.5 * s.cdn_n
    f.own_address = (
        not f.hosting
        and s.subnet_addresses >= 1
        and s.peers_ip == 0
        and s.peers_subnet <= 1.5 * (s.subnet_addresses + 1)
        and not s.ua_mobile
        and bool(s.reg_ip)
        and ":" not in s.reg_ip[2:]
    )
    if f.hosting:
        add((0.25, "hosting_network"))
        if f.mismatch_share >= 0.5 and s.peers_subnet >= HOSTING_TLS_CROWD:
            # (2026.11.9) A browser user agent over a TLS stack no browser has, from a rented
            # /24 that holds five more "viewers" of this channel: a farm of scripts dressed as
            # one browser. VPN users keep their own browsers' TLS (the tunnel does not touch
            # it), and an office's TLS-inspecting proxy sits in the office's network, not in a
            # data centre. Medium, behaviour: with ``tls_ua_mismatch`` it suppresses.
            add((0.3, "hosting_tls_crowd"))
        # Several "viewers" of one channel on one rented address; strong when they are tens
        # and a real share of the audience (a VPN exit spreads over many channels).
        if s.peers_ip >= 10 and s.peers_ip >= 0.05 * audience:
            add((0.9, "hosting_ip_crowd"))
        elif s.peers_ip >= 5:
            add((0.45, "hosting_ip_crowd"))
        if s.subnet_addresses >= 20 and s.peers_subnet >= 0.10 * audience:
            add((0.8, "hosting_subnet_crowd"))
        elif s.peers_subnet >= 10:
            add((0.45, "hosting_subnet_crowd"))
    elif s.subnet_addresses >= 5:
        crowd = s.peers_subnet >= 0.10 * audience
        one_each = s.peers_subnet <= 1.5 * (s.subnet_addresses + 1)
        pool_shape = (
            one_each
            and s.subnet_addresses >= POOL_MIN_ADDRESSES - 1
            and not s.ua_mobile
            and ":" not in s.reg_ip[2:]
        )
        # Since 2026.11.6 a pool also shows against its own ISP: people of one ISP spread
        # over its prefixes, so a /24 holding three times what the ASN's uncrowded /24s on the
        # channel hold is a few rented blocks, however big the channel (a tenth of a big
        # audience is more than any pool). A carrier-grade NAT, or an ISP with few prefixes,
        # fills its /24s alike. Against the audience it takes nine addresses, as before: a
        # small channel's viewers of a national ISP with few prefixes fill a /24 too.
        stands_out = pool_shape and s.subnet_lift >= POOL_LIFT
        if pool_shape and (
            stands_out or (crowd and s.subnet_addresses >= POOL_CROWD_ADDRESSES - 1)
        ):
            # Seven (standing out in its ISP) or nine (a tenth of the audience) IPv4 addresses
            # of one /24 or more, one desktop viewer each: the shape of a sticky proxy pool. A
            # NAT (campus, office) puts many people behind few addresses, IPv6 hands every
            # device its own address, and a carrier NAT pool spreads phones over its
            # addresses, so none of them looks so.
            f.pool = True
            add((0.5, "proxy_pool"))
        if crowd or stands_out:
            # Many addresses of one /24 on one channel: a proxy pool, or a campus, an office,
            # a carrier NAT pool. Concentration alone never tells them apart, so it only
            # corroborates (medium), however large the crowd.
            add((0.45, "subnet_crowd"))
            f.own_address_crowd = one_each and not s.ua_mobile and ":" not in s.reg_ip[2:]
    if s.peers_ip >= 10 and not f.hosting:
        add((0.15, "shared_ip_crowd"))  # office and carrier NAT: context only
    if s.trickle_joins >= 20:
        # This session's network has been feeding the channel one viewer after another at a
        # steady beat: independent people arrive at random or in waves, not like a metronome.
        add((0.6, "join_trickle"))
    elif s.trickle_joins:
        add((0.45, "join_trickle"))
    if s.client_trickle and s.peers_ip == 0 and not s.trickle_joins:
        # (2026.11.11) Joins of this session's exact client build (user agent and JA4) came
        # one after another at a steady beat, 12+ gaps over 3+ minutes, and this session's join
        # kept it: a scheduler adding viewers a few at a time (a slow drip), whichever
        # networks it uses. People arrive at random (CV ~1) or in waves, and a person who
        # shares the build and arrives between two of the scheduler's joins splits a gap and
        # is not on the beat. Strong when the beat is tight (CV < 0.45). Only a session on an
        # address of its own is read: a campus or an office (one managed build behind a few
        # NAT addresses) can fill up between classes at a steady beat too; and when the
        # session's own network shows the beat (``join_trickle``), that context tells it: one
        # network's people arriving steadily (a campus handing out public addresses) are
        # never suppressed on the strength of their common build.
        add((0.75 if s.client_trickle_cv < CLIENT_TRICKLE_STRONG_CV else 0.45, "client_trickle"))
    if s.cluster_joins:
        # This session's operator fed the channel a run of viewers, each on its own address, a
        # few per /24, at a steady beat, far more than it ever sent the channel before: one
        # scheduler rotating rented addresses, not a NAT'd crowd or a raid. Medium; strong in
        # a hosting network (2026.11.5): people do not live in data centres, and the people
        # who borrow its addresses (VPN users) share a few exits, which the cluster's
        # one-address-each test leaves out.
        add((0.75 if f.hosting else 0.45, "arrival_cluster"))
    if s.join_burst >= 4.0:
        add((0.2, "join_burst"))  # raids and "we're live" notifications do this too
    hb_cv = f.hb_cv
    if s.lockstep_peers >= 4 and s.lockstep_surprise >= 4.0 and 0 <= hb_cv < 0.004:
        # Several precise timers on one phase grid: one controller, not many people. A raid
        # lands people together too, but their timers start seconds apart, so it only counts
        # as strong for a timer precise to a few milliseconds in a grid far denser than a raid
        # makes by chance. Holding a place in a grid for minutes no longer makes it strong
        # (2026.11.5): a raider's app or browser whose timer does not drift holds its place
        # as well (held-out raid parties were challenged so, with 6 peers at surprise 5.4).
        strong = hb_cv < 0.003 and s.lockstep_surprise >= LOCKSTEP_STRONG_SURPRISE
        add((0.75 if strong else 0.5, "heartbeat_lockstep"))
    if s.beat_peers >= FIRST_BEAT_MIN_PEERS and s.beat_surprise >= FIRST_BEAT_MIN_SURPRISE:
        # (2026.11.7) This session's first heartbeat after its player started landed within
        # 0.15 s of the first beats of 4+ others, far denser than the first beats around,
        # though they arrived apart (SD of their arrivals 0.5 s or more). Each player starts
        # its own timer, so people who arrive apart beat apart; sessions that arrived apart
        # but beat together run on one controller's clock. A raid redirected at one instant
        # starts together and is left out by the spread; a raid arriving over seconds spreads
        # its first beats (simulated raids reach 4 peers at surprise 2.9, under this bar);
        # hidden tabs and beats on a whole second are never read.
        add((0.75, "first_beat_cohort"))
