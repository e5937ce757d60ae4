"""Per-channel context: who else is watching, from where, when they arrived, on which timer.

The channel keeps counts, not member lists, so its size follows the number of distinct active
keys, not the audience or the event count:

- concurrency per key (all sessions, an address, a /24, the distinct addresses of a /24, an
  ASN, a heartbeat phase), counted per event-time minute: each active session adds itself once
  a minute, so a count reads "sessions active in that minute";
- joins per 10 s bucket, for synchronized arrival waves;
- votes for the segment duration.

Sessions copy what they read from here into maxima of their own, so a late or reordered event
from another topic moves a count a little, never a session's history.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from operator import itemgetter

from engine.detect.dripbeat import note_join, read_crowd_beat, read_drip
from engine.detect.netaddr import canonical_ip, subnet_of
from engine.detect.netpath import long_fast_path
from engine.detect.state import MAX_KEYS, ChannelState, SessionState

DEFAULT_SEGMENT_S = 2.0  # DESIGN §3: target duration unless a deployment says otherwise
JOIN_BUCKET_S = 10.0
JOIN_KEEP_BUCKETS = 40
BURST_BASELINE_BUCKETS = 30
TUNNEL_WAVE_BURST = 4.0  # (2026.11.23.2) the join burst a wave must make (as `join_burst` reads)
TUNNEL_WAVE_MIN_JOINS = 8  # joins in the 30 s around the session's own
BURST_TRIM = 6  # the busiest buckets of the baseline are left out (earlier waves)
MIN_SEGDUR_VOTES = 2
VOTE_AFTER_STEPS = 12
GRID_FINE_S = 0.1  # heartbeat phase bins: three fine bins = a 0.3 s window ...
GRID_COARSE_S = 2.0  # ... compared with three coarse bins = a 6 s window
LOCKSTEP_SURPRISE = 4.0
ARRIVAL_EPISODE_S = 300.0  # a longer pause between joins from one network starts a new count
ARRIVAL_KEEP_S = 900.0
TRICKLE_MIN_GAPS = 12
TRICKLE_MAX_CV = 0.6
TRICKLE_MIN_SPAN_S = 180.0
# (2026.11.11) A join keeps a client build's beat when the gaps before and after it are both
# within these multiples of the build's mean gap: a person who happens to run the same build
# and arrives between two of a scheduler's joins splits one gap into two short ones.
ON_BEAT_LOW = 0.5
ON_BEAT_HIGH = 1.75
ON_BEAT_KEEP = 48
CLIENT_TRICKLE_READ_S = 900.0  # a session reads its build's cadence for this long
# Sessions seen in a channel's first minute of log were mostly watching already (a replay or a
# fresh worker starts mid-stream): their first events are no arrivals, so no beat is read there.
CLIENT_WARMUP_S = 60.0
# A build's tight beat is strong only when that build is not (nearly) every join the channel
# had lately: a drip is a steady stream inside an audience of other
# builds; when one build is the whole audience, its beat is the audience's and says less.
# (Joins per 10 s are kept for 400 s; the share reads the last five minutes of them.)
BUILD_MAX_SHARE = 0.9
# (2026.11.23) A family that is the whole audience is a managed fleet while this share of it
# or more shares the session's exact window size (one screen model) or its exact build.
FLEET_SHARE = 0.6
BUILD_SHARE_BUCKETS = 30  # the last five minutes of joins
# Arrival clusters (2026.11.4): the channel's last joins, and what makes a run of them one
# scheduler's rather than a crowd's.
RECENT_JOINS = 64
CLUSTER_WINDOW_S = 300.0
CLUSTER_MIN_JOINS = 6  # on addresses of their own, from two /24s or more (rented blocks) ...
CLUSTER_MIN_JOINS_ONE_BLOCK = 8  # ... or from one: more addresses than a NAT pool holds
CLUSTER_MAX_SHARED = 0.25  # joins on an address another session of the channel was using
CLUSTER_MIN_SPAN_S = 60.0
CLUSTER_MAX_CV = 0.8
CLUSTER_PER_SUBNET = 2.5  # joins per /24 of the cluster: a few rented blocks, not an ISP's spread
CLUSTER_MIN_SHARE = 0.25  # of the window's joins ...
CLUSTER_LIFT = 3.0  # ... and this many times the network's share of the channel's earlier joins
CLUSTER_MIN_BASELINE = 3  # earlier joins needed to know what is usual for the channel
ALL = "*"
# First-beat cohorts (2026.11.7): a player's heartbeat timer starts with the player, so the
# first heartbeats of people who arrived seconds apart land seconds apart; sessions whose first
# beats land together although they arrived apart share one clock.
FIRST_BEAT_BIN_S = 0.1  # three bins = a 0.3 s window, against three COARSE bins = 6 s
FIRST_BEAT_COARSE_S = 2.0
FIRST_BEAT_MAX_DELAY_S = 60.0  # a first heartbeat later than this after the start is not read
FIRST_BEAT_KEEP_S = 120.0
FIRST_BEAT_MIN_SPREAD_S = 0.5  # SD of the cohort's arrivals (first event and player start)
# (2026.11.10) A visible player's first beat is left out only this close to a whole second:
# throttled timers wake on the second plus a few milliseconds of task latency, and a collector
# stamping whole seconds puts beats exactly on it. The 50 ms window before left a tenth of all
# phases unread, where a controller's grid falls by chance (seed 803's last swarm wave did).
FIRST_BEAT_WHOLE_SECOND_S = 0.015
# A sticky proxy pool's shape (2026.11.6): this many distinct IPv4 addresses of one /24 on a
# channel, one desktop session each, standing out against the audience or the ASN's other /24s.
POOL_MIN_ADDRESSES = 7
LIFT_MIN_NETS = 3  # uncrowded /24s of the ASN needed to know how its subscribers spread
SEAMLESS = "sw"  # concurrency key: sessions that changed network without missing a beat
# (2026.11.12) Concurrency keys for ``inert_cohort``: browsers that have played five minutes
# and more, muted, in a window never hidden, without a single gesture (``inert``), counted per
# client build (user agent and JA4, "b:" + CRC32) next to all the build's sessions. People do
# that now and then, one here and there; a crowd of one build doing it is one operator's farm.
INERT = "in"
BUILT = "bk"  # sessions whose build is known, all builds
INERT_MIN_PLAY_S = 300.0
INERT_CHANNEL = 8  # inert sessions of the channel in the same minute, any build ...
INERT_BUILD = 4  # ... this many of them of this session's build ...
INERT_BUILD_SHARE = 0.25  # ... a quarter of the build's sessions on the channel or more
# (2026.11.13) Concurrency keys per client family (JA4 and user agent without version numbers,
# "f" + CRC32) and per family and exact window size ("v" + family key + size), all sessions
# and the untouched ones: a driven-browser toolkit sets its window to one of a handful of
# sizes, where people's windows vary with screen, toolbars, zoom and resizing.
VIEW = "v"
TOOLKIT_MIN = 4  # sessions (this one too) of one family at one exact window size ...
TOOLKIT_INERT_SHARE = 0.35  # ... a third of them untouched or more (people: a few percent) ...
TOOLKIT_VIEW_SHARE = 0.2  # ... or, for a session on a join beat, a fifth of the family's sessions
# A tight join beat of one exact build (CV under 0.3 over 8+ gaps and 3+ minutes): independent
# arrivals (CV ~1) show it about once in a thousand tries at the start of a stream of joins.
TOOLKIT_BEAT_GAPS = 8
TOOLKIT_BEAT_CV = 0.3
# (2026.11.13, crowd) A drip already running when the log began: its viewers' joins were not seen,
# but the joins of its exact build at its exact window size that the channel sees afterwards
# keep a beat (4+ gaps over 2+ minutes, CV under 0.6) from changing networks (an ASN change at half of the
# joins or more: a pool's exits, not one network's people), and 8+ sessions of that build at
# that size watch together, 0.3+ of the build's sessions and 0.05+ of the channel's. People of
# one build spread over many exact sizes (at most five of one build at one size on a dev
# channel, under a fifth of the build and 2 % of the audience) and arrive at random.
CROWD = "x"
TOOLKIT_CROWD_MIN = 8
TOOLKIT_CROWD_BUILD_SHARE = 0.3
TOOLKIT_CROWD_AUDIENCE_SHARE = 0.05
TOOLKIT_CROWD_SEEN_GAPS = 4
TOOLKIT_CROWD_SEEN_SPAN_S = 120.0  # over two minutes or more: a raid lands within seconds
TOOLKIT_CROWD_SWITCH_SHARE = 0.5
# (2026.11.13, network beat) the merged joins of a session's network and the channel's other most
# frequent network in the last five minutes: 13+ joins over a minute or more, gap CV under 0.45
PAIR_WINDOW_S = 300.0
PAIR_MIN_JOINS = 13
PAIR_MIN_SPAN_S = 60.0
PAIR_MAX_CV = 0.45
PAIR_MIN_SHARE = 0.25  # (2026.11.23.2) of the merged joins, from the session's own network
_DIGITS = re.compile(r"[0-9]+")
# A network handover (new radio link, new lease, new TCP and TLS connections) interrupts the
# fetch rhythm for seconds; a client behind a rotating proxy keeps its rhythm across the change.
SEAMLESS_GAP_SEGMENTS = 1.2
_FINE_SHARE = GRID_FINE_S / (GRID_COARSE_S - GRID_FINE_S)


def touch(c: ChannelState, s: SessionState, ts: float, new_session: bool) -> None:
    """Account one event of ``s`` in its channel."""
    if ts > c.last_ts:
        c.last_ts = ts
    elif ts < c.first_ts:
        c.first_ts = ts
    minute = int(ts // 60.0)
    if minute > c.minute:
        _rotate(c, minute)
    if new_session:
        bucket = int(ts // JOIN_BUCKET_S)
        s.join_bucket = bucket
        c.joins[bucket] = c.joins.get(bucket, 0) + 1
    if not s.view_arrival and s.viewport_w > 0:
        _view_arrival(c, s)
    if minute > s.refresh_minute:
        s.refresh_minute = minute
        _grid_keys(s)
        counts = _bucket_for(c, minute)
        if counts is not None:
            _add(counts, ALL)
            if s.reg_ip:
                _add_network(counts, s)
            if s.grid_fine:
                _add(counts, s.grid_fine)
                _add(counts, s.grid_coarse)
            if (s.switch_gaps or s.move_gaps) and seamless_any(s, segment_seconds(c)[0]):
                _add(counts, SEAMLESS)
            if not s.build_key and s.client_ua:
                s.build_key = f"b:{zlib.crc32(f'{s.client_ua}|{s.client_ja4}'.encode()):08x}"
            if not s.family_key and s.client_ua:
                _family(s)
            if s.build_key:
                _add(counts, BUILT)
                _add(counts, s.build_key)
                idle = inert(s)
                if idle:  # (2026.11.12)
                    _add(counts, INERT)
                    _add(counts, INERT + s.build_key)
                if s.family_key:  # (2026.11.13)
                    _add(counts, s.family_key)
                if s.viewport_w > 0 and s.family_key:
                    view = view_key(s)
                    _add(counts, view)
                    _add(counts, f"{CROWD}{s.build_key}:{s.viewport_w}x{s.viewport_h}")
                    if idle:
                        _add(counts, INERT + view)


def inert(s: SessionState) -> bool:
    """(2026.11.12) A browser that has played five minutes and more, muted the whole time, in a
    window never hidden, never paused, with no chat (not even a silent join): no gesture at all.
    A driven browser does nothing; a person now and then switches a tab, unmutes or pauses."""
    return (
        s.ua_kind == "browser"
        and s.play_s >= INERT_MIN_PLAY_S
        and s.hidden_s <= 0.0
        and s.pauses == 0
        and s.muted_s >= 0.98 * s.play_s
        and s.chat_messages == 0
        and s.chat_joins == 0
    )


def _family(s: SessionState) -> None:
    family = _DIGITS.sub("", s.client_ua)
    s.family_key = f"f{zlib.crc32(f'{family}|{s.client_ja4}'.encode()):08x}"


def _view_arrival(c: ChannelState, s: SessionState) -> None:
    """(2026.11.13) As soon as the session's window size is known (its first player event, before
    the session is counted at that size), count its join (at its first event) in the arrival
    cadence of its exact build at that size, if another session of its client family already
    watches at that size (people's sizes are their own: no key for them). Once per session."""
    s.view_arrival = "-"
    if not s.reg_client or not s.client_ua:
        return
    if not s.family_key:
        _family(s)
    if not concurrent(c, view_key(s)):
        return
    s.view_arrival = f"w{s.reg_client}:{s.viewport_w}x{s.viewport_h}"
    _client_arrival(c, s.view_arrival, s.reg_client_ts)
    # (2026.11.13, crowd) the last join's ASN and the joins from another ASN than the one before,
    # in the current episode (a new episode starts the count again)
    stats = c.arrivals[s.view_arrival]
    while len(stats) < 7:
        stats.append(0.0)
    if stats[1] == 0.0:
        stats[6] = 0.0
    elif float(s.reg_asn) != stats[5]:
        stats[6] += 1.0
    stats[5] = float(s.reg_asn)


def view_key(s: SessionState) -> str:
    """(2026.11.13) The concurrency key of the session's client family and current window size."""
    return f"{VIEW}{s.family_key}:{s.viewport_w}x{s.viewport_h}"


def seamless_change(s: SessionState, segment_s: float) -> bool:
    """A desktop client's change of operator (same IP family, same country) that neither the
    fetch rhythm nor the buffer noticed: a real handover costs seconds and usually a stall.
    Phones are left out: they hand over between Wi-Fi and cellular, and QUIC or MPTCP
    connection migration can make that seamless."""
    return _unnoticed(s) and _within(s.switch_gaps, SEAMLESS_GAP_SEGMENTS * segment_s)


def seamless_move(s: SessionState, segment_s: float) -> bool:
    """The same for a move to a new address in another /24 (v6 /48) of the same operator."""
    return _unnoticed(s) and _within(s.move_gaps, SEAMLESS_GAP_SEGMENTS * segment_s)


def seamless_border(s: SessionState, segment_s: float) -> bool:
    """A desktop browser's change to a consumer network in another country (neither side a
    hosting or VPN network) with the fetch rhythm unbroken and no stall around it (2026.11.5).

    A home line cannot cross a border, so this is a proxy switching exits, not a person
    moving. Left out: phones (a roaming SIM's data is routed through its home country, and
    Wi-Fi to cellular can be seamless with connection migration), Gecko engines (Tor Browser,
    whose next circuit is built before it is used and exits anywhere), apps, and a change with
    a stall within ``STALL_NEAR_S`` (a real handover drains the buffer)."""
    return (
        s.ua_kind == "browser"
        and not s.ua_mobile
        and s.ua_engine in ("chromium", "webkit")
        and s.switch_stalls == 0
        and _within(s.border_gaps, SEAMLESS_GAP_SEGMENTS * segment_s)
    )


def seamless_phone(s: SessionState, segment_s: float) -> bool:
    """(2026.11.11) A phone's change of operator that the fetch rhythm never noticed, to a
    network it had not used, with no stall near it, and never on a mobile carrier's network
    (Wi-Fi <-> cellular can be seamless with QUIC or MPTCP connection migration, and a border
    crossing moves a phone from one carrier to another): Wi-Fi to another operator's Wi-Fi
    costs a new association and seconds. It only makes the phone a member of
    ``seamless_change_cohort``: a proxy pool's phone-dressed exits change together."""
    return (
        s.ua_mobile
        and s.switch_stalls == 0
        and s.asn_returns == 0
        and s.carrier_crossings == 0
        and not s.last_asn_mobile
        and _within(s.switch_gaps, SEAMLESS_GAP_SEGMENTS * segment_s)
    )


def seamless_hop(s: SessionState, segment_s: float) -> bool:
    """(2026.11.14) A phone's exit hop (``update._exit_hop``: another operator, never across the
    line between a mobile carrier and another network) that the fetch rhythm never noticed,
    with no stall near any change of operator, also when the phone crossed that line at other
    changes: only makes it a member of ``seamless_change_cohort``. Gecko (Tor) is left out."""
    return (
        s.ua_mobile
        and s.switch_stalls == 0
        and s.ua_engine != "gecko"
        and _within(s.hop_gaps, SEAMLESS_GAP_SEGMENTS * segment_s)
    )


def seamless_any(s: SessionState, segment_s: float) -> bool:
    return (
        seamless_change(s, segment_s)
        or seamless_move(s, segment_s)
        or seamless_border(s, segment_s)
        or seamless_phone(s, segment_s)
        or seamless_hop(s, segment_s)
    )


def _unnoticed(s: SessionState) -> bool:
    # (2026.11.11) a stall near the change, not any stall of the session: a proxy's slow exit
    # stalls now and then, and a stall minutes before a change says nothing about it
    return not (s.switch_stalls or s.country_switches or s.ua_mobile)


def _within(gaps: list[float], limit: float) -> bool:
    return any(gap <= limit for gap in gaps)


def register_network(c: ChannelState, s: SessionState, ip: str, asn: int) -> None:
    """Attach the session's first network to the channel's concurrency counts."""
    ip = canonical_ip(ip)
    s.reg_ip = f"i:{ip}"
    s.reg_subnet = f"s:{subnet_of(ip)}"
    s.reg_asn = asn
    counts = _bucket_for(c, s.refresh_minute)
    # An IPv4 address nobody else on the channel uses. IPv6 hands every device its own address,
    # so there an address of one's own says nothing (a campus /48 would look like a pool).
    fresh = ":" not in ip and not (c.conc_cur.get(s.reg_ip) or c.conc_prev.get(s.reg_ip))
    if counts is not None:
        _add_network(counts, s)
    ts = s.first_ts
    joins = c.recent_joins
    joins.append((ts, asn, s.reg_subnet, fresh))
    if len(joins) > RECENT_JOINS:
        del joins[0]
    _arrival(c, s.reg_subnet, ts)
    _arrival(c, f"a:{asn}", ts)
    if (s.client_ua or s.client_ja4) and ts - c.first_ts >= CLIENT_WARMUP_S:
        key = f"k:{zlib.crc32(f'{s.client_ua}|{s.client_ja4}'.encode()):08x}"
        s.reg_client = key
        s.reg_client_ts = ts
        _client_arrival(c, key, ts)
        note_join(c, key, ts, asn)  # (2026.11.14)
    register_failure(c, s, ts)  # a challenge that came back before the first request


def register_failure(c: ChannelState, s: SessionState, ts: float) -> None:
    """Count a session that failed a challenge (and passed none) in its /24, once per session,
    and once more if a failure of it reported automation; a pass afterwards withdraws both:
    that session showed a person after all. Since 2026.11.9 a session that passed is counted
    too, once, as a pass of its /24: people pass most challenges, so a block whose passes keep
    up with its failures is not read as one operator's (``subnet_challenges_failed``)."""
    if s.challenge_passed:
        if s.failure_shared:
            s.failure_shared = False
            entry = c.failures.get(s.reg_subnet)
            if entry is not None:
                entry[0] -= 1.0
                if s.automation_shared and len(entry) > 2:
                    entry[2] -= 1.0
            s.automation_shared = False
        if not s.pass_shared and s.reg_subnet:
            s.pass_shared = True
            entry = c.failures.get(s.reg_subnet)
            if entry is None:
                entry = c.failures[s.reg_subnet] = [0.0, ts, 0.0, 0.0]
            while len(entry) < 4:
                entry.append(0.0)  # an entry written before 2026.11.9, or with no pass yet
            entry[3] += 1.0
        return
    if not s.challenge_failed or not s.reg_subnet:
        return
    auto = s.challenge_automation > 0 and not s.automation_shared
    if s.failure_shared and not auto:
        return
    entry = c.failures.get(s.reg_subnet)
    if entry is None:
        entry = c.failures[s.reg_subnet] = [0.0, ts, 0.0]
    else:
        if len(entry) < 3:
            entry.append(0.0)  # state written by 2026.11.7 or earlier: no verdicts counted
        if ts > entry[1]:
            entry[1] = ts
    if not s.failure_shared:
        s.failure_shared = True
        entry[0] += 1.0
    if auto:
        s.automation_shared = True
        entry[2] += 1.0


def _arrival(c: ChannelState, key: str, ts: float) -> None:
    """Welford over the gaps between joins from one network (in the order they register)."""
    stats = c.arrivals.get(key)
    if stats is None:
        c.arrivals[key] = [ts, 0.0, 0.0, 0.0]
        return
    gap = ts - stats[0]
    if gap < 0:
        return  # out of order: leave the cadence alone
    stats[0] = ts
    if gap > ARRIVAL_EPISODE_S:
        stats[1] = stats[2] = stats[3] = 0.0
        return
    k = stats[1] + 1.0
    delta = gap - stats[2]
    mean = stats[2] + delta / k
    stats[3] += delta * (gap - mean)
    stats[2] = mean
    stats[1] = k


def _client_arrival(c: ChannelState, key: str, ts: float) -> None:
    """``_arrival`` for a client build, also noting the joins that kept the build's beat."""
    stats = c.arrivals.get(key)
    if stats is None:
        c.arrivals[key] = [ts, 0.0, 0.0, 0.0, 0.0]
        return
    prev_ts = stats[0]
    prev_gap = stats[4]
    gap = ts - prev_ts
    _arrival(c, key, ts)
    if gap < 0:
        return
    stats[4] = gap if gap <= ARRIVAL_EPISODE_S else 0.0
    mean = stats[2]
    if (
        prev_gap > 0
        and stats[4] > 0
        and ON_BEAT_LOW * mean <= prev_gap <= ON_BEAT_HIGH * mean
        and ON_BEAT_LOW * mean <= gap <= ON_BEAT_HIGH * mean
    ):
        beat = c.on_beat.get(key)
        if beat is None:
            beat = c.on_beat[key] = []
        if stats[1] == 2.0 and key[0] == "w":
            # (2026.11.13) the episode's first join of a build at a toolkit's window size:
            # nothing came before it (for five minutes), and the two gaps after it are on the
            # beat; it opened the run
            beat.append(prev_ts - prev_gap)
        beat.append(prev_ts)
        if len(beat) > ON_BEAT_KEEP:
            del beat[0]


def arrival_cv(c: ChannelState, key: str) -> float:
    """The coefficient of variation of ``key``'s current arrival cadence (9.0: none yet)."""
    stats = c.arrivals.get(key)
    if stats is None or stats[1] < 2 or stats[2] <= 0:
        return 9.0
    return math.sqrt(stats[3] / (stats[1] - 1.0)) / stats[2]


def _build_share(c: ChannelState, key: str, now: float) -> float:
    """The share of the channel's joins in the last ``BUILD_SHARE_BUCKETS`` buckets (up to
    ``now``) that ``key``'s cadence accounts for (its mean gap against the joins counted)."""
    stats = c.arrivals.get(key)
    if stats is None or stats[2] <= 0:
        return 1.0
    last = int(now // JOIN_BUCKET_S)
    first = last - BUILD_SHARE_BUCKETS + 1
    joins = sum(n for b, n in c.joins.items() if first <= b <= last)
    if joins <= 0:
        return 1.0
    return BUILD_SHARE_BUCKETS * JOIN_BUCKET_S / stats[2] / joins


def arrival_regularity(c: ChannelState, key: str) -> int:
    """Gaps in a regular arrival cadence from ``key`` (CV under ``TRICKLE_MAX_CV``), else 0."""
    stats = c.arrivals.get(key)
    if stats is None or stats[1] < TRICKLE_MIN_GAPS or stats[2] <= 0:
        return 0
    if stats[1] * stats[2] < TRICKLE_MIN_SPAN_S:
        return 0  # a wave arriving within a minute or two is not a trickle
    cv = math.sqrt(stats[3] / (stats[1] - 1.0)) / stats[2]
    return int(stats[1]) if cv < TRICKLE_MAX_CV else 0


_ASN_OF_JOIN = itemgetter(1)
_SUBNET_OF_JOIN = itemgetter(2)


def arrival_cluster(c: ChannelState, asn: int, subnet: str, now: float) -> int:
    """Joins from ``asn`` in the channel's last ``CLUSTER_WINDOW_S`` when they look like one
    scheduler feeding viewers in, else 0.

    All of: six or more joins over a minute or more at a steady beat (gap CV under 0.8: a
    scheduler alternating between two operators leaves each a thinned regular stream, CV about
    0.75, where independent arrivals give 1 and more); on IPv4 addresses no other session of
    the channel was using (a campus, an office, a carrier NAT or a VPN exit puts many people
    behind few addresses); a few of them per /24 (rented blocks; an ISP's subscribers spread
    over its prefixes), this session's /24 among them (a bystander of the same ISP is not);
    and the network is a quarter of the window's arrivals and three times its share of the
    channel's earlier ones (a channel whose audience always came from there never qualifies).
    """
    joins = c.recent_joins
    # Most sessions share their /24 with no other recent join, or their network has fewer
    # joins than a cluster needs: their answer is 0 (``own_block`` and ``k`` below), found by
    # counts that run in C instead of the loop.
    if (
        list(map(_SUBNET_OF_JOIN, joins)).count(subnet) < 2
        or list(map(_ASN_OF_JOIN, joins)).count(asn) < CLUSTER_MIN_JOINS
    ):
        return 0
    start = now - CLUSTER_WINDOW_S
    times: list[float] = []
    subnets: set[str] = set()
    window = earlier = earlier_own = 0
    shared = own_block = 0
    for ts, j_asn, j_subnet, fresh in joins:
        if ts < start:
            earlier += 1
            earlier_own += j_asn == asn
            continue
        if ts > now:
            continue
        window += 1
        if j_asn == asn:
            times.append(ts)
            subnets.add(j_subnet)
            shared += not fresh
            own_block += j_subnet == subnet
    k = len(times)
    least = CLUSTER_MIN_JOINS_ONE_BLOCK if len(subnets) == 1 else CLUSTER_MIN_JOINS
    if (
        k - shared < least
        or shared > CLUSTER_MAX_SHARED * k
        or k < CLUSTER_PER_SUBNET * len(subnets)
        or own_block < 2
    ):
        return 0
    # The channel's usual share from this network (none known without a few earlier joins).
    baseline = earlier_own / earlier if earlier >= CLUSTER_MIN_BASELINE else 0.0
    if k < CLUSTER_MIN_SHARE * window or k < CLUSTER_LIFT * baseline * window:
        return 0
    times.sort()
    span = times[-1] - times[0]
    if span < CLUSTER_MIN_SPAN_S:
        return 0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    mean = span / len(gaps)
    var = sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1)
    return k if math.sqrt(var) < CLUSTER_MAX_CV * mean else 0


def arrival_pair(c: ChannelState, asn: int, join_ts: float, now: float) -> tuple[int, float]:
    """(2026.11.13, network beat) Joins from ``asn`` and the channel's other most frequent
    network of the last ``PAIR_WINDOW_S``, merged, when they keep one steady beat and the join
    at ``join_ts`` kept it (the gaps before and after it both on the beat): (joins, gap CV),
    else (0, 9.0).

    A scheduler that spreads its viewers over two operators leaves each a thinned stream (CV
    ~0.75 for a random split), while the merged stream keeps the scheduler's beat (~0.35 for
    a gap drawn uniformly from 3-12 s). People of the two biggest networks of a channel arrive
    at random (CV ~1) or in waves. Joins in the channel's first minute of log (mostly viewers
    already watching) are left out. Bounded by ``RECENT_JOINS``; read at scoring time only.
    """
    start = now - PAIR_WINDOW_S
    floor = c.first_ts + CLIENT_WARMUP_S
    if join_ts < start or join_ts < floor:
        return 0, 9.0  # the join left the window (or came before the log's first minute)
    counts: dict[int, int] = {}
    for ts, j_asn, _, _ in c.recent_joins:
        if start <= ts <= now and ts >= floor:
            counts[j_asn] = counts.get(j_asn, 0) + 1
    if counts.get(asn, 0) < 2 or join_ts < floor:
        return 0, 9.0
    partner, best = asn, 0
    for other, n in counts.items():
        if other != asn and (n > best or (n == best and other < partner)):
            partner, best = other, n
    times = sorted(
        ts
        for ts, j_asn, _, _ in c.recent_joins
        if start <= ts <= now and ts >= floor and j_asn in (asn, partner)
    )
    k = len(times)
    if k < PAIR_MIN_JOINS or times[-1] - times[0] < PAIR_MIN_SPAN_S:
        return 0, 9.0
    if counts[asn] < PAIR_MIN_SHARE * k:
        # (2026.11.23.2) A scheduler's two operators each carry a good part of its stream; a
        # network with a couple of joins next to the partner's own drip only borrows its beat.
        return 0, 9.0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    mean = (times[-1] - times[0]) / len(gaps)
    if mean <= 0:
        return 0, 9.0
    cv = math.sqrt(sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1)) / mean
    if cv >= PAIR_MAX_CV:
        return 0, 9.0
    i = times.index(join_ts) if join_ts in times else -1
    if i <= 0 or i >= k - 1:
        return 0, 9.0  # not in the window, or no gap on one side yet
    low, high = ON_BEAT_LOW * mean, ON_BEAT_HIGH * mean
    if not (low <= gaps[i - 1] <= high and low <= gaps[i] <= high):
        return 0, 9.0
    return k, cv


def register_heights(c: ChannelState, s: SessionState) -> None:
    """Tell the channel about rendition heights this session fetched that it had not reported:
    the channel's ladder is the set of rungs its viewers actually download."""
    heights = c.heights
    for height in s.seg_heights[s.heights_shared :]:
        if height not in heights and len(heights) < MAX_KEYS:
            heights.append(height)
    s.heights_shared = len(s.seg_heights)


def _add_network(counts: dict[str, int], s: SessionState) -> None:
    if not counts.get(s.reg_ip):
        _add(counts, "d" + s.reg_subnet)  # a new address of this /24 in this minute
    # Per ASN (2026.11.6): its /24s in this minute, and how many of them (and of its
    # sessions) are in crowded /24s, so a crowded /24 can be compared with the ASN's others.
    before = counts.get(s.reg_subnet, 0)
    if not before:
        _add(counts, f"n:{s.reg_asn}")
    elif before >= POOL_MIN_ADDRESSES - 1:
        if before == POOL_MIN_ADDRESSES - 1:
            _add(counts, f"cn:{s.reg_asn}")
            counts[f"c:{s.reg_asn}"] = counts.get(f"c:{s.reg_asn}", 0) + POOL_MIN_ADDRESSES
        else:
            _add(counts, f"c:{s.reg_asn}")
    _add(counts, s.reg_ip)
    _add(counts, s.reg_subnet)
    _add(counts, f"a:{s.reg_asn}")


def register_grid(c: ChannelState, s: SessionState, ts: float) -> None:
    """Once a session's heartbeat timer is known, count its phase at once (not next minute)."""
    _grid_keys(s)
    if s.grid_fine:
        counts = _bucket_for(c, int(ts // 60.0))
        if counts is not None:
            _add(counts, s.grid_fine)
            _add(counts, s.grid_coarse)


def register_first_beat(c: ChannelState, s: SessionState, ts: float) -> None:
    """Count the session's first heartbeat, if it follows a player start seen in the log.

    Only read once per session (``beat_bin`` -2 when it cannot be read): a hidden player's
    timers, and beats on a whole second (browsers align throttled timers to those), are left
    out, as are sessions whose start was not seen (already watching when the log began).
    """
    s.beat_bin = -2
    start = s.p_start_ts
    if start < 0 or not s.p_visible or not 0 <= ts - start <= FIRST_BEAT_MAX_DELAY_S:
        return
    offset = ts % 1.0
    if offset < FIRST_BEAT_WHOLE_SECOND_S or offset > 1.0 - FIRST_BEAT_WHOLE_SECOND_S:
        return
    b = int(ts // FIRST_BEAT_BIN_S)
    s.beat_bin = b
    s.beat_ts = ts
    since_start = ts - start
    since_first = ts - s.first_ts
    entry = c.beats.get(b)
    if entry is None:
        c.beats[b] = [1.0, since_start, since_start * since_start, since_first, since_first**2]
    else:
        entry[0] += 1.0
        entry[1] += since_start
        entry[2] += since_start * since_start
        entry[3] += since_first
        entry[4] += since_first * since_first
    cb = int(ts // FIRST_BEAT_COARSE_S)
    c.beats_coarse[cb] = c.beats_coarse.get(cb, 0) + 1


def _first_beat_cohort(c: ChannelState, s: SessionState) -> None:
    b = s.beat_bin
    beats = c.beats
    n = a1 = a2 = f1 = f2 = 0.0
    for key in (b - 1, b, b + 1):
        entry = beats.get(key)
        if entry is not None:
            n += entry[0]
            a1 += entry[1]
            a2 += entry[2]
            f1 += entry[3]
            f2 += entry[4]
    if n < 4:
        return
    cb = int(s.beat_ts // FIRST_BEAT_COARSE_S)
    coarse = c.beats_coarse
    around = coarse.get(cb - 1, 0) + coarse.get(cb, 0) + coarse.get(cb + 1, 0) - n
    expected = max(around, 0.0) * _FINE_SHARE
    surprise = (n - 1 - expected) / math.sqrt(expected + 1.0)
    if surprise <= s.beat_surprise:
        return
    spread = math.sqrt(max(min(a2 / n - (a1 / n) ** 2, f2 / n - (f1 / n) ** 2), 0.0))
    if spread >= FIRST_BEAT_MIN_SPREAD_S:
        s.beat_surprise = round(surprise, 3)
        s.beat_peers = int(n) - 1
        s.beat_spread = round(spread, 3)


def _grid_keys(s: SessionState) -> None:
    """The phase of a regular heartbeat timer, as keys sessions on one timer share."""
    if s.hb_gap_n < 2 or s.hb_gap_mean < 2.0:
        s.grid_fine = s.grid_coarse = ""
        return
    if math.sqrt(s.hb_gap_m2 / (s.hb_gap_n - 1)) > 0.02 * s.hb_gap_mean:
        s.grid_fine = s.grid_coarse = ""
        return
    period = round(s.hb_gap_mean * 2.0) / 2.0
    phase = s.hb_last_ts % period
    offset = phase % 1.0
    if s.hidden_s > 0.5 * s.play_s or offset < 0.05 or offset > 0.95:
        # Browsers align the timers of hidden tabs to whole seconds (and minutes), so those
        # share a grid by design: not a controller's grid.
        s.grid_fine = s.grid_coarse = ""
        return
    s.grid_fine = f"hf:{period}:{int(phase / GRID_FINE_S)}"
    s.grid_coarse = f"hc:{period}:{int(phase / GRID_COARSE_S)}"


def _rotate(c: ChannelState, minute: int) -> None:
    if minute == c.minute + 1:
        c.conc_prev = c.conc_cur
    else:
        c.conc_prev = {}
    c.conc_cur = {}
    c.minute = minute
    oldest = int(minute * 60.0 // JOIN_BUCKET_S) - JOIN_KEEP_BUCKETS
    for buckets in (c.joins, c.tunnel_joins):
        for b in [b for b in buckets if b < oldest]:
            del buckets[b]
    horizon = minute * 60.0 - ARRIVAL_KEEP_S
    gone = [key for key, stats in c.arrivals.items() if stats[0] < horizon]
    for key in gone:
        del c.arrivals[key]
        c.on_beat.pop(key, None)
        c.build_joins.pop(key, None)
        c.build_join_asns.pop(key, None)
        c.build_flagged.pop(key, None)
    gone = [key for key, entry in c.failures.items() if entry[1] < horizon]
    for key in gone:
        del c.failures[key]
    if c.beats:
        oldest = minute * 60.0 - FIRST_BEAT_KEEP_S
        old = [key for key in c.beats if key * FIRST_BEAT_BIN_S < oldest]
        for key in old:
            del c.beats[key]
        old = [key for key in c.beats_coarse if key * FIRST_BEAT_COARSE_S < oldest]
        for key in old:
            del c.beats_coarse[key]


def _bucket_for(c: ChannelState, minute: int) -> dict[str, int] | None:
    if minute == c.minute:
        return c.conc_cur
    if minute == c.minute - 1:
        return c.conc_prev
    return None


def _add(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def concurrent(c: ChannelState, key: str) -> int:
    """Sessions with ``key`` active in the current or the last complete minute."""
    cur = c.conc_cur.get(key, 0)
    prev = c.conc_prev.get(key, 0)
    return cur if cur > prev else prev


def _neighbourhood(c: ChannelState, key: str) -> int:
    """Count of ``prefix:period:bin`` plus its two neighbouring bins."""
    head, _, index = key.rpartition(":")
    i = int(index)
    return concurrent(c, f"{head}:{i - 1}") + concurrent(c, key) + concurrent(c, f"{head}:{i + 1}")


def observe_context(c: ChannelState, s: SessionState) -> None:
    """Refresh the session's view of its channel (kept as maxima, so it only converges)."""
    total = concurrent(c, ALL)
    if total > s.channel_sessions:
        s.channel_sessions = total
    if s.reg_ip:
        peers = concurrent(c, s.reg_ip) - 1
        if peers > s.peers_ip:
            s.peers_ip = peers
        peers = concurrent(c, s.reg_subnet) - 1
        if peers > s.peers_subnet:
            s.peers_subnet = peers
        peers = concurrent(c, "d" + s.reg_subnet) - 1
        if peers > s.subnet_addresses:
            s.subnet_addresses = peers
        peers = concurrent(c, f"a:{s.reg_asn}") - 1
        if peers > s.peers_asn:
            s.peers_asn = peers
        if s.subnet_addresses >= POOL_MIN_ADDRESSES - 1:
            # How this /24 compares with the ASN's uncrowded /24s on the channel (fewer than
            # POOL_MIN_ADDRESSES sessions), in the same minute: a few rented blocks of an ISP
            # stand out against its subscribers, who spread over its prefixes one or two per
            # /24; a carrier-grade NAT's pool fills all its /24s alike.
            asn = s.reg_asn
            small_nets = concurrent(c, f"n:{asn}") - concurrent(c, f"cn:{asn}")
            own = concurrent(c, s.reg_subnet)
            if small_nets >= LIFT_MIN_NETS and own >= POOL_MIN_ADDRESSES:
                small = concurrent(c, f"a:{asn}") - concurrent(c, f"c:{asn}")
                # (each of those /24s holds one session at least: the counts are per minute
                # and may come from two minutes)
                lift = own * small_nets / max(small, small_nets)
                if lift > s.subnet_lift:
                    s.subnet_lift = round(lift, 2)
        if s.last_ts - s.first_ts <= 600.0:
            regular = max(
                arrival_regularity(c, s.reg_subnet), arrival_regularity(c, f"a:{s.reg_asn}")
            )
            if regular > s.trickle_joins:
                s.trickle_joins = regular
            cluster = arrival_cluster(c, s.reg_asn, s.reg_subnet, s.last_ts)
            if cluster > s.cluster_joins:
                s.cluster_joins = cluster
            pair, pair_cv = arrival_pair(c, s.reg_asn, s.first_ts, s.last_ts)
            if pair > s.pair_joins:  # (2026.11.13, network beat)
                s.pair_joins = pair
                s.pair_cv = round(pair_cv, 3)
        if s.reg_client and s.last_ts - s.first_ts <= CLIENT_TRICKLE_READ_S:
            # (2026.11.11) Joins of this session's client build came at a steady beat, and
            # this session's own join kept it (gaps before and after it both on the beat).
            beat = c.on_beat.get(s.reg_client)
            if beat and s.reg_client_ts in beat:
                regular = arrival_regularity(c, s.reg_client)
                if regular > s.client_trickle:
                    s.client_trickle = regular
                if regular and _build_share(c, s.reg_client, s.last_ts) <= BUILD_MAX_SHARE:
                    cv = arrival_cv(c, s.reg_client)
                    if cv < s.client_trickle_cv:
                        s.client_trickle_cv = round(cv, 3)
            read_drip(c, s)  # (2026.11.14)
        elif s.toolkit_crowd and s.build_key:
            read_crowd_beat(c, s)  # (2026.11.14)
    if c.failures or s.subnet_failures or s.subnet_automation or s.subnet_passes:
        # The current count, not a maximum: a neighbour's pass withdraws its failure. Read for
        # every session since 2026.11.6 (a pool's members that passed or were never
        # challenged are judged by their block's failures too, see ``pool_challenges_failed``).
        # Since 2026.11.9 also when the channel's last entry has expired, so the counts drop
        # to zero with it instead of keeping what was last read.
        entry = c.failures.get(s.reg_subnet)
        if entry is not None:
            s.subnet_failures = int(entry[0]) - s.failure_shared
            auto = int(entry[2]) - s.automation_shared if len(entry) > 2 else 0
            s.subnet_automation = max(auto, 0)  # (an entry dropped and begun again)
            passes = int(entry[3]) - s.pass_shared if len(entry) > 3 else 0
            s.subnet_passes = max(passes, 0)
        elif s.subnet_failures or s.subnet_automation or s.subnet_passes:
            s.subnet_failures = 0
            s.subnet_automation = 0
            s.subnet_passes = 0
    if s.build_key and s.play_s >= INERT_MIN_PLAY_S and inert(s):
        # (2026.11.12) Other sessions of this build, muted and untouched like this one, in the
        # same minute (a maximum: once read, it stays read, but ``inert_cohort`` also needs
        # this session to be inert still, so a later gesture clears it).
        n = concurrent(c, INERT + s.build_key)
        build = concurrent(c, s.build_key)
        if n > s.inert_cohort:
            s.inert_cohort = n
        if (
            n >= INERT_BUILD
            and n >= INERT_BUILD_SHARE * build
            and build <= BUILD_MAX_SHARE * concurrent(c, BUILT)
            and concurrent(c, INERT) >= INERT_CHANNEL
        ):
            # A farm stands out among the builds of an audience; when one build is (nearly)
            # the whole audience (a managed deployment, a kiosk or signage screens of one
            # build), its untouched players say nothing about a farm.
            s.inert_crowd = True
    if s.family_key and s.viewport_w > 0:
        _toolkit_context(c, s)
    if s.switch_gaps or s.move_gaps:
        cohort = concurrent(c, SEAMLESS)
        if cohort > s.seamless_cohort:
            s.seamless_cohort = cohort
    if c.heights:
        s.ladder_min = min(c.heights)
        s.ladder_max = max(c.heights)
    if s.grid_fine:
        fine = _neighbourhood(c, s.grid_fine)
        if fine > 1:
            # Poisson surprise of the sessions within 0.15 s of this phase, against the density
            # of phases in the 6 s around it: a raid's timers spread over seconds, one
            # controller's timers do not.
            around = max(_neighbourhood(c, s.grid_coarse) - fine, 0)
            expected = around * _FINE_SHARE
            surprise = (fine - 1 - expected) / math.sqrt(expected + 1.0)
            if surprise > s.lockstep_surprise:
                s.lockstep_surprise = surprise
                s.lockstep_peers = fine - 1
            if surprise >= LOCKSTEP_SURPRISE and fine >= 5 and s.lockstep_minute != c.minute:
                s.lockstep_minute = c.minute
                s.lockstep_minutes += 1
    if s.beat_bin >= 0 and s.last_ts - s.beat_ts <= FIRST_BEAT_KEEP_S:
        _first_beat_cohort(c, s)
    if s.join_bucket >= 0 and s.last_ts - s.first_ts <= 120.0:
        burst = join_burst(c, s.join_bucket)
        if burst > s.join_burst:
            s.join_burst = burst
    if s.join_bucket >= 0:
        _tunnel_wave(c, s)


def _toolkit_context(c: ChannelState, s: SessionState) -> None:
    """(2026.11.13) Sessions of this session's client family (TLS stack, platform and browser,
    any version) at its exact window size in the same minute.

    Not read while that family is (nearly) the channel's whole audience as a managed
    deployment (kiosks, signage, a lab of identical machines), which shares build or screen by
    design. (2026.11.23) A family that is the whole audience with neither, spread over several
    exact window sizes and several builds, is read: a fleet's screens or its build are alike,
    while a farm rotates the Chrome version it claims and draws its windows from a short list
    (seed 1804: 113 stealth Chromes of six versions at four sizes next to 10 people).
    ``toolkit_view`` counts them all while they are a fifth of the family's sessions or more;
    ``toolkit_inert`` counts the untouched ones while they are a third of them or more (people
    leave a player muted and untouched for five minutes now and then; a farm's browsers do).
    """
    family = concurrent(c, s.family_key)
    key = view_key(s)
    view = concurrent(c, key)
    if family > BUILD_MAX_SHARE * concurrent(c, BUILT) and (
        view >= FLEET_SHARE * family or concurrent(c, s.build_key) >= FLEET_SHARE * family
    ):
        return
    if view >= TOOLKIT_MIN and view >= TOOLKIT_VIEW_SHARE * family and view > s.toolkit_view:
        s.toolkit_view = view
    if not s.reg_client and view >= TOOLKIT_CROWD_MIN and s.build_key:
        _toolkit_crowd(c, s, family)
    if s.reg_client and s.last_ts - s.first_ts <= CLIENT_TRICKLE_READ_S:
        # the beat of the exact build, or of the exact build at this session's window size
        _toolkit_beat(c, s, s.reg_client)
        if len(s.view_arrival) > 1:
            _toolkit_beat(c, s, s.view_arrival)
    if s.play_s >= INERT_MIN_PLAY_S and inert(s):
        idle = concurrent(c, INERT + key)
        if idle >= TOOLKIT_MIN and idle >= TOOLKIT_INERT_SHARE * view and idle > s.toolkit_inert:
            s.toolkit_inert = idle


def _toolkit_crowd(c: ChannelState, s: SessionState, family: int) -> None:
    """(2026.11.13, crowd) For a session whose join the channel did not see: the sessions of its
    exact build at its exact size in the same minute, when they are a crowd no people make and
    the joins of that build at that size seen since keep a beat from changing networks."""
    size = f"{s.viewport_w}x{s.viewport_h}"
    crowd = concurrent(c, f"{CROWD}{s.build_key}:{size}")
    if crowd < TOOLKIT_CROWD_MIN or crowd <= s.toolkit_crowd:
        return
    key = f"wk:{s.build_key[2:]}:{size}"
    seen = c.arrivals.get(key)
    if (
        seen is None
        or len(seen) < 7
        or seen[1] < TOOLKIT_CROWD_SEEN_GAPS
        or seen[1] * seen[2] < TOOLKIT_CROWD_SEEN_SPAN_S
        or seen[6] < TOOLKIT_CROWD_SWITCH_SHARE * seen[1]
        or arrival_cv(c, key) >= TRICKLE_MAX_CV
    ):
        return
    build = concurrent(c, s.build_key)
    audience = concurrent(c, ALL)
    if crowd >= TOOLKIT_CROWD_BUILD_SHARE * build and crowd >= (
        TOOLKIT_CROWD_AUDIENCE_SHARE * audience
    ):
        s.toolkit_crowd = crowd
        s.toolkit_crowd_aud = int(1000 * crowd / max(audience, 1))
        s.toolkit_crowd_build = int(1000 * crowd / max(build, 1))


def _toolkit_beat(c: ChannelState, s: SessionState, key: str) -> None:
    beat = c.on_beat.get(key)
    stats = c.arrivals.get(key)
    if beat and stats and s.reg_client_ts in beat:
        gaps = stats[1]
        if (
            gaps >= TOOLKIT_BEAT_GAPS
            and gaps > s.toolkit_beat
            and gaps * stats[2] >= TRICKLE_MIN_SPAN_S
            and arrival_cv(c, key) < TOOLKIT_BEAT_CV
        ):
            s.toolkit_beat = int(gaps)


def _tunnel_wave(c: ChannelState, s: SessionState) -> None:
    """(2026.11.23.2) Count this session among its join bucket's tunnel joins once its path is
    known, and while it came in a burst, read the share of the burst's joins (the 30 s around
    its own) that came through a tunnel: a campaign's wave from one proxy service does; a
    raid's people come from their own lines, a few of them over a VPN or from far away."""
    if not s.tunnel_joined and long_fast_path(s):
        s.tunnel_joined = True
        c.tunnel_joins[s.join_bucket] = c.tunnel_joins.get(s.join_bucket, 0) + 1
    if not s.tunnel_joined or s.join_burst < TUNNEL_WAVE_BURST:
        return
    around = (s.join_bucket - 1, s.join_bucket, s.join_bucket + 1)
    joins = sum(c.joins.get(b, 0) for b in around)
    if joins < TUNNEL_WAVE_MIN_JOINS:
        return
    share = int(1000 * sum(c.tunnel_joins.get(b, 0) for b in around) / joins)
    if share > s.tunnel_wave:
        s.tunnel_wave = share


def join_burst(c: ChannelState, bucket: int) -> float:
    """How many standard deviations the joins in the 30 s around ``bucket`` sit above what the
    channel's usual join rate predicts (Poisson). The usual rate is a trimmed mean of the 5
    minutes before, so an earlier wave does not hide the next one. 0 without that history: when
    a stream (or a replay, or a worker) starts, everyone already watching "joins" at once.
    """
    if c.first_ts > (bucket - 1 - BURST_BASELINE_BUCKETS) * JOIN_BUCKET_S:
        return 0.0
    joins = c.joins
    window = joins.get(bucket - 1, 0) + joins.get(bucket, 0) + joins.get(bucket + 1, 0)
    if window < 4:
        return 0.0
    history = sorted(
        joins.get(b, 0) for b in range(bucket - 1 - BURST_BASELINE_BUCKETS, bucket - 1)
    )
    kept = history[: len(history) - BURST_TRIM]
    expected = 3.0 * sum(kept) / len(kept)
    return (window - expected) / math.sqrt(expected + 1.0)


def vote_segment_duration(c: ChannelState, s: SessionState) -> None:
    """Once per session that kept a fetch rhythm for a dozen segments, vote for its pace.

    The pace (fetching time per forward step of the segment number) of a player is the
    segment duration; the channel takes the most common vote, so a minority of odd clients
    cannot move it.
    """
    if s.segdur_voted or s.seg_steps < VOTE_AFTER_STEPS:
        return
    s.segdur_voted = True
    if s.seg_unit_n < 0.8 * s.seg_fwd_n:
        # Only a client that fetched the numbers one after another measures the duration; a
        # sampler skipping segments would vote for a multiple of it.
        return
    estimate = s.seg_paced_s / s.seg_steps
    if 0.5 <= estimate <= 12.0:
        key = round(estimate * 2.0)
        c.segdur_votes[key] = c.segdur_votes.get(key, 0) + 1


def segment_seconds(c: ChannelState | None) -> tuple[float, bool]:
    """The channel's segment duration and whether its sessions agreed on it yet.

    Until they have, the DESIGN default (2 s) is only a guess, and rules that depend on it
    stay quiet: a deployment with 6 s segments must not look like a channel of slow clients.
    """
    if c is None or not c.segdur_votes:
        return DEFAULT_SEGMENT_S, False
    best_key, best = 0, 0
    total = 0
    for key, votes in c.segdur_votes.items():
        total += votes
        if votes > best or (votes == best and key < best_key):
            best_key, best = key, votes
    if total < MIN_SEGDUR_VOTES:
        return DEFAULT_SEGMENT_S, False
    return best_key / 2.0, True
