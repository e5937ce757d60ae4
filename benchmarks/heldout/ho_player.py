"""A live HLS client: playlist refresh, segment fetches at the live edge, buffer, ABR, player events.

One model serves browsers (hls.js-like timing), native players (AVPlayer/ExoPlayer/Roku timing)
and the bots that drive a real or half-real player; per-instance knobs choose the behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from ho_core import Session

PLAY, PAUSE, STALL = 0, 1, 2


class Viewer(Session):
    """A viewer session driven by a player; knobs are plain attributes set by the builders."""

    end = 0.0
    # client behaviour
    player_events = True
    fetch_playlists = True
    fetch_every = 1  # fetch every k-th segment; 0 = never fetch media
    pl_mode = "hlsjs"  # hlsjs | native | fixed
    pl_period = 2.0
    pl_jitter = 0.0
    forged = False  # reported position follows the wall clock x pos_rate, not the buffer
    pos_rate = 1.0
    pos_mode = "session"  # session | stream
    hb_mode = "browser"  # browser | native | exact | script
    hb_period = 30.0
    rendition = "abr"  # abr | fixed
    fixed_ri = 1
    cap_ri = 99
    claimed: str | None = None
    start_muted = False
    unmute_after: float | None = None
    vis = "always"  # always | toggle | hidden_mostly | hidden
    vis_on_mean = 600.0
    vis_off_mean = 120.0
    pause_rate = 0.0
    pause_mean = 60.0
    seek_live_p = 0.5
    end_event_p = 0.6
    chat_user: str | None = None
    chat_rate = 0.0
    chat_join = True
    challenge_at: float | None = None
    challenge_pass = True
    challenge_err = ""
    audio_only_hidden = False
    viewport = (1920, 969)
    fullscreen_at: float | None = None
    token_ttl = 3600.0
    err_scale = 1.0
    # link
    bw = 50_000.0
    rtt = 20.0
    bw_sigma = 0.12
    fade_rate = 0.0  # deep fades per second (satellite rain fade, mobile handover)
    quic_after: float | None = None
    quic_ja4 = ""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.net_plan: list[tuple[float, Callable[[], None], float]] = []
        self.bw_x = 0.0
        self.fade_until = 0.0

    # ------------------------------------------------------------------ network
    def _link(self) -> float:
        """Current throughput in kbit/s (log-AR(1) around the median, with deep fades)."""
        r = self.rng.random
        # Irwin-Hall(3) noise: close enough to normal and a third of the cost of gauss()
        self.bw_x = 0.93 * self.bw_x + (r() + r() + r() - 1.5) * 2.0 * self.bw_sigma
        bw = self.bw * math.exp(self.bw_x)
        return bw * 0.18 if self.fade_until > 0 else bw

    def _get(self, t: float, path: str, size: int, bw: float, status: int = 200) -> float:
        dur = self.rtt * (1.0 + 0.35 * self.rng.random()) + size * 8.0 / bw
        if status == 200:
            self.cdn(t, path, 200, size, size, dur)
        else:
            body = 0 if status == 403 else 120 + (len(path) * 3) % 90
            self.cdn(t, path, status, body, body, self.rtt * 1.1)
            dur = self.rtt * 1.1
        return t + dur / 1000.0

    # ------------------------------------------------------------------ main loop
    def run(self) -> Iterator[float]:
        rng = self.rng
        rand = rng.random
        ch = self.ch
        ladder = ch.ladder
        top = len(ladder) - 1
        seg_fmt = ch.seg_fmt
        media_paths = ch.media_paths
        m4s = ch.container == "m4s"
        end = self.end
        vw, vh = self.viewport
        err = self.err_scale

        t = self.start
        bw = self._link()
        est = bw * 0.6
        if self.rendition == "fixed":
            ri = min(self.fixed_ri, top)
        else:
            ri = max(1, min(self.cap_ri, top, _fit(ladder, est * 0.5)))
        cap = min(self.cap_ri, top)
        fetch_media = self.fetch_every > 0
        t_media = t
        if self.fetch_playlists:
            t = self._get(t, ch.master_path, ch.master_size, bw) + 0.004 + 0.02 * rand()
            t_media = t
            t = self._get(t, media_paths[ri], ch.media_size, bw)
            if m4s and fetch_media:
                t = self._get(t, ch.init_paths[ri], 900 + ri * 37, bw)
        live = ch.live_idx(t)
        nxt = live - 2
        buf_end = nxt * 2.0
        pos_anchor = buf_end
        origin = buf_end if self.pos_mode == "session" else 0.0
        link_free = t
        pending: list[tuple[float, float]] = []
        if fetch_media:
            for n in range(nxt, live + 1):
                if self.fetch_every == 1 or n % self.fetch_every == 0:
                    size = ch.seg_size(ri, n)
                    t = self._get(t, seg_fmt[ri].format(n), size, bw)
                    est = 0.7 * est + 0.3 * size * 8.0 / max(1.0, (t - link_free) * 1000.0)
                    link_free = t
                buf_end = (n + 1) * 2.0
        nxt = live + 1
        t_anchor = t + 0.05
        state = PLAY
        t_play0 = t_anchor
        muted = self.start_muted
        visible = self.vis != "hidden"
        hidden_since = t if not visible else 0.0
        shown = ladder[ri][0] if self.claimed is None else self.claimed
        if self.player_events:
            self.player(
                t_anchor,
                "start",
                0.0 if self.pos_mode == "session" else pos_anchor,
                visible,
                muted,
                shown,
                vw,
                vh,
            )
        # timers
        next_hb = (
            t_anchor + self.hb_period + (rng.gauss(0, 0.01) if self.hb_mode == "browser" else 0.0)
        )
        inf = float("inf")
        next_unmute = (
            t_anchor + self.unmute_after if (muted and self.unmute_after is not None) else inf
        )
        next_vis = inf
        if self.vis == "toggle":
            next_vis = t_anchor + rng.expovariate(1.0 / self.vis_on_mean)
        elif self.vis == "hidden_mostly":
            next_vis = t_anchor + rng.uniform(30, 400)
        next_pause = t_anchor + rng.expovariate(self.pause_rate) if self.pause_rate > 0 else inf
        resume_at = inf
        seek_on_resume = False
        next_chat = (
            t_anchor + rng.expovariate(self.chat_rate)
            if (self.chat_user and self.chat_rate > 0)
            else inf
        )
        chat_joined = False
        if self.chat_user and self.chat_join:
            self.chat(t_anchor + 0.3 + 2.5 * rand(), self.chat_user, "join")
            chat_joined = True
        challenge_at = self.start + self.challenge_at if self.challenge_at is not None else inf
        fullscreen_at = self.start + self.fullscreen_at if self.fullscreen_at is not None else inf
        quic_at = self.start + self.quic_after if self.quic_after is not None else inf
        plan = sorted(self.net_plan, key=lambda p: p[0])
        next_net = plan[0][0] if plan else inf
        token_t = self.start
        pl_t = t_media + (self.pl_period if self.pl_mode == "fixed" else 2.0)
        pl_t = max(pl_t, t_anchor + 0.05)
        self._forge_base = 0.0 if self.pos_mode == "session" else pos_anchor
        # timers due before the first refresh would fire behind this actor's clock
        next_chat = max(next_chat, pl_t)
        next_hb = max(next_hb, pl_t)
        challenge_at = max(challenge_at, pl_t)
        pre_hidden_ri = ri

        while True:
            t = pl_t
            yield t
            if t >= end:
                break
            gap = 0.0
            new_seg = False
            # --- network change (wifi <-> cellular, proxy rotation, new Tor circuit)
            if t >= next_net:
                _, apply, gap = plan.pop(0)
                apply()
                next_net = plan[0][0] if plan else inf
                if gap > 0:
                    est *= 0.5
                    self.bw_x = -0.4
            if t >= quic_at:
                self.ja4 = self.quic_ja4
                quic_at = inf
            if self.fade_rate > 0:
                if self.fade_until and t > self.fade_until:
                    self.fade_until = 0.0
                elif not self.fade_until and rand() < self.fade_rate * 2.0:
                    self.fade_until = t + rng.uniform(4, 40)
            bw = self._link()
            # --- user actions due before the next refresh are handled in this step
            horizon = t + 2.0
            if next_unmute < horizon:
                muted = False
                next_unmute = inf
            if next_vis < horizon:
                at = max(next_vis, t)
                visible = not visible
                if self.vis == "toggle":
                    mean = self.vis_on_mean if visible else self.vis_off_mean
                elif self.vis == "hidden_mostly":
                    mean = rng.uniform(20, 120) if visible else rng.uniform(900, 3600)
                else:
                    mean = inf
                next_vis = at + rng.expovariate(1.0 / mean) if mean != inf else inf
                hidden_since = at if not visible else 0.0
                if self.audio_only_hidden:
                    if not visible and ri != 0:
                        pre_hidden_ri, ri = ri, 0
                        if self.player_events:
                            self.player(
                                at,
                                "rendition_change",
                                self._pos(
                                    state, at, pos_anchor, t_anchor, buf_end, origin, t_play0
                                ),
                                visible,
                                muted,
                                ladder[0][0],
                                vw,
                                vh,
                            )
                    elif visible and ri == 0:
                        ri = pre_hidden_ri
                        if self.player_events:
                            self.player(
                                at,
                                "rendition_change",
                                self._pos(
                                    state, at, pos_anchor, t_anchor, buf_end, origin, t_play0
                                ),
                                visible,
                                muted,
                                ladder[ri][0],
                                vw,
                                vh,
                            )
            if fullscreen_at < horizon:
                vw, vh = (1920, 1080) if vw >= 1280 else (vh, vw)
                fullscreen_at = inf
            if state != PAUSE and next_pause < horizon:
                at = max(next_pause, t)
                pos_anchor = self._raw_pos(state, at, pos_anchor, t_anchor, buf_end)
                state = PAUSE
                if self.player_events:
                    self.player(
                        at, "pause", self._rep(pos_anchor, origin), visible, muted, shown, vw, vh
                    )
                resume_at = at + rng.lognormvariate(math.log(self.pause_mean), 0.8)
                seek_on_resume = rand() < self.seek_live_p
                next_pause = inf
            elif state == PAUSE and resume_at < horizon:
                at = max(resume_at, t)
                if seek_on_resume:
                    live = ch.live_idx(at)
                    nxt = live - 2
                    pos_anchor = buf_end = nxt * 2.0
                    pending.clear()
                state = PLAY if buf_end > pos_anchor else STALL
                t_anchor = at
                if self.player_events:
                    self.player(
                        at, "resume", self._rep(pos_anchor, origin), visible, muted, shown, vw, vh
                    )
                resume_at = inf
                next_pause = at + rng.expovariate(self.pause_rate)
            # --- playlist refresh and new segments
            if gap > 0:
                pl_t = t + gap
                new_seg = True
            else:
                if self.fetch_playlists:
                    if t - token_t > self.token_ttl:
                        done = self._get(t, media_paths[ri], 0, bw, 403)
                        done = self._get(done + 0.05, ch.master_path, ch.master_size, bw)
                        token_t = t
                    else:
                        done = t
                    done = self._get(done, media_paths[ri], ch.media_size, bw)
                else:
                    done = t
                live = ch.live_idx(t)
                if live >= nxt:
                    new_seg = True
                    if nxt < live - ch.window + 1:  # fell out of the playlist window: resync
                        nxt = live - 2
                        if not self.forged:
                            pos_anchor = buf_end = nxt * 2.0
                            t_anchor = done
                            pending.clear()
                    buffered_ahead = buf_end - self._raw_pos(
                        state, t, pos_anchor, t_anchor, buf_end
                    )
                    if fetch_media and not (state == PAUSE and buffered_ahead >= 30.0):
                        # ABR decision before the next fragment
                        if self.rendition == "abr" and ri != 0:
                            want = max(1, min(cap, _fit(ladder, est * 0.72)))
                            if want > ri and ladder[want][1] > est * 0.6:
                                want = ri
                            if state == STALL:
                                want = max(1, min(want, ri - 1))
                            if want != ri:
                                ri = want
                                shown = ladder[ri][0] if self.claimed is None else self.claimed
                                if self.player_events:
                                    self.player(
                                        done,
                                        "rendition_change",
                                        self._rep(
                                            self._raw_pos(
                                                state, done, pos_anchor, t_anchor, buf_end
                                            ),
                                            origin,
                                        ),
                                        visible,
                                        muted,
                                        shown,
                                        vw,
                                        vh,
                                    )
                                done = self._get(done, media_paths[ri], ch.media_size, bw)
                                if m4s:
                                    done = self._get(done, ch.init_paths[ri], 900 + ri * 37, bw)
                        start_at = done if done > link_free else link_free
                        every = self.fetch_every
                        for n in range(nxt, live + 1):
                            if every != 1 and n % every:
                                continue
                            size = ch.seg_size(ri, n)
                            path = seg_fmt[ri].format(n)
                            p = rand()
                            if p < 0.004 * err:  # requested just before the edge published it
                                start_at = self._get(start_at, path, size, bw, 404) + rng.uniform(
                                    0.25, 0.9
                                )
                            elif p < 0.0048 * err:
                                start_at = self._get(
                                    start_at, path, size, bw, rng.choice((502, 503, 504))
                                ) + rng.uniform(0.5, 1.5)
                            fin = self._get(start_at, path, size, bw)
                            dl = max(1.0, (fin - start_at) * 1000.0)
                            tput = size * 8.0 / dl
                            est = (
                                0.65 * est + 0.35 * tput if tput < est else 0.85 * est + 0.15 * tput
                            )
                            pending.append((fin, (n + 1) * 2.0))
                            start_at = fin + 0.002
                        link_free = start_at
                        nxt = live + 1
                    elif not fetch_media:
                        nxt = live + 1
                # next refresh
                mode = self.pl_mode
                if mode == "fixed":
                    pl_t = (
                        t
                        + self.pl_period
                        + (rng.gauss(0, self.pl_jitter) if self.pl_jitter else 0.0)
                    )
                elif mode == "native":
                    pl_t = t + (2.0 if new_seg else 1.0) + rng.gauss(0, 0.003)
                else:
                    pl_t = (
                        t
                        + (2.0 if new_seg else 1.0)
                        + rng.gauss(0.004, 0.008)
                        + rng.expovariate(200.0)
                    )
                    if not visible:
                        pl_t += rand() * 0.4  # hidden tabs wake on coarse timers
                if pl_t <= t:
                    pl_t = t + 0.5
            t_next = pl_t
            # --- buffer: arrivals and stalls in [t, t_next)
            if not self.forged and fetch_media:
                if pending:
                    keep = []
                    for a, se in pending:
                        if a >= t_next:
                            keep.append((a, se))
                            continue
                        if state == PLAY:
                            stall_t = t_anchor + (buf_end - pos_anchor)
                            if stall_t < a:
                                pos_anchor = buf_end
                                state = STALL
                                if self.player_events:
                                    self.player(
                                        max(stall_t, t),
                                        "stall",
                                        self._rep(pos_anchor, origin),
                                        visible,
                                        muted,
                                        shown,
                                        vw,
                                        vh,
                                    )
                        if se > buf_end:
                            buf_end = se
                        if state == STALL:
                            state = PLAY
                            t_anchor = a + 0.15
                    pending = keep
                if state == PLAY:
                    stall_t = t_anchor + (buf_end - pos_anchor)
                    if stall_t < t_next:
                        pos_anchor = buf_end
                        state = STALL
                        if self.player_events:
                            self.player(
                                max(stall_t, t),
                                "stall",
                                self._rep(pos_anchor, origin),
                                visible,
                                muted,
                                shown,
                                vw,
                                vh,
                            )
            # --- timers: heartbeats, chat, challenge
            if self.player_events:
                while next_hb < t_next:
                    if gap > 0 and next_hb < t + gap:
                        next_hb = self._next_hb(next_hb, visible, muted, hidden_since)
                        continue
                    pos = self._pos(state, next_hb, pos_anchor, t_anchor, buf_end, origin, t_play0)
                    self.player(next_hb, "heartbeat", pos, visible, muted, shown, vw, vh)
                    next_hb = self._next_hb(next_hb, visible, muted, hidden_since)
            while next_chat < t_next:
                self.chat(next_chat, self.chat_user or "", "message", _msg_len(rng))
                next_chat += rng.expovariate(self.chat_rate)
            if challenge_at < t_next:
                self.challenge(challenge_at, self.challenge_pass, self.challenge_err)
                challenge_at = inf
        # --- session end
        t_end = max(t, self.end)
        if fetch_media and not self.forged and rand() < 0.3:
            # the tab closes while the next fragment is downloading
            n = ch.live_idx(t_end)
            size = ch.seg_size(ri, n)
            self.cdn(
                t_end,
                seg_fmt[ri].format(n),
                499,
                size,
                int(size * rand() * 0.7),
                rng.uniform(20, 900),
            )
            t_end += 0.05
        if self.player_events and rand() < self.end_event_p:
            pos = self._pos(state, t_end, pos_anchor, t_anchor, buf_end, origin, t_play0)
            self.player(t_end, "end", pos, visible, muted, shown, vw, vh)
        if chat_joined and rand() < 0.85:
            self.chat(t_end + rng.uniform(0.2, 4.0), self.chat_user or "", "part")

    # ------------------------------------------------------------------ helpers
    def _raw_pos(
        self, state: int, x: float, pos_anchor: float, t_anchor: float, buf_end: float
    ) -> float:
        if state != PLAY:
            return pos_anchor
        p = pos_anchor + (x - t_anchor)
        return p if p < buf_end else buf_end

    def _rep(self, raw: float, origin: float) -> float:
        return raw - origin

    def _pos(
        self,
        state: int,
        x: float,
        pos_anchor: float,
        t_anchor: float,
        buf_end: float,
        origin: float,
        t_play0: float,
    ) -> float:
        if self.forged:
            return (x - t_play0) * self.pos_rate + self._forge_base
        return self._raw_pos(state, x, pos_anchor, t_anchor, buf_end) - origin

    def _next_hb(self, last: float, visible: bool, muted: bool, hidden_since: float) -> float:
        period = self.hb_period
        mode = self.hb_mode
        rng = self.rng
        if mode == "exact":
            return last + period
        if mode == "native":
            return last + period + rng.gauss(0, 0.002)
        if mode == "script":
            return last + period + rng.uniform(0.001, 0.04)
        if not visible:
            if muted and last - hidden_since > 300:
                # Chrome intensive throttling: chained timers wake once a minute, aligned
                return math.ceil((last + period) / 60.0) * 60.0 + rng.uniform(0.0, 0.03)
            return last + period + rng.uniform(0.0, 1.0)
        nxt = last + period + rng.gauss(0, 0.012)
        if rng.random() < 0.05:
            nxt += rng.uniform(0.05, 0.6)  # long task on the main thread
        return nxt


def _fit(ladder: list[tuple[str, int]], kbps: float) -> int:
    best = 1
    for i in range(1, len(ladder)):
        if ladder[i][1] <= kbps:
            best = i
    return best


def _msg_len(rng) -> int:
    n = int(rng.lognormvariate(math.log(22), 0.9))
    return max(1, min(n, 500))
