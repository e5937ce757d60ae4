"""One HLS viewer, step by step: the player mechanics every watching client shares.

``watch(plan)`` yields a session's events in time order. It models what hls.js (or a native
player) does against a live channel, so that humans and the browser-driving bot families produce
the same kind of traffic and differ only in the knobs of their ``WatchPlan``:

* master playlist, then the media playlist reloaded about every target duration (2 s);
* segments fetched in order from three segments behind the live edge, one in flight at a time,
  sized by rendition and timed by the client's bandwidth (which drifts), with occasional 4xx/5xx
  and retries, timeouts that abort a download (partial ``bytes_sent``) and a partial last read
  when the viewer leaves mid-download;
* a playhead (``position_s``) that advances with real time only while playing, freezes during
  pauses and stalls, and jumps when the player seeks back to the live edge;
* ABR: start low, move up as throughput is measured, drop after stalls; init segments on fMP4;
* pauses stop segment fetching once ~30 s are buffered while playlist reloads go on;
* heartbeats with a per-build period and a timing model (``human`` jitter and hidden-tab
  throttling, ``exact`` scripted timers, ``uniform`` scripted jitter, ``grid`` swarm phase);
* visibility, mute and viewport changes, chat join/messages/part, address changes, a challenge.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.simulate.cdn import SEGMENT_SECONDS, Channel, Rendition
from engine.simulate.clients import Device
from engine.simulate.emit import Emitted, SessionEmitter
from engine.simulate.network import Client
from engine.simulate.rng import NORMALS

INF = math.inf
SEG = SEGMENT_SECONDS


@dataclass(slots=True)
class WatchPlan:
    """Everything that distinguishes one watching session from another."""

    rng: random.Random
    em: SessionEmitter
    channel: Channel
    device: Device
    start: float
    end: float  # when the viewer leaves (the run may stop earlier)
    warm: float = 0.0  # > 0: was already watching this long when the window opened
    # network
    bandwidth: float = 25e6  # achievable bits/s
    bw_volatility: float = 0.12  # log-sd of the slow bandwidth drift
    rtt: float = 0.03
    error_rate: float = 0.002
    ip_plan: list[tuple[float, Client]] = field(default_factory=list)
    # > 0: each address change is a real handover, the link is down about this long (the
    # radio re-attaches, DHCP, TCP/TLS reconnect), so requests pause and the buffer drains
    handover_gap: float = 0.0
    # renditions: "" = adaptive, "lowest", or a rendition name
    fixed_rendition: str = ""
    # player telemetry
    player_events: bool = True
    hb_mode: str = "human"  # human | exact | uniform | grid
    hb_period: float = 20.0
    hb_jitter: float = 0.12
    hb_anchor: float = 0.0  # grid: the shared phase of a swarm
    # behaviour
    pause_every: float = 0.0  # mean seconds of playing between pauses (0: never pauses)
    pause_median: float = 25.0
    pause_sigma: float = 0.9
    hide_every: float = 0.0  # mean seconds between tab switches (0: never)
    hide_median: float = 25.0
    pause_on_hide: bool = False  # phones pause when the app goes to the background
    background_after: float = -1.0  # >= 0: the tab is hidden this long after start, for good
    start_muted: bool = False
    unmute_after: float = -1.0  # >= 0: the viewer unmutes this long after playback starts
    toggle_viewport_every: float = 0.0
    end_event: bool = True
    stall_proneness: float = 0.0  # extra chance a download is slow (overloaded client)
    # chat
    user_id: str = ""  # logged-in chat user; "" = no chat connection
    chat_every: float = 0.0  # mean seconds between messages (0: never writes)
    chat_first: float = -1.0  # >= 0: first message this long after joining (raids)
    chat_first_len: int = 0
    # challenge: (offset from start, passed, error)
    challenge: tuple[float, bool, str] | None = None
    reload_master_on_resume: bool = True
    max_buffer: float = 30.0


def _pick(allowed: list[Rendition], estimate: float) -> Rendition:
    for r in allowed:
        if r.kbps * 1000.0 <= estimate * 0.7:
            return r
    return allowed[-1]


def _band(allowed: list[Rendition], rend: Rendition) -> tuple[float, float]:
    """Throughput estimates between which the ABR choice for ``rend`` cannot change."""
    lo = rend.kbps * 1000.0 / 0.95
    higher = [r for r in allowed if r.kbps > rend.kbps]
    hi = min(r.kbps for r in higher) * 1000.0 / 0.7 if higher else math.inf
    return min(lo, hi), hi


def watch(w: WatchPlan) -> Iterator[Emitted]:
    """The session's events in time order, from arrival (or the window start) to leaving.

    A small discrete-event loop: three hot timers (next segment fetch, next playlist reload,
    next heartbeat) plus an agenda heap for rare actions (start, stalls, pauses, tab switches,
    rendition changes, chat, address changes, the challenge).
    """
    rng = w.rng
    rnd = rng.random
    gauss = rng.gauss
    em = w.em
    ch = w.channel
    dev = w.device
    cdn = em.cdn
    pev = em.player if w.player_events else None
    ladder = ch.ladder
    allowed = [r for r in ladder if r.height <= dev.max_height] or [ladder[-1]]
    abr = not w.fixed_rendition
    if w.fixed_rendition == "lowest":
        rend = ladder[-1]
    elif w.fixed_rendition:
        rend = next((r for r in ladder if r.name == w.fixed_rendition), ladder[-1])
    else:
        rend = _pick(allowed, min(w.bandwidth * 0.6, 2.2e6))
    lo_thr, hi_thr = _band(allowed, rend)
    bw = w.bandwidth
    est = bw * 0.6
    log_fac = 0.0
    rtt = w.rtt
    err = w.error_rate
    end = w.end
    period = w.hb_period
    hb_mode = w.hb_mode
    hb_jit = w.hb_jitter
    max_buf = w.max_buffer
    slow = w.stall_proneness
    vp = dev.viewport
    visible = True
    hidden_since = 0.0
    muted = w.start_muted
    uid = w.user_id
    seg_size = ch.segment_size
    seg_prefix = ch.seg_prefix
    ext = ch.ext
    origin = ch.epoch + ch.pkg_delay  # live edge at t: int((t - origin) / SEG) - 1
    normals = NORMALS

    agenda: list[tuple[float, int, str, object]] = []
    seq = 0

    def later(at: float, kind: str, arg: object = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(agenda, (at, seq, kind, arg))

    t = w.start
    # playback state: pos(t) = a_pos + (t - a_t) while playing and t > a_t
    started = False
    playing = True
    a_pos = 0.0
    a_t = t
    pause_id = 0
    paused_at = 0.0
    paused_by_hide = False
    dl_pos = 0.0  # media downloaded, in position seconds
    pend_t = 0.0  # completion time of the download in flight
    nxt = -1  # next segment number to fetch
    s0 = 0  # segment number at position 0
    inited = ""  # rendition whose init segment was fetched (fMP4)
    since_switch = 0
    seen_edge = -1
    joined = False
    t_fetch = INF
    t_hb = INF

    def pos(at: float) -> float:
        if started and playing and at > a_t:
            return a_pos + (at - a_t)
        return a_pos

    def next_hb(at: float) -> float:
        if hb_mode == "exact":
            return at + period + gauss(0.0, 0.0012)
        if hb_mode == "uniform":
            return at + period + (rnd() * 2.0 - 1.0) * hb_jit
        if hb_mode == "grid":
            k = math.floor((at - w.hb_anchor) / period) + 1
            nt = w.hb_anchor + k * period + gauss(0.0, hb_jit)
            return nt if nt > at + 0.5 else nt + period
        nt = at + period + gauss(0.0, hb_jit)
        if rnd() < 0.04:
            nt += 0.3 + rnd() * 3.5  # busy main thread, slow beacon
        if rnd() < 0.01:
            nt += period  # a beacon lost on the way
        if not visible:
            if at - hidden_since > 300.0:  # intensive throttling: once a minute
                nt = math.ceil(max(nt, at + 60.0) / 60.0) * 60.0 + rnd() * 0.01
            else:
                nt = math.ceil(nt) + rnd() * 0.004
        return nt

    if w.warm > 0:
        edge = ch.live_edge(t)
        started = True
        nxt = edge - (1 if rnd() < 0.5 else 0)
        s0 = nxt - int(w.warm / SEG) - 2
        dl_pos = (nxt - s0) * SEG
        a_pos = dl_pos - 2.0 - rnd() * 3.0
        a_t = t
        if abr:
            rend = _pick(allowed, bw * 0.8)
            lo_thr, hi_thr = _band(allowed, rend)
        inited = rend.name
        t_tick = t + rnd() * SEG
        if pev is not None:
            # A timer that was already running: a swarm's grid timer keeps its shared phase
            # (its first beat in the window is on the grid, not at a random offset).
            t_hb = next_hb(t) if hb_mode == "grid" else t + rnd() * period
        joined = bool(uid)
        if w.background_after >= 0:
            visible = False
            hidden_since = t - w.warm
        if muted and 0 <= w.unmute_after < w.warm:
            muted = False
        t_start = t
    else:
        size = ch.master_size
        d = rtt + 0.01 + rnd() * 0.06
        yield cdn(t, ch.master_path, 200, size, size, d)
        t_tick = t + d + 0.01 + rnd() * 0.08
        t_start = t
        if uid:
            later(t + 1.0 + rnd() * 5.0, "join")

    # behaviour timers
    if w.pause_every > 0:
        later(t_start + 5.0 + rng.expovariate(1.0 / w.pause_every), "pause")
    if w.background_after >= 0 and visible:
        later(t_start + w.background_after, "hide", True)
    elif w.hide_every > 0:
        later(t_start + 3.0 + rng.expovariate(1.0 / w.hide_every), "hide", False)
    if w.toggle_viewport_every > 0:
        later(t_start + rng.expovariate(1.0 / w.toggle_viewport_every), "viewport")
    for at, client in w.ip_plan:
        later(at, "ip", client)
    if w.challenge is not None:
        later(t_start + w.challenge[0], "challenge", w.challenge)
    if uid and w.warm > 0 and w.chat_every > 0:
        later(t + rng.expovariate(1.0 / w.chat_every), "msg")
    if muted and w.unmute_after >= 0 and w.warm <= 0:
        later(t_start + 1.5 + w.unmute_after, "unmute")

    while True:
        t = t_fetch
        k = 0
        if t_tick < t:
            t = t_tick
            k = 1
        if t_hb < t:
            t = t_hb
            k = 2
        if agenda and agenda[0][0] < t:
            t = agenda[0][0]
            k = 3
        if t >= end:
            break

        if k == 0:  # ---- fetch the next segment
            if ext == "m4s" and inited != rend.name:
                inited = rend.name
                size = ch.init_size(rend)
                d = rtt + 0.005 + rnd() * 0.02
                yield cdn(t, ch.init_path[rend.name], 200, size, size, d)
                t_fetch = t + d + 0.002
                continue
            n = nxt
            size = seg_size(rend, n)
            path = f"{seg_prefix[rend.name]}{n}.{ext}"
            if rnd() < err:
                status = 404 if rnd() < 0.35 else (503, 502, 504, 500)[int(rnd() * 4)]
                body = 150 + int(rnd() * 200)
                d = rtt + rnd() * (0.05 if status == 404 else 1.5)
                yield cdn(t, path, status, body, body, d)
                t_fetch = t + d + 0.3 + rnd() * 1.0
                continue
            if rnd() < 0.07:
                log_fac = 0.85 * log_fac + gauss(0.0, w.bw_volatility * 2.2)
            rate = bw * math.exp(log_fac + 0.22 * normals[int(rnd() * 4096)])
            if slow and rnd() < slow:
                rate *= 0.1 + rnd() * 0.3
            d = rtt + 0.004 + rnd() * 0.02 + size * 8.0 / rate
            if d > 12.0:  # player timeout: abort, step down, retry the same segment
                sent = int(size * (12.0 - rtt) / d)
                yield cdn(t, path, 200, sent, size, 12.0)
                if abr and rend in allowed and rend is not allowed[-1]:
                    est = min(est, rate)
                    later(t + 12.0, "rend", allowed[allowed.index(rend) + 1])
                t_fetch = t + 12.05
                continue
            if t + d > end:  # the viewer leaves mid-download
                frac = (end - t) / d
                yield cdn(t, path, 499 if rnd() < 0.3 else 200, int(size * frac), size, end - t)
                t_fetch = INF
                continue
            yield cdn(t, path, 200, size, size, d)
            done = t + d
            if started and playing and t >= a_t:
                ahead = dl_pos - a_pos - (t - a_t)
                if ahead < d:
                    later(t + max(ahead, 0.0), "stall", done)
            dl_pos += SEG
            pend_t = done
            nxt += 1
            since_switch += 1
            if not started and nxt == s0 + 1:
                later(done + 0.15 + rnd() * 0.6, "start")
            if abr:
                est = 0.7 * est + 0.3 * size * 8.0 / (d - rtt)
                if not lo_thr <= est <= hi_thr:  # outside the band where the choice stays put
                    target = _pick(allowed, est)
                    if (target.kbps < rend.kbps and rend.kbps * 1000.0 > est * 0.95) or (
                        target.kbps > rend.kbps and since_switch >= 6
                    ):
                        later(done + 0.02 + rnd() * 0.08, "rend", target)
            if nxt <= seen_edge and (  # only segments the last playlist listed
                dl_pos - pos(done) < max_buf or not started
            ):
                t_fetch = done + 0.002 + rnd() * 0.02
            else:
                t_fetch = INF

        elif k == 1:  # ---- reload the media playlist
            edge = int((t - origin) * 0.5) - 1
            if nxt < 0:
                nxt = s0 = edge - 2
            elif started and playing and edge - nxt > 7:
                nxt = edge - 2  # fell too far behind: seek back to the live edge
                a_pos = (nxt - s0) * SEG
                a_t = t + 0.6
                dl_pos = a_pos
            size = ch.playlist_size(edge)
            d = rtt + 0.004 + rnd() * 0.03
            if rnd() < 0.02:
                d += 0.1 + rnd() * 0.3  # edge miss, fetched from the origin shield
            status = 200 if rnd() > err * 0.15 else 503
            yield cdn(t, ch.media_path[rend.name], status, size if status == 200 else 180, size, d)
            if t_fetch == INF and nxt <= edge and (dl_pos - pos(t) < max_buf or not started):
                t_fetch = t + d + 0.003 + rnd() * 0.02
            # hls.js: a playlist with a new segment is reloaded after one target duration,
            # an unchanged one after half of it
            t_tick = t + (SEG if edge != seen_edge else SEG * 0.5) + rnd() * 0.03
            seen_edge = edge
            if not visible:
                t_tick = (
                    math.ceil(t_tick - 0.05) + rnd() * 0.004
                )  # hidden tabs wake on whole seconds

        elif k == 2:  # ---- heartbeat
            p = pos(t)
            yield pev(t, "heartbeat", p if p < dl_pos else dl_pos, visible, muted, rend.name, vp)
            t_hb = next_hb(t)

        else:  # ---- rarer actions
            _, _, kind, arg = heapq.heappop(agenda)
            if kind == "start":
                started = True
                a_pos = 0.0
                a_t = t
                if pev is not None:
                    yield pev(t, "start", 0.0, visible, muted, rend.name, vp)
                    t_hb = next_hb(t)
            elif kind == "stall":
                ahead = dl_pos - (SEG if t < pend_t else 0.0) - pos(t)
                if started and playing and ahead <= 0.05:
                    a_pos = pos(t)
                    a_t = max(pend_t, t) + 0.2 + rnd() * 0.8
                    if pev is not None:
                        yield pev(t, "stall", a_pos, visible, muted, rend.name, vp)
                    if abr and rend is not allowed[-1]:
                        est *= 0.6
            elif kind == "rend":
                if arg is not rend:
                    rend = arg
                    lo_thr, hi_thr = _band(allowed, rend)
                    since_switch = 0
                    if pev is not None:
                        yield pev(t, "rendition_change", pos(t), visible, muted, rend.name, vp)
                    t_tick = min(t_tick, t + 0.005 + rnd() * 0.03)
                    if t_fetch < INF:
                        t_fetch = INF
            elif kind == "pause" or (kind == "hide_pause" and playing):
                if playing and started:
                    a_pos = pos(t)
                    playing = False
                    paused_at = t
                    pause_id += 1
                    paused_by_hide = kind == "hide_pause"
                    if pev is not None:
                        yield pev(t, "pause", a_pos, visible, muted, rend.name, vp)
                    if not paused_by_hide:
                        later(
                            t + w.pause_median * math.exp(gauss(0.0, w.pause_sigma)),
                            "resume",
                            pause_id,
                        )
                elif kind == "pause":
                    later(t + rng.expovariate(1.0 / w.pause_every), "pause")
            elif kind == "resume":
                if not playing and arg == pause_id:
                    edge = ch.live_edge(t)
                    playing = True
                    paused_by_hide = False
                    if t - paused_at > 60.0 or edge - nxt > 6:
                        if w.reload_master_on_resume:
                            size = ch.master_size
                            yield cdn(t, ch.master_path, 200, size, size, rtt + 0.01 + rnd() * 0.05)
                        nxt = edge - 2
                        a_pos = (nxt - s0) * SEG
                        dl_pos = a_pos
                        a_t = t + 0.5 + rnd() * 0.7
                        t_tick = t + 0.06 + rnd() * 0.05
                        t_fetch = INF
                    else:
                        a_t = t
                    if pev is not None:
                        yield pev(t, "resume", a_pos, visible, muted, rend.name, vp)
                    if w.pause_every > 0:
                        later(t + rng.expovariate(1.0 / w.pause_every), "pause")
            elif kind == "hide":
                visible = False
                hidden_since = t
                if w.pause_on_hide and playing and started:
                    later(t + 0.05 + rnd() * 0.3, "hide_pause")
                if not arg:  # a temporary tab switch
                    later(t + w.hide_median * math.exp(gauss(0.0, 1.0)), "show")
            elif kind == "show":
                visible = True
                if paused_by_hide and not playing:
                    later(t + 0.3 + rnd() * 1.5, "resume", pause_id)
                if w.hide_every > 0:
                    later(t + rng.expovariate(1.0 / w.hide_every), "hide", False)
            elif kind == "unmute":
                muted = False
            elif kind == "viewport":
                vp = dev.alt_viewport if vp == dev.viewport else dev.viewport
                later(t + rng.expovariate(1.0 / w.toggle_viewport_every), "viewport")
            elif kind == "ip":
                em.set_client(arg)
                if w.handover_gap > 0:
                    down = t + w.handover_gap * (0.5 + rnd())
                    t_tick = max(t_tick, down)
                    if t_fetch < INF:
                        t_fetch = max(t_fetch, down)
                    if t_hb < INF and rnd() < 0.5:
                        t_hb = max(t_hb, down + rnd() * 0.5)  # the beacon waits for the network
            elif kind == "join":
                joined = True
                yield em.chat(t, uid, "join")
                if w.chat_first >= 0:
                    later(t + w.chat_first, "msg", w.chat_first_len)
                elif w.chat_every > 0:
                    later(t + rng.expovariate(1.0 / w.chat_every), "msg")
            elif kind == "msg":
                length = arg if arg else max(1, min(500, int(18.0 * math.exp(gauss(0.0, 0.9)))))
                yield em.chat(t, uid, "message", length)
                if w.chat_every > 0:
                    gap = rng.expovariate(1.0 / w.chat_every)
                    if rnd() < 0.3:
                        gap *= 0.1  # conversations come in bursts
                    later(t + gap, "msg")
            elif kind == "challenge":
                _, passed, error = arg
                yield em.challenge(t, passed, error)

    # ---- leaving
    if started and pev is not None and w.end_event:
        p = pos(end)
        yield pev(end, "end", p if p < dl_pos else dl_pos, visible, muted, rend.name, vp)
    if joined and rnd() < 0.9:
        yield em.chat(end + 0.05 + rnd() * 0.4, uid, "part")
