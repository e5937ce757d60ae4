"""``update(state, event)``: fold one event into its session's aggregates.

Hot path: one call per event, so it only adds, compares and appends to capped lists; every
ratio is computed later, when the session is scored. Events of one topic arrive in order for a
session (Kafka keeps a key's order within a partition); across topics only event time counts,
so nothing here depends on how topics interleave except the "since the last segment" counters,
which use event time.
"""

from __future__ import annotations

from engine.detect.clients import HOSTING_ASNS, MOBILE_ASNS, classify_ua, is_tv_device, ja4_mismatch
from engine.detect.netaddr import canonical_ip, subnet_of, wide_net_of
from engine.detect.paths import OTHER, SEGMENT, parse_path, rendition_height
from engine.detect.state import MAX_KEYS, P_ENDED, P_NONE, P_PAUSED, P_PLAYING, SessionState
from engine.schemas import CdnLog, ChallengeResult, ChatEvent, PlayerEvent

MAX_GAP_S = 60.0  # a longer silence between segment fetches is a pause, not a fetch rhythm
MAX_PLAYER_GAP_S = 120.0
IDLE_POLL_S = 10.0
# A network handover drains the buffer while connections are rebuilt: a stall this close to
# an ASN change (before or after: the player's report and the CDN log are separate streams)
# is the handover's.
STALL_NEAR_S = 20.0
RECENT_SEGMENTS = 6
# (2026.11.13) Tor Browser builds a new circuit for new connections every few minutes (ten
# by default); exit hops of a Gecko client count only when closer together than this.
GECKO_HOP_S = 120.0
HOP_NOTICED = 99.0  # an exit hop's recorded gap when a stall came near it
# Tor renews circuits every ten minutes and people change networks a few times a session; a
# rotating proxy can switch every request. Changes closer together than this are "rapid".
RAPID_SWITCH_S = (
    300.0  # a playlist poll this long after the last segment is "polling without media"
)

# UA kinds by how little they say about a person: the worst one seen labels the session.
_BAD_KINDS = frozenset({"automation", "script", "empty"})
_KIND_RANK = {
    "": -1,
    "browser": 0,
    "app": 1,
    "unknown": 2,
    "empty": 3,
    "script": 4,
    "automation": 5,
}


def update_cdn(s: SessionState, e: CdnLog) -> None:
    ts = e.ts
    prev_ts = s.cdn_last_ts
    s.cdn_n += 1
    if s.cdn_first_ts < 0 or ts < s.cdn_first_ts:
        s.cdn_first_ts = ts
    if ts > s.cdn_last_ts:
        s.cdn_last_ts = ts
    status = e.status
    if status >= 400:
        s.error_n += 1

    kind, n, height = parse_path(e.path)
    if kind == SEGMENT:
        _segment(s, ts, n, status, e.bytes_sent, e.object_size)
        if height and height not in s.seg_heights and len(s.seg_heights) < MAX_KEYS:
            s.seg_heights.append(height)
        busy = e.duration_ms
        s.seg_busy_s += (busy if busy < 60_000 else 60_000) / 1000.0
    elif kind == OTHER:
        s.other_n += 1
    else:
        s.playlist_n += 1
        if s.seg_last_ts < 0 or ts - s.seg_last_ts > IDLE_POLL_S:
            s.playlist_idle_n += 1
        if status < 300:
            s.pl_ok_n += 1
            took = e.duration_ms
            if s.pl_floor_ms < 0 or took < s.pl_floor_ms:
                s.pl_floor_ms = took

    ip = e.client_ip
    asn = e.asn
    moved = False
    if ip != s.last_ip:
        prev_ip = s.last_ip
        known = s.ip_count
        same_family = (":" in ip) == (":" in prev_ip)
        if prev_ip:
            _exit_hop(s, ip, asn, e.country, ts, ts - prev_ts)
        moved = _ip_change(s, ip, same_family)
        if prev_ip and same_family and asn == s.last_asn and s.ip_count > known:
            # A new address of the same operator (a return to an earlier one is NAT churn).
            _subnet_move(s, prev_ip, ip, ts - prev_ts, ts)
    if asn != s.last_asn:
        was_hosting = s.last_asn_hosting
        same_family = (":" in ip) == (":" in s.last_ip_prev)
        crossed = s.last_country != e.country and bool(s.last_country)
        # A change of IP family counts when it reaches a network the session never used
        # (2026.11.6): a dual-stack household alternates between its two, a proxy exit in
        # another country is new.
        counted = same_family or (crossed and asn not in s.asns)
        _asn_change(s, asn, e.country, same_family, ts, prev_ts)
        s.last_asn_hosting = asn in HOSTING_ASNS
        s.last_asn_mobile = asn in MOBILE_ASNS
        if crossed and counted and not (was_hosting or s.last_asn_hosting):
            _border_change(s, ts - prev_ts)
    elif moved:
        s.net_moves += 1
    if s.last_asn_hosting:
        s.hosting_n += 1

    ua = e.user_agent
    ja4 = e.tls_fingerprint
    if ua == s.client_ua and ja4 == s.client_ja4:  # the usual case: nothing new about the client
        s.ua_bad_n += s.client_bad
        s.ja4_mismatch_n += s.client_mismatch
    else:
        _client(s, ua, ja4)
    if not e.referer:
        s.referer_empty_n += 1


def _client(s: SessionState, ua: str, ja4: str) -> None:
    """A user agent / TLS fingerprint pair this session did not use on its last request."""
    info = classify_ua(ua)
    bad = info.kind in _BAD_KINDS
    mismatch = bool(ja4) and ja4_mismatch(ja4, info.kind, info.engine)
    s.client_ua, s.client_ja4 = ua, ja4
    s.client_bad, s.client_mismatch = bad, mismatch
    s.ua_bad_n += bad
    s.ja4_mismatch_n += mismatch
    uas = s.user_agents
    if ua not in uas:
        if len(uas) < MAX_KEYS:
            uas.append(ua)
        if info.kind == "app" and is_tv_device(ua):
            s.ua_tv = True
        if _KIND_RANK[info.kind] > _KIND_RANK[s.ua_kind]:
            s.ua_kind = info.kind
        if not s.ua_engine:
            s.ua_engine = info.engine
            s.ua_mobile = info.mobile
    if ja4 and ja4 not in s.ja4s and len(s.ja4s) < MAX_KEYS:
        s.ja4s.append(ja4)


def _segment(s: SessionState, ts: float, n: int, status: int, sent: int, size: int) -> None:
    s.seg_n += 1
    s.seg_bytes += sent
    s.seg_object_bytes += size if size > 0 else sent
    full = status < 400 and sent > 0 and (size <= 0 or sent >= 0.9 * size)
    if size > 0 and sent < 0.5 * size:
        s.seg_partial += 1
    if n < 0:
        s.seg_new += 1
        s.seg_new_full += full
    else:
        # New content is a number not among the last few fetched: a DVR viewer going back
        # watches new content too, a client asking for the same segments again does not.
        recent = s.seg_recent
        if n in recent:
            i = recent.index(n)
            if full and not s.seg_recent_full[i]:
                s.seg_new_full += 1
                s.seg_recent_full[i] = True
        else:
            s.seg_new += 1
            s.seg_new_full += full
            recent.append(n)
            s.seg_recent_full.append(full)
            if len(recent) > RECENT_SEGMENTS:
                del recent[0]
                del s.seg_recent_full[0]
        if n > s.seg_max_n:
            s.seg_max_n = n
        if s.seg_min_n < 0 or n < s.seg_min_n:
            s.seg_min_n = n
    last_n = s.seg_last_n
    if n >= 0:
        s.seg_last_n = n
    last = s.seg_last_ts
    if last < 0:
        s.seg_first_ts = ts
        s.seg_last_ts = ts
        return
    gap = ts - last
    if gap < 0:
        return
    s.seg_last_ts = ts
    if s.seg_new > 4 and gap <= MAX_GAP_S:  # past the start-up burst, within a fetch rhythm
        # Pace: how far the segment numbers move forward per second of fetching. Jumps back
        # (DVR) and long silences (pauses) are left out; a jump forward counts at most 3.
        step = n - last_n if n >= 0 and last_n >= 0 else 0
        if step > 0:
            s.seg_steps += step if step < 3 else 3
            if step == 1:
                s.seg_unit_n += 1
                s.seg_fwd_n += 1
            elif step <= 10:
                s.seg_skip_n += 1
                s.seg_skipped += step - 1
                s.seg_fwd_n += 1
        s.seg_paced_s += gap
    if gap <= MAX_GAP_S and s.seg_new > 4:  # the start-up burst is not the fetch rhythm
        s.seg_active_s += gap
        k = s.seg_gap_n + 1
        delta = gap - s.seg_gap_mean
        mean = s.seg_gap_mean + delta / k
        s.seg_gap_m2 += delta * (gap - mean)
        s.seg_gap_mean = mean
        s.seg_gap_n = k


def _ip_change(s: SessionState, raw_ip: str, same_family: bool) -> bool:
    """Track addresses; a switch back counts only within one IP family (dual-stack clients
    alternate between their IPv4 and IPv6 address all the time). True when the session moved
    to a network (/16, v6 /32) it had not used, within its IP family."""
    had = bool(s.last_ip)
    s.last_ip_prev = s.last_ip
    s.last_ip = raw_ip
    ip = canonical_ip(raw_ip)
    ips = s.ips
    if had:
        s.ip_switches += 1
    if ip in ips:
        if had and same_family:
            s.ip_returns += 1
        return False
    s.ip_count += 1
    if len(ips) < MAX_KEYS:
        ips.append(ip)
    net = wide_net_of(ip)
    if net in s.nets:
        return False
    if len(s.nets) < MAX_KEYS:
        s.nets.append(net)
    return had and same_family


def _exit_hop(s: SessionState, ip: str, asn: int, country: str, ts: float, gap: float) -> None:
    """(2026.11.13) Record an "exit hop" for ``signals.rotation``: a change of address that no
    device makes without a reconnect. It reaches another operator (a move within one is NAT
    pool territory, carrier or ISP), in a /24 (v6 /48) the session never used; neither side is
    a hosting network (VPN, Tor exits); it does not cross the line between a mobile carrier and
    another network (Wi-Fi <-> cellular can keep its connections) nor, for a phone or a
    carrier, a border (a roaming phone); it is not a dual-stack client's first move to its
    other IP family (unless that crossed a border); and for Gecko (Tor Browser renews its
    circuit every few minutes) it came within ``GECKO_HOP_S`` of the previous change. Whether
    the fetch rhythm noticed is read at scoring, when the segment duration is known."""
    since = ts - s.addr_change_ts if s.addr_change_ts >= 0 else -1.0
    if ts > s.addr_change_ts:
        s.addr_change_ts = ts
    if asn == s.last_asn or gap < 0 or len(s.hop_gaps) >= MAX_KEYS:
        return
    if asn in HOSTING_ASNS or s.last_asn_hosting:
        return
    mobile = asn in MOBILE_ASNS
    if mobile != s.last_asn_mobile:
        return
    if country != s.last_country and (mobile or s.ua_mobile):
        return  # a phone crossing a border attaches to a carrier there (or roams home)
    if s.ua_engine == "gecko" and not 0 <= since < GECKO_HOP_S:
        return
    v6 = ":" in ip
    net = subnet_of(canonical_ip(ip))
    seen_family = False
    for known in s.ips:  # at most MAX_KEYS
        if subnet_of(known) == net:
            return  # back to a network the session used (dual stack, dual WAN)
        seen_family = seen_family or (":" in known) == v6
    if not seen_family and country == s.last_country:
        return  # a dual-stack client's other family, first seen
    stalled = s.last_stall_ts >= 0 and abs(ts - s.last_stall_ts) <= STALL_NEAR_S
    s.hop_gaps.append(HOP_NOTICED if stalled else round(gap, 3))
    s.hop_ts = ts


def _subnet_move(s: SessionState, prev_ip: str, ip: str, gap: float, ts: float) -> None:
    """Record the request gap when a session moves to another /24 (v6 /48) of its operator:
    a new lease or a new NAT mapping costs a reconnect, a proxy rotating its exit does not."""
    if gap < 0 or len(s.move_gaps) >= MAX_KEYS:
        return
    canon = canonical_ip(ip)
    net = subnet_of(canon)
    if net != subnet_of(canonical_ip(prev_ip)):
        s.move_gaps.append(round(gap, 3))
        _isp_hop(s, canon, net, gap, ts)


def _isp_hop(s: SessionState, canon: str, net: str, gap: float, ts: float) -> None:
    """Record a move to a /24 (v6 /48) the session never used, within one consumer
    ISP (neither a hosting network nor a mobile carrier's, whose NAT pools hand out addresses
    per connection), for ``signals.rotation``: a residential proxy pool with its exits in the
    audience's big ISP moves this way every few minutes; a home line keeps its lease. A stall
    within ``STALL_NEAR_S`` marks it noticed (either order, as for exit hops)."""
    if s.last_asn_hosting or s.last_asn_mobile or len(s.isp_hop_gaps) >= MAX_KEYS:
        return
    ips = s.ips
    known = ips[:-1] if ips and ips[-1] == canon else ips
    for old in known:  # at most MAX_KEYS
        if subnet_of(old) == net:
            return
    stalled = s.last_stall_ts >= 0 and abs(ts - s.last_stall_ts) <= STALL_NEAR_S
    s.isp_hop_gaps.append(HOP_NOTICED if stalled else round(gap, 3))
    s.isp_hop_ts = ts


def _border_change(s: SessionState, gap: float) -> None:
    """Record the request gap at a change to a consumer network in another country."""
    if gap >= 0 and len(s.border_gaps) < MAX_KEYS:
        s.border_gaps.append(round(gap, 3))


def _asn_change(
    s: SessionState, asn: int, country: str, same_family: bool, ts: float, prev_ts: float
) -> None:
    had = s.last_asn >= 0
    s.last_asn = asn
    crossing = False
    if had:
        s.asn_switches += 1
        if s.asn_switch_ts >= 0 and 0 <= ts - s.asn_switch_ts < RAPID_SWITCH_S:
            s.rapid_switches += 1
        if s.last_stall_ts >= 0 and abs(ts - s.last_stall_ts) <= STALL_NEAR_S:
            s.switch_stalls += 1
        if ts > s.asn_switch_ts:
            s.asn_switch_ts = ts
        gap = ts - prev_ts
        crossing = s.last_asn_mobile != (asn in MOBILE_ASNS)
        if crossing and gap >= 0:
            s.carrier_crossings += 1
        if same_family and gap >= 0 and len(s.switch_gaps) < MAX_KEYS:
            # How long the session was silent when it changed network: a real handover
            # (new radio link, new lease, new TCP/TLS) interrupts the fetch rhythm.
            s.switch_gaps.append(round(gap, 3))
    if country and country not in s.countries and len(s.countries) < MAX_KEYS:
        s.countries.append(country)
    if country != s.last_country:
        if s.last_country and same_family:
            s.country_switches += 1
            if had and crossing:
                s.crossing_borders += 1
        s.last_country = country
    if asn in s.asns:
        if had and same_family:
            s.asn_returns += 1
        return
    if len(s.asns) < MAX_KEYS:
        s.asns.append(asn)


def update_player(s: SessionState, e: PlayerEvent) -> None:
    ts = e.ts
    s.p_n += 1
    last = s.p_last_ts
    pos = e.position_s
    typ = e.type
    if last >= 0 and ts >= last:
        dt = ts - last
        if dt <= MAX_PLAYER_GAP_S:
            state = s.p_state
            if state == P_PAUSED and typ == "heartbeat" and pos - s.p_pos > 0.5 * dt > 0:
                state = s.p_state = P_PLAYING  # the resume event went missing
            if state == P_PLAYING:
                dpos = pos - s.p_pos
                if dt >= 5.0 and typ == "heartbeat" and 0 <= dpos <= 6.0 * dt:
                    # Playhead speed against the clock, pauses the player did not report
                    # included: over minutes a player cannot run ahead of live.
                    s.ph_adv_s += dpos
                    s.ph_wall_s += dt
                    if dpos >= 1.3 * dt:
                        s.ph_fast_n += 1
                if -1.0 <= dpos <= 2.0 * dt + 2.0:
                    progress = dpos if dpos > 0 else 0.0
                    s.play_s += dt
                    s.play_progress_s += progress
                    if s.p_visible:
                        s.play_visible_s += dt
                        s.play_progress_visible_s += progress
                else:
                    s.seeks += 1
            elif state == P_PAUSED:
                s.paused_s += dt
            if not s.p_visible:
                s.hidden_s += dt
            if s.p_muted:
                s.muted_s += dt
    if s.p_first_ts < 0 or ts < s.p_first_ts:
        s.p_first_ts = ts
    if ts >= last:
        s.p_last_ts = ts
        s.p_pos = pos
        s.p_visible = e.visible
        s.p_muted = e.muted
    s.viewport_w = e.viewport_w
    s.viewport_h = e.viewport_h
    height = rendition_height(e.rendition) if e.rendition else 0
    if height:
        claims = s.claims
        if height in claims:
            claims[height] += 1
        elif len(claims) < MAX_KEYS:
            claims[height] = 1

    if typ == "heartbeat":
        s.hb_n += 1
        hb_last = s.hb_last_ts
        if hb_last >= 0:
            gap = ts - hb_last
            if 0 < gap <= 300.0:
                k = s.hb_gap_n + 1
                delta = gap - s.hb_gap_mean
                mean = s.hb_gap_mean + delta / k
                s.hb_gap_m2 += delta * (gap - mean)
                s.hb_gap_mean = mean
                s.hb_gap_n = k
        if ts > hb_last:
            s.hb_last_ts = ts
        if s.p_state == P_NONE:
            s.p_state = P_PLAYING
    elif typ == "start":
        s.starts += 1
        if s.p_start_ts < 0:
            s.p_start_ts = ts
        s.p_state = P_PLAYING
    elif typ == "pause":
        s.pauses += 1
        s.p_state = P_PAUSED
    elif typ == "resume":
        s.p_state = P_PLAYING
    elif typ == "stall":
        s.stalls += 1
        if s.asn_switch_ts >= 0 and abs(ts - s.asn_switch_ts) <= STALL_NEAR_S:
            s.switch_stalls += 1  # the change came first (or its stall was reported late)
        if ts > s.last_stall_ts:
            s.last_stall_ts = ts
        if s.hop_ts >= 0 and abs(ts - s.hop_ts) <= STALL_NEAR_S and s.hop_gaps:
            s.hop_gaps[-1] = HOP_NOTICED  # the hop's own stall, reported after it
        if s.isp_hop_ts >= 0 and abs(ts - s.isp_hop_ts) <= STALL_NEAR_S and s.isp_hop_gaps:
            s.isp_hop_gaps[-1] = HOP_NOTICED
        if s.p_state == P_NONE:
            s.p_state = P_PLAYING
    elif typ == "rendition_change":
        s.rendition_changes += 1
        if s.p_state == P_NONE:
            s.p_state = P_PLAYING
    elif typ == "end":
        s.ends += 1
        s.p_state = P_ENDED


def update_chat(s: SessionState, e: ChatEvent) -> None:
    if e.type == "message":
        s.chat_messages += 1
    elif e.type == "join":
        s.chat_joins += 1


def update_challenge(s: SessionState, e: ChallengeResult) -> None:
    if e.passed:
        s.challenge_passed += 1
    else:
        s.challenge_failed += 1
        if "automat" in e.error.lower() or "bot" in e.error.lower():
            s.challenge_automation += 1
