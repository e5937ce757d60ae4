"""What the core remembers: one SessionState per viewing session, one ChannelState per channel.

Both are plain msgspec structs of numbers, short strings and small bounded lists, so the Faust
runtime can keep them in tables (``encode_state`` / ``decode_*``) and replay can keep millions
of events' worth in memory. Every field is an incremental aggregate: nothing grows with the
number of events, only the few capped lists grow with distinct IPs/ASNs (up to ``MAX_KEYS``).
"""

from __future__ import annotations

import msgspec

MAX_KEYS = 8  # distinct IPs / ASNs / networks / user agents remembered per session

# Player state machine
P_NONE = 0
P_PLAYING = 1
P_PAUSED = 2
P_ENDED = 3


class SessionState(msgspec.Struct, kw_only=True):
    session_id: str
    channel_id: str
    first_ts: float
    last_ts: float
    events: int = 0

    # --- CDN: requests, media delivered ---------------------------------------------------
    cdn_n: int = 0
    cdn_first_ts: float = -1.0
    cdn_last_ts: float = -1.0
    playlist_n: int = 0
    playlist_idle_n: int = 0  # playlist polls with no segment fetched in the last 10 s
    other_n: int = 0
    error_n: int = 0  # HTTP status >= 400
    seg_n: int = 0  # segment requests
    seg_new: int = 0  # requests for a sequence number not among the last few fetched
    seg_new_full: int = 0  # ... delivered (nearly) in full
    seg_partial: int = 0  # requests that delivered under half of the object
    seg_bytes: int = 0
    seg_object_bytes: int = 0
    seg_min_n: int = -1
    seg_max_n: int = -1
    seg_recent: list[int] = msgspec.field(default_factory=list)  # last distinct numbers
    seg_recent_full: list[bool] = msgspec.field(default_factory=list)  # ... delivered in full
    seg_last_n: int = -1
    seg_steps: int = 0  # forward steps of the segment number (each capped at 3)
    seg_paced_s: float = 0.0  # fetching time those steps took (pauses left out)
    seg_first_ts: float = -1.0
    seg_last_ts: float = -1.0
    seg_gap_n: int = 0  # Welford over the gaps between segment requests (<= 60 s)
    seg_gap_mean: float = 0.0
    seg_gap_m2: float = 0.0
    seg_active_s: float = 0.0  # sum of those gaps: time spent fetching media
    seg_busy_s: float = 0.0  # sum of segment download durations: how busy the link was
    segdur_voted: bool = False
    seg_fwd_n: int = 0  # forward steps of the segment number within a fetch rhythm
    seg_unit_n: int = 0  # ... of exactly one segment (a player following the stream)
    seg_skip_n: int = 0  # ... of 2-10 segments (numbers left out)
    seg_skipped: int = 0  # numbers left out by those steps
    seg_heights: list[int] = msgspec.field(default_factory=list)  # rendition heights fetched
    heights_shared: int = 0  # how many of those the channel's ladder has been told about

    # --- network and client identity ------------------------------------------------------
    last_ip: str = ""
    last_ip_prev: str = ""  # the address before the last change (its IP family matters)
    ips: list[str] = msgspec.field(default_factory=list)
    ip_count: int = 0
    ip_switches: int = 0
    ip_returns: int = 0  # switched back to an address used earlier in the session
    nets: list[str] = msgspec.field(default_factory=list)  # /16s (v4) or /32s (v6)
    last_asn: int = -1
    last_asn_hosting: bool = False
    last_asn_mobile: bool = False  # (2026.11.11) the current network is a mobile carrier's
    asns: list[int] = msgspec.field(default_factory=list)
    asn_switches: int = 0
    asn_returns: int = 0
    asn_switch_ts: float = -1.0  # event time of the last ASN change
    rapid_switches: int = 0  # ASN changes within RAPID_SWITCH_S of the previous one
    net_moves: int = 0  # moves to a new /16 (v6 /32) within one ASN and IP family
    switch_gaps: list[float] = msgspec.field(default_factory=list)  # request gap at ASN changes
    # request gap at moves to another /24 (v6 /48) within one ASN and IP family (2026.11.4)
    move_gaps: list[float] = msgspec.field(default_factory=list)
    # request gap at changes to another country's consumer network, neither side a hosting
    # (VPN) network (2026.11.5): a residential line cannot cross a border between requests
    border_gaps: list[float] = msgspec.field(default_factory=list)
    last_stall_ts: float = -1.0
    # (2026.11.11) seamless-looking changes that crossed between a mobile carrier and another
    # network (Wi-Fi <-> cellular, which connection migration can make seamless)
    carrier_crossings: int = 0
    switch_stalls: int = 0  # ASN changes with a player stall within STALL_NEAR_S (either order)
    countries: list[str] = msgspec.field(default_factory=list)
    last_country: str = ""
    country_switches: int = 0  # country changes between requests of one IP family
    hosting_n: int = 0
    user_agents: list[str] = msgspec.field(default_factory=list)
    ua_kind: str = ""
    ua_engine: str = ""
    ua_mobile: bool = False
    ua_tv: bool = False  # a living-room device (smart TV, streaming stick, console)
    client_ua: str = ""  # the last request's user agent and JA4, and what they said,
    client_ja4: str = ""  # so the usual request (same client as before) costs two compares
    client_bad: bool = False
    client_mismatch: bool = False
    ua_bad_n: int = 0  # requests from automation, script or empty user agents
    ja4s: list[str] = msgspec.field(default_factory=list)
    ja4_mismatch_n: int = 0
    referer_empty_n: int = 0

    # --- player telemetry -----------------------------------------------------------------
    p_n: int = 0
    p_first_ts: float = -1.0
    p_last_ts: float = -1.0
    p_state: int = P_NONE
    p_pos: float = 0.0
    p_visible: bool = True
    p_muted: bool = False
    hb_n: int = 0
    hb_last_ts: float = -1.0
    hb_gap_n: int = 0  # Welford over heartbeat gaps
    hb_gap_mean: float = 0.0
    hb_gap_m2: float = 0.0
    play_s: float = 0.0  # player-reported time spent playing
    play_visible_s: float = 0.0
    play_progress_s: float = 0.0  # playhead advance while playing (seeks excluded)
    play_progress_visible_s: float = 0.0
    paused_s: float = 0.0
    hidden_s: float = 0.0
    muted_s: float = 0.0
    starts: int = 0
    ends: int = 0
    pauses: int = 0
    stalls: int = 0
    seeks: int = 0
    rendition_changes: int = 0
    ph_fast_n: int = 0  # heartbeat intervals with the playhead running 1.3-6x wall time
    ph_adv_s: float = 0.0  # playhead advance over heartbeat intervals while playing ...
    ph_wall_s: float = 0.0  # ... and the wall time of those intervals
    claims: dict[int, int] = msgspec.field(default_factory=dict)  # claimed rendition height: n
    viewport_w: int = -1
    viewport_h: int = -1

    # --- chat and challenges ----------------------------------------------------------------
    chat_messages: int = 0
    chat_joins: int = 0
    challenge_passed: int = 0
    challenge_failed: int = 0
    challenge_automation: int = 0  # failures the challenge itself attributed to automation
    failure_shared: bool = False  # this session's failure was counted in its channel's /24
    subnet_failures: int = 0  # other sessions of this /24 on the channel that failed one
    automation_shared: bool = False  # ... and its automation verdict too (2026.11.8)
    subnet_automation: int = 0  # other sessions of this /24 whose challenge reported automation
    pass_shared: bool = False  # this session's pass was counted in its channel's /24 (2026.11.9)
    subnet_passes: int = 0  # other sessions of this /24 on the channel that passed one

    # --- channel context, as this session last saw it (maxima, so they converge) -----------
    context_ts: float = -1e18  # event time this session last read its channel's counts
    join_bucket: int = -1
    refresh_minute: int = -1
    reg_ip: str = ""
    reg_subnet: str = ""
    reg_asn: int = -1
    peers_ip: int = 0
    peers_subnet: int = 0  # other sessions in the same /24
    subnet_addresses: int = 0  # other addresses of the same /24
    # sessions of this /24 against the mean of the ASN's other /24s on the channel (2026.11.6)
    subnet_lift: float = 0.0
    peers_asn: int = 0
    channel_sessions: int = 0
    trickle_joins: int = 0  # joins of a regular arrival cadence from this session's network
    cluster_joins: int = 0  # joins of a coordinated arrival cluster from this session's ASN
    # (2026.11.11) this session's client build (user agent + JA4) and arrival time, as
    # registered with the channel, and the regular cadence it arrived on the beat of
    reg_client: str = ""
    reg_client_ts: float = -1.0
    client_trickle: int = 0  # gaps of that cadence (0: none read)
    # its coefficient of variation, read while that build was not (nearly) all of the joins
    client_trickle_cv: float = 9.0
    seamless_cohort: int = 0  # sessions of the channel (this one too) with a seamless change
    # (2026.11.12) sessions of this one's client build on the channel (this one too) playing
    # muted and untouched (``channel.inert``) in the same minute, at the most, and whether they
    # were once a crowd (``channel.INERT_*``) while this session was one of them
    inert_cohort: int = 0
    inert_crowd: bool = False
    build_key: str = ""  # (2026.11.12) "b:" + CRC32 of user agent and JA4, once both are known
    ladder_min: int = 0  # the channel's lowest and highest rendition heights fetched, as last read
    ladder_max: int = 0
    join_burst: float = 0.0  # how improbable the joins around this session's arrival were
    # (2026.11.23.2) counted among its join bucket's tunnel joins; the largest share of its wave's
    # joins (per mille) that came through a tunnel, read while it was in a burst
    tunnel_joined: bool = False
    tunnel_wave: int = 0
    grid_fine: str = ""  # heartbeat phase keys registered with the channel this minute
    grid_coarse: str = ""
    lockstep_peers: int = 0  # sessions heartbeating within 0.15 s of this one's phase
    lockstep_surprise: float = 0.0  # ... against the phase density around: a timer grid
    lockstep_minutes: int = 0  # distinct minutes this session was seen in such a grid
    lockstep_minute: int = -1
    # First heartbeat after the player's start, against the channel's other first heartbeats
    # (2026.11.7): -1 not seen yet, -2 seen but not readable, else its 0.1 s bin.
    p_start_ts: float = -1.0
    beat_bin: int = -1
    beat_ts: float = -1.0
    beat_peers: int = 0  # other sessions whose first heartbeat fell within 0.15 s of this one's
    beat_surprise: float = 0.0  # ... against the first heartbeats in the 6 s around
    beat_spread: float = 0.0  # ... although their arrivals were this far apart (SD, seconds)

    # --- decision cadence -----------------------------------------------------------------
    seq: int = 0  # decisions emitted so far
    last_decision_ts: float = -1.0
    last_action: str = ""
    eval_ts: float = -1e18  # event time of the last scoring
    eval_events: int = 0  # events folded in at the last scoring
    score: float = 0.0
    action: str = "count"
    reasons: tuple[str, ...] = ()
    features: dict[str, float] = msgspec.field(default_factory=dict)
    # (2026.11.13) sessions of the channel in the same minute with this session's client family
    # (``family_key``) at its exact window size, at the most: all of them (while a fifth of the
    # family's sessions or more), and the untouched ones (``channel.inert``, while a third of
    # that family-and-size group or more). See ``signals.toolkit``.
    toolkit_view: int = 0
    toolkit_inert: int = 0
    # the client's family: "f" + CRC32 of JA4 and user agent with its version numbers left out
    # (a farm rotates browser versions in its user agents, not its TLS stack or platform)
    family_key: str = ""
    # gaps of the join beat of its exact build (or of its build at its window size) when
    # tight (CV under 0.3) over 8+ gaps, this session's join on it (0: none read)
    toolkit_beat: int = 0
    # the arrival key of its exact build at its first window size ("w" + build + size), once
    # registered with the channel (a drip of a popular build keeps its beat at its sizes)
    view_arrival: str = ""

    # --- exit rotation (2026.11.13, ``signals.rotation``) ----------------------------------
    # Request gap at each "exit hop": a change to an address in a /24 (v6 /48) the session
    # never used, of another operator, where no device could follow without a reconnect
    # (neither side a hosting network, no Wi-Fi <-> cellular crossing); 99 when a player stall
    # came within STALL_NEAR_S of it (a real handover drains the buffer).
    hop_gaps: list[float] = msgspec.field(default_factory=list)
    hop_ts: float = -1.0  # event time of the last hop recorded (a stall right after marks it)
    addr_change_ts: float = -1.0  # event time of the last address change of any kind
    # country switches that came with a move between a mobile carrier and another network: a
    # roaming phone's cellular data leaves from its home country, the hotel Wi-Fi from here
    crossing_borders: int = 0
    # --- the path to the client (2026.11.13, ``signals.rotation.proxy_path``) -------------------
    # The fastest successful playlist response (ms) and how many there were: a playlist is a
    # few hundred bytes, so its fastest response is the round trip to the client, nothing else.
    pl_floor_ms: int = -1
    pl_ok_n: int = 0
    # request gap at each move to a /24 (v6 /48) the session never used within one
    # consumer ISP (``update._isp_hop``; 99 when a stall came near), and the last one's time
    isp_hop_gaps: list[float] = msgspec.field(default_factory=list)
    isp_hop_ts: float = -1.0

    # --- toolkit crowd and network beat (2026.11.13, ``signals.toolkit``) --------------------
    # (2026.11.13, crowd) for a session whose join was not seen: sessions of the channel in the
    # same minute at its exact build and window size, at the most, while they were a crowd no
    # people make and that build's joins at that size kept a beat (``channel._toolkit_crowd``),
    # and that crowd's share of the channel's sessions and of its build's, in thousandths
    toolkit_crowd: int = 0
    toolkit_crowd_aud: int = 0
    toolkit_crowd_build: int = 0
    # (2026.11.13, network beat) merged joins of this session's network and the channel's other
    # most frequent network in five minutes, on one steady beat that this session's join kept,
    # at the most, and that beat's gap CV (``channel.arrival_pair``)
    pair_joins: int = 0
    pair_cv: float = 9.0
    # (2026.11.14, ``dripbeat``) gaps of the beat its build's joins kept around its own, robust
    # to people joining in between, at the most, and their dispersion (IQR over median)
    drip_gaps: int = 0
    drip_disp: float = 9.0
    drip_read_ts: float = -1.0  # its build's last join at the last reading (read once per join)
    # (2026.11.23.3) its first non-``count`` action has been seen (``dripbeat.note_flagged``)
    flag_seen: bool = False


class ChannelState(msgspec.Struct, kw_only=True):
    channel_id: str
    first_ts: float
    last_ts: float
    # Concurrency by key ("*", "i:ip", "s:/24", "a:asn"), counted per event-time minute: each
    # session adds itself once per minute it is active, so a count is "sessions active then".
    minute: int = -1
    conc_cur: dict[str, int] = msgspec.field(default_factory=dict)
    conc_prev: dict[str, int] = msgspec.field(default_factory=dict)
    # Joins per 10 s bucket of event time, for synchronized-join bursts.
    joins: dict[int, int] = msgspec.field(default_factory=dict)
    # (2026.11.23.2) Of those, sessions that came through a tunnel (``netpath.long_fast_path``).
    tunnel_joins: dict[int, int] = msgspec.field(default_factory=dict)
    # Votes for the segment duration, keyed by half-seconds, from sessions that followed the
    # live edge for a while.
    segdur_votes: dict[int, int] = msgspec.field(default_factory=dict)
    # Arrival cadence per network ("s:/24", "a:asn"): [last join ts, gaps, mean gap, M2].
    # People arrive independently (Poisson, CV ~1) or in waves (CV > 1); a scheduler feeding
    # viewers in one after another arrives regularly (CV well under 1).
    arrivals: dict[str, list[float]] = msgspec.field(default_factory=dict)
    # (2026.11.11) The same per client build ("k:" + crc32 of user agent and JA4), with a fifth
    # number, the gap before the last join; and per build the event times of the joins whose
    # gaps before and after both kept the beat (at most ON_BEAT_KEEP), for ``client_trickle``.
    on_beat: dict[str, list[float]] = msgspec.field(default_factory=dict)
    # Rendition heights any session fetched (the ladder's rungs seen so far, at most MAX_KEYS).
    heights: list[int] = msgspec.field(default_factory=list)
    # The channel's last RECENT_JOINS arrivals: (event time, ASN, /24 or /48, on an address no
    # other session of the channel was using). Bounded; the baseline arrivals are compared with.
    recent_joins: list[tuple[float, int, str, bool]] = msgspec.field(default_factory=list)
    # Sessions that failed a challenge, per /24 (v6 /48): [sessions, event time of the last,
    # sessions among them whose challenge reported automation (2026.11.8), and, appended when
    # the first one passes, sessions that passed one (2026.11.9)]. Dropped after
    # ARRIVAL_KEEP_S without a new failure, so it holds the recent ones (2026.11.5).
    failures: dict[str, list[float]] = msgspec.field(default_factory=dict)
    # First heartbeats after a player start (2026.11.7), per 0.1 s bin of event time: [sessions,
    # and sum and sum of squares of the seconds from their first event and from their player
    # start to that beat]; and per 2 s bin the count. Kept for FIRST_BEAT_KEEP_S.
    beats: dict[int, list[float]] = msgspec.field(default_factory=dict)
    beats_coarse: dict[int, int] = msgspec.field(default_factory=dict)
    # (2026.11.14) per client build ("k:" key), its last joins' event times (``dripbeat``)
    build_joins: dict[str, list[float]] = msgspec.field(default_factory=dict)
    build_join_asns: dict[str, list[int]] = msgspec.field(default_factory=dict)  # ... their ASNs
    # (2026.11.23.3) ... and the joins among them of sessions flagged on other evidence
    build_flagged: dict[str, list[float]] = msgspec.field(default_factory=dict)


_ENCODER = msgspec.msgpack.Encoder()
_SESSION_DECODER = msgspec.msgpack.Decoder(SessionState)
_CHANNEL_DECODER = msgspec.msgpack.Decoder(ChannelState)


def encode_state(obj: SessionState | ChannelState) -> bytes:
    """Compact msgpack for a Faust table value."""
    return _ENCODER.encode(obj)


def decode_session_state(raw: bytes) -> SessionState:
    return _SESSION_DECODER.decode(raw)


def decode_channel_state(raw: bytes) -> ChannelState:
    return _CHANNEL_DECODER.decode(raw)


def new_session(session_id: str, channel_id: str, ts: float) -> SessionState:
    return SessionState(session_id=session_id, channel_id=channel_id, first_ts=ts, last_ts=ts)


def new_channel(channel_id: str, ts: float) -> ChannelState:
    return ChannelState(channel_id=channel_id, first_ts=ts, last_ts=ts)
