"""(2026.11.14) A scheduler's beat that survives people joining in between (``drip_beat``).

``client_trickle`` reads a build's join cadence with a running mean and variance, so a raid
or a few people of a popular build arriving among a slow drip's joins break it for the rest
of the episode. Here the channel keeps each build's last ``BUILD_JOINS_KEEP`` join times
(``ChannelState.build_joins``, O(1) per join) and a session reads, at scoring time, a robust
figure of the joins around its own:

- joins within ``MERGE_S`` of the one before are one (a raid, a reload);
- the dispersion is the gaps' interquartile range over their median: people arriving at random
  give about 1.6 (exponential gaps), a scheduler drawing its gap from a band of +-60 % at
  most gives 0.6 or less, and a few people among its joins move the quartiles little;
- the session's own join kept the beat: the gaps before and after it are both within
  ``ON_BEAT_LOW``-``ON_BEAT_HIGH`` of the median and together make ``PAIR_MIN`` medians or
  more;
- three quarters of the gaps or more lie within ``BAND_LOW``-``BAND_HIGH`` of the median
  (random arrivals: about a third), over ``MIN_GAPS`` gaps or more (fewer are too noisy: the
  session reads its figure again and again, and keeps the maximum).

A person of the drip's build who arrives between two of its joins splits one gap
  (before + after is one gap, not two) and is not on the beat.

Joins of the channel's first minute of log are never registered (``channel.register_network``):
viewers already watching when the log began did not arrive then.

(2026.11.23.3) Runs of joins of sessions the engine has already flagged on other evidence (a
farm on rented servers, a failed challenge: ``note_flagged``), two or more flagged joins in a
row, are left out of the reading. A bot farm of the drip's exact build arriving in a wave next
to it otherwise breaks the beat with a run of short gaps, and the drip hides behind the farm
that was caught. A lone flagged join stays (it may be one of the drip's own). Sessions flagged
on their arrival or their toolkit's crowd (the beat itself, a trickle, a cluster,
``toolkit_cohort``) stay in: they may be the drip's own, and leaving them out would break the
beat they make.
"""

from __future__ import annotations

import itertools
import math

from engine.detect.state import ChannelState, SessionState

BUILD_JOINS_KEEP = 40  # join times kept per client build and channel
WINDOW_S = 600.0  # joins read on each side of the session's own
MERGE_S = 2.0
MIN_GAPS = 16
MAX_DISPERSION = 0.7
ON_BEAT_LOW = 0.4
ON_BEAT_HIGH = 1.8
PAIR_MIN = 1.4
BAND_LOW = 0.5
BAND_HIGH = 1.5
MIN_BAND_SHARE = 0.75
WHOLE_AUDIENCE_SHARE = 0.9  # ``channel.BUILD_MAX_SHARE``: a build this share of the sessions
CROWD_MIN_OWN_NETWORK = 2  # (crowd) joins of the build's kept ones from the session's ASN
# Reasons about when a session arrived, or that its toolkit's crowd arrived: a session flagged
# with one of these may be one of a drip's, and stays in its build's beat (``note_flagged``).
TIMING_CODES = frozenset(
    (
        "drip_beat",
        "network_beat",
        "client_trickle",
        "join_trickle",
        "arrival_cluster",
        "toolkit_cohort",
    )
)


def note_join(c: ChannelState, key: str, ts: float, asn: int) -> None:
    """Remember a join of client build ``key`` and its ASN (in arrival order; bounded)."""
    joins = c.build_joins.get(key)
    asns = c.build_join_asns.get(key)
    if joins is None or asns is None:
        c.build_joins[key] = [ts]
        c.build_join_asns[key] = [asn]
        return
    joins.append(ts)
    asns.append(asn)
    if len(joins) > BUILD_JOINS_KEEP:
        del joins[0]
        del asns[0]


def note_flagged(c: ChannelState, s: SessionState) -> None:
    """Once, at a session's first non-``count`` action: remember its join as flagged on other
    evidence, unless it was flagged on arrival timing (``TIMING_CODES``)."""
    s.flag_seen = True
    if not s.reg_client or any(code in TIMING_CODES for code in s.reasons):
        return
    flagged = c.build_flagged.get(s.reg_client)
    if flagged is None:
        c.build_flagged[s.reg_client] = [s.reg_client_ts]
        return
    flagged.append(s.reg_client_ts)
    if len(flagged) > BUILD_JOINS_KEEP:
        del flagged[0]


def _unflagged(c: ChannelState, key: str, times: list[float]) -> list[float]:
    """``times`` without the flagged joins that came in a run of them (a caught wave): a flagged
    join between two unflagged ones stays, since it may be one of the drip's own (caught on a
    failed challenge, say), and without it a person joining in its hole would look on the beat."""
    flagged = c.build_flagged.get(key)
    if not flagged:
        return times
    marks = set(flagged)
    ordered = sorted(times)
    hit = [ts in marks for ts in ordered]
    last = len(ordered) - 1
    return [
        ts
        for i, ts in enumerate(ordered)
        if not (hit[i] and ((i > 0 and hit[i - 1]) or (i < last and hit[i + 1])))
    ]


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    xs = sorted(xs)
    n = len(xs) - 1

    def q(p: float) -> float:
        k = n * p
        i = int(k)
        if i >= n:
            return xs[n]
        f = k - i
        return xs[i] * (1.0 - f) + xs[i + 1] * f

    return q(0.25), q(0.5), q(0.75)


def _merged(times: list[float], start: float, end: float) -> list[float]:
    win: list[float] = []
    for ts in sorted(times):
        if ts < start or ts > end:
            continue
        if win and ts - win[-1] < MERGE_S:
            continue
        win.append(ts)
    return win


def _beat(gaps: list[float]) -> tuple[float, float]:
    """(median gap, dispersion) when ``gaps`` keep a beat, else (0.0, 9.0)."""
    if len(gaps) < MIN_GAPS:
        return 0.0, 9.0
    q1, median, q3 = _quartiles(gaps)
    if median <= 0:
        return 0.0, 9.0
    dispersion = (q3 - q1) / median
    if dispersion >= MAX_DISPERSION:
        return 0.0, 9.0
    band_low, band_high = BAND_LOW * median, BAND_HIGH * median
    in_band = sum(1 for g in gaps if band_low <= g <= band_high)
    if in_band < MIN_BAND_SHARE * len(gaps):
        return 0.0, 9.0
    return median, dispersion


def stream_beat(times: list[float]) -> tuple[int, float]:
    """(gaps, dispersion) of all the joins in ``times`` when they keep a beat, else (0, 9.0)."""
    if len(times) <= MIN_GAPS:
        return 0, 9.0
    win = _merged(times, -math.inf, math.inf)
    gaps = [b - a for a, b in itertools.pairwise(win)]
    median, dispersion = _beat(gaps)
    return (len(gaps), dispersion) if median else (0, 9.0)


def beat_around(times: list[float], join_ts: float) -> tuple[int, float]:
    """(gaps, dispersion) of the joins within ``WINDOW_S`` of ``join_ts`` when they keep a beat
    and the join at ``join_ts`` kept it, else (0, 9.0)."""
    win = _merged(times, join_ts - WINDOW_S, join_ts + WINDOW_S)
    if len(win) <= MIN_GAPS:
        return 0, 9.0
    if any(ts != join_ts and abs(ts - join_ts) < MERGE_S for ts in times):
        return 0, 9.0  # (2026.11.23.3) joined with another of the build: whose slot it is is moot
    try:
        i = win.index(join_ts)
    except ValueError:
        return 0, 9.0  # merged into the join before it
    if i == 0 or i == len(win) - 1:
        return 0, 9.0
    gaps = [b - a for a, b in itertools.pairwise(win)]
    median, dispersion = _beat(gaps)
    if not median:
        return 0, 9.0
    before, after = gaps[i - 1], gaps[i]
    low, high = ON_BEAT_LOW * median, ON_BEAT_HIGH * median
    if not (low <= before <= high and low <= after <= high and before + after >= PAIR_MIN * median):
        return 0, 9.0
    return len(gaps), dispersion


def _concurrent(c: ChannelState, key: str) -> int:
    cur = c.conc_cur.get(key, 0)
    prev = c.conc_prev.get(key, 0)
    return cur if cur > prev else prev


def _whole_audience(c: ChannelState, build: str) -> bool:
    """The build is (nearly) the channel's whole audience (a managed deployment, a hand-built
    audience): its beat is the audience's own, not a stream inside it (``channel.BUILT``)."""
    return _concurrent(c, "b:" + build[2:]) > WHOLE_AUDIENCE_SHARE * _concurrent(c, "bk")


def read_drip(c: ChannelState, s: SessionState) -> None:
    """Refresh ``s.drip_gaps`` / ``s.drip_disp`` (maxima of gaps) from its build's joins."""
    times = c.build_joins.get(s.reg_client)
    if times is None or len(times) <= MIN_GAPS or times[-1] <= s.reg_client_ts:
        return
    if times[-1] == s.drip_read_ts or times[0] > s.reg_client_ts:
        return  # nothing new since the last reading, or its join is no longer kept
    if _whole_audience(c, s.reg_client):
        return
    s.drip_read_ts = times[-1]
    gaps, dispersion = beat_around(_unflagged(c, s.reg_client, times), s.reg_client_ts)
    if gaps > s.drip_gaps:
        s.drip_gaps = gaps
        s.drip_disp = round(dispersion, 3)


def read_crowd_beat(c: ChannelState, s: SessionState) -> None:
    """For a session whose join the channel did not see, in a crowd of its exact build at its
    exact window size (``toolkit_crowd``): whether its build's joins seen since keep a beat,
    ``CROWD_MIN_OWN_NETWORK`` of them or more from the session's own network (ASN): the
    scheduler still feeds viewers in through the networks its earlier ones use; a person of
    that build and size elsewhere is only a bystander of the crowd."""
    key = "k:" + s.build_key[2:]
    times = c.build_joins.get(key)
    if times is None or len(times) <= MIN_GAPS or times[-1] == s.drip_read_ts:
        return
    if _whole_audience(c, key):
        return
    s.drip_read_ts = times[-1]
    if c.build_join_asns.get(key, []).count(s.reg_asn) < CROWD_MIN_OWN_NETWORK:
        return
    gaps, dispersion = stream_beat(_unflagged(c, key, times))
    if gaps > s.drip_gaps:
        s.drip_gaps = gaps
        s.drip_disp = round(dispersion, 3)
