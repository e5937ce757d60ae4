"""Viewbot families. An attack is one operator's campaign on one channel with its own infrastructure.

Each family keeps the operator's economics in mind: cheap families skip media, expensive ones
run a real browser, and the clever ones spend their effort on one evasion and get the rest wrong.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import ho_catalog as cat
from ho_core import Channel, Session
from ho_humans import Ctx
from ho_player import Viewer


class Infra:
    """An operator's addresses: a few /24s in a few ASNs, handed out to sessions."""

    def __init__(
        self,
        rng: random.Random,
        asns: list[cat.Asn],
        subnets: int,
        per_ip: float,
        v6_p: float = 0.0,
    ):
        self.rng = rng
        self.pool: list[tuple[cat.Asn, int]] = [
            (a, a.v4_subnet(rng)) for a in asns for _ in range(max(1, subnets // len(asns)))
        ]
        self.per_ip = per_ip
        self.v6_p = v6_p
        self.ips: list[tuple[str, cat.Asn]] = []

    def address(self) -> tuple[str, cat.Asn]:
        rng = self.rng
        if self.ips and rng.random() < 1.0 - 1.0 / self.per_ip:
            return rng.choice(self.ips)
        asn, sub = rng.choice(self.pool)
        if asn.v6 and rng.random() < self.v6_p:
            ip = asn.v6_addr(rng, asn.v6_site(rng, 48))
        else:
            ip = cat.v4_in(sub, rng)
        self.ips.append((ip, asn))
        return ip, asn


def _bot(ctx: Ctx, cls, family: str, ch: Channel, start: float, end: float):
    s = cls(ctx.w, ctx.rng, ctx.sid(), ch, start)
    s.family = family
    s.label = "bot"
    s.end = min(ctx.t_end, end)
    return s


def _place(v: Session, ip: str, asn: cat.Asn, rtt: float = 0.0, bw: float = 0.0) -> None:
    v.ip, v.asn, v.cc = ip, asn.number, asn.country
    if isinstance(v, Viewer):
        v.rtt = rtt or v.rng.uniform(*asn.rtt_ms)
        v.bw = bw or asn.bw_kbps * v.rng.lognormvariate(0, 0.3)


# ---------------------------------------------------------------- (a) playlist-only farm
class FarmViewer(Viewer):
    """Keeps connections open by reading playlists slowly; never touches media."""

    hold_ms: tuple[float, float] | None = None

    def _get(self, t: float, path: str, size: int, bw: float, status: int = 200) -> float:
        if self.hold_ms is None:
            return super()._get(t, path, size, bw, status)
        dur = self.rng.uniform(*self.hold_ms)
        self.cdn(t, path, 200, size, size, dur)
        return t + 0.01


def attack_playlist_farm(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    infra = Infra(rng, rng.sample(cat.HOSTING, 2), rng.randint(2, 4), per_ip=rng.uniform(2, 8))
    period = 2.0 * (rng.uniform(1.08, 1.22) if rng.random() < 0.6 else rng.uniform(0.78, 0.9))
    ja4 = rng.choice((cat.JA4_GO, cat.JA4_AIOHTTP, cat.JA4_UTLS_CHROME))
    hold = (1400.0, period * 1000 * 0.95) if rng.random() < 0.5 else None
    ref = "" if rng.random() < 0.6 else f"{cat.SITE}/{ch.id}"
    ramp = rng.uniform(30, 180)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        while t < t_b:
            life = rng.uniform(600, 1500)
            v = _bot(ctx, FarmViewer, "playlist_farm", ch, t, min(t_b, t + life))
            _place(v, *infra.address())
            v.ua = cat.chrome_ua(rng) if rng.random() < 0.7 else cat.firefox_ua(rng)
            v.ja4, v.ref, v.hold_ms = ja4, ref, hold
            v.fetch_every = 0
            v.player_events = rng.random() < 0.3
            v.hb_mode, v.hb_period = "exact", 1e9  # a lone 'start' at most
            v.pl_mode, v.pl_period, v.pl_jitter = "fixed", period, 0.004
            v.forged = True
            v.end_event_p = 0.0
            yield t, [v]
            t += life + rng.uniform(0.5, 5)


# ---------------------------------------------------------------- (b) stealth headless Chrome
def attack_stealth_chrome(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    if rng.random() < 0.6:
        infra = Infra(rng, rng.sample(cat.HOSTING, 2), 3, per_ip=rng.uniform(1, 3))
    else:  # "ISP proxies": datacenter-hosted addresses announced by a residential ISP
        infra = Infra(rng, rng.sample(cat.RESIDENTIAL_BY_CC["US"], 2), 4, per_ip=1.2)
    vp = (800, 600) if rng.random() < 0.6 else rng.choice(((1280, 720), (1920, 1080), (1366, 768)))
    ramp = rng.uniform(120, 600)
    for i in range(n):
        t = t_a + ramp * i / max(1, n) + rng.uniform(0, 3)
        v = _bot(ctx, Viewer, "stealth_chrome", ch, t, t_b + rng.uniform(-20, 20))
        _place(v, *infra.address())
        v.ua = cat.chrome_ua(rng, rng.choice(("win", "linux")))
        v.ja4 = cat.JA4_CHROME
        v.ref = cat.SITE + "/"
        v.viewport = vp
        v.rendition, v.fixed_ri = "fixed", 1
        v.start_muted = True
        v.vis = "always"
        v.hb_mode = "exact"
        v.end_event_p = 0.0
        if rng.random() < 0.15:
            v.challenge_at = rng.uniform(60, 600)
            v.challenge_pass = rng.random() < 0.4
            v.challenge_err = "timeout"
        yield t, [v]


# ---------------------------------------------------------------- (c) segment sampler
def attack_segment_sampler(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    infra = Infra(rng, [rng.choice(cat.HOSTING)], 3, per_ip=rng.uniform(2, 6))
    every = rng.choice((4, 5, 5, 6))
    ramp = rng.uniform(60, 300)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        v = _bot(ctx, Viewer, "segment_sampler", ch, t, t_b + rng.uniform(-5, 5))
        _place(v, *infra.address())
        v.ua = cat.chrome_ua(rng, "win")
        v.ja4 = cat.JA4_CHROME  # curl-impersonate: a perfect Chrome hello
        v.ref = cat.SITE + "/"
        v.fetch_every = every
        v.forged = True
        v.rendition, v.fixed_ri = "fixed", min(3, len(ch.ladder) - 1)
        v.pl_mode, v.pl_period, v.pl_jitter = "fixed", 2.0, 0.02
        v.hb_mode = "script"
        v.start_muted = rng.random() < 0.5
        v.viewport = (1920, 969)
        v.end_event_p = 0.0
        yield t, [v]


# ---------------------------------------------------------------- (d) cheap scripted clients
class ScriptBot(Session):
    """A while-loop with sleep(2): library TLS, partial reads, HEAD probes, optional fake beacons."""

    end = 0.0

    def run(self) -> Iterator[float]:
        rng = self.rng
        ch = self.ch
        mode = self.mode
        period = self.period
        ri = 1 + rng.randrange(len(ch.ladder) - 1)
        t = self.start
        self.cdn(t, ch.master_path, 200, ch.master_size, ch.master_size, self.rtt + 3)
        t0 = t
        next_hb = t + 30.0 if self.beacons else float("inf")
        if self.beacons:
            self.player(t + 0.2, "start", 0.0, True, True, "720p60", *self.vp)
        last = ch.live_idx(t)
        while t < self.end:
            if self.master_each:
                self.cdn(t, ch.master_path, 200, ch.master_size, ch.master_size, self.rtt + 2)
            self.cdn(t + 0.01, ch.media_paths[ri], 200, ch.media_size, ch.media_size, self.rtt + 2)
            live = ch.live_idx(t)
            s = t + 0.02
            for n in range(max(last + 1, live - 1), live + 1):
                size = ch.seg_size(ri, n)
                path = ch.seg_fmt[ri].format(n)
                if mode == "head":
                    self.cdn(s, path, 200, size, 0, self.rtt + 1, method="HEAD")
                elif mode == "range":
                    part = rng.choice((1, 512, 1024, 65536))
                    self.cdn(s, path, 206, size, part, self.rtt + 2)
                elif mode == "abort":
                    part = int(size * rng.uniform(0.02, 0.2))
                    self.cdn(
                        s, path, rng.choice((200, 499)), size, part, self.rtt + part * 8 / 400_000
                    )
                elif n % 3 == 0:
                    self.cdn(s, path, 200, size, size, self.rtt + size * 8 / 400_000)
                s += 0.005
            last = live
            t_next = t + period + rng.uniform(0.0, 0.08)
            while next_hb < t_next:
                self.player(next_hb, "heartbeat", next_hb - t0, True, True, "720p60", *self.vp)
                next_hb += 30.0 + rng.uniform(0, 0.05)
            t = t_next
            yield t


def attack_script_client(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    infra = Infra(rng, rng.sample(cat.HOSTING, 2), 2, per_ip=rng.uniform(3, 12), v6_p=0.25)
    ua, ja4 = rng.choice(cat.SCRIPTED)
    mode = rng.choice(("head", "range", "abort", "thin"))
    beacons = rng.random() < 0.4
    period = rng.uniform(2.0, 2.4)
    ramp = rng.uniform(5, 60)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        s = _bot(ctx, ScriptBot, "script_client", ch, t, t_b)
        ip, asn = infra.address()
        _place(s, ip, asn)
        s.rtt = rng.uniform(*asn.rtt_ms)
        s.ua, s.ja4, s.ref = ua, ja4, ""
        s.mode, s.beacons, s.period = mode, beacons, period
        s.master_each = rng.random() < 0.3
        s.vp = rng.choice(((0, 0), (1920, 1080), (800, 600)))
        yield t, [s]


# ---------------------------------------------------------------- (e) rotating residential proxies
def attack_proxy_rotator(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    market = cat.MARKETS[ch.market]
    cc = rng.choices([c for c, _ in market], [w for _, w in market])[0]
    pool = (cat.RESIDENTIAL_BY_CC.get(cc) or cat.RESIDENTIAL_BY_CC["US"]) + (
        cat.MOBILE_BY_CC.get(cc) or []
    )
    sticky = rng.choice((60.0, 180.0, 300.0, 600.0))
    ramp = rng.uniform(300, 900)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        v = _bot(ctx, Viewer, "proxy_rotator", ch, t, t_b + rng.uniform(-60, 60))

        def rotate(v=v) -> None:
            asn = rng.choice(pool)
            ip = asn.v4_addr(rng)
            v.ip, v.asn, v.cc = ip, asn.number, asn.country
            v.rtt = rng.uniform(60, 180)  # the proxy hop
            v.bw = rng.uniform(4000, 20000)

        rotate()
        v.ua = cat.chrome_ua(rng, "win")
        v.ja4 = cat.JA4_CHROME
        v.ref = cat.SITE + "/"
        v.rendition, v.fixed_ri = "fixed", rng.choice((1, 1, 2))
        v.start_muted = rng.random() < 0.7
        v.vis = "always"
        v.viewport = rng.choice(((1366, 657), (1920, 969), (1536, 730)))
        v.end_event_p = 0.0
        tt = t + sticky * rng.uniform(0.3, 1.0)
        while tt < v.end:
            v.net_plan.append((tt, rotate, 0.0))
            tt += sticky * rng.uniform(0.85, 1.15)
        yield t, [v]


# ---------------------------------------------------------------- (f) resold session tokens
class ResoldSession(Session):
    """One session token used by many buyers at once, all over the world."""

    end = 0.0

    def run(self) -> Iterator[float]:
        rng = self.rng
        ch = self.ch
        clients: list[dict] = []
        t = self.start
        next_join = t
        for _ in range(self.initial):
            clients.append(self._client(t + rng.uniform(0, 5)))
        while t < self.end:
            while next_join <= t and len(clients) < self.max_clients:
                clients.append(self._client(next_join))
                next_join += rng.expovariate(1.0 / self.join_every)
            live = ch.live_idx(t)
            for c in clients:
                if c["end"] < t:
                    continue
                self.ip, self.asn, self.cc, self.ua, self.ja4, self.ref = c["net"]
                at = t + c["phase"]
                ri = c["ri"]
                if c["new"]:
                    self.cdn(
                        at, ch.master_path, 200, ch.master_size, ch.master_size, c["rtt"] * 1.2
                    )
                    at += c["rtt"] / 1000 + 0.01
                    c["new"] = False
                    c["seg"] = live
                    if c["beacon"]:
                        self.player(at, "start", 0.0, True, c["muted"], ch.ladder[ri][0], *c["vp"])
                        c["hb"] = at + 30.0 + rng.gauss(0, 0.02)
                self.cdn(at, ch.media_paths[ri], 200, ch.media_size, ch.media_size, c["rtt"] * 1.2)
                at += c["rtt"] / 1000 + 0.005
                for n in range(c["seg"], live + 1):
                    size = ch.seg_size(ri, n)
                    dur = c["rtt"] + size * 8.0 / c["bw"]
                    self.cdn(at, ch.seg_fmt[ri].format(n), 200, size, size, dur)
                    at += dur / 1000 + 0.003
                c["seg"] = live + 1
                while c["beacon"] and c["hb"] < t + 2.0:
                    self.player(
                        c["hb"],
                        "heartbeat",
                        c["hb"] - c["t0"],
                        True,
                        c["muted"],
                        ch.ladder[ri][0],
                        *c["vp"],
                    )
                    c["hb"] += 30.0 + rng.gauss(0, 0.02)
            clients = [c for c in clients if c["end"] >= t]
            t += 2.0
            yield t

    def _client(self, t: float) -> dict:
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:
            asn = rng.choice(cat.RESIDENTIAL)
        elif kind < 0.85:
            asn = rng.choice(cat.MOBILE)
        else:
            asn = rng.choice(cat.HOSTING + cat.VPN)
        ip = asn.v6_addr(rng) if (asn.v6 and rng.random() < 0.3) else asn.v4_addr(rng)
        r = rng.random()
        if r < 0.6:
            ua, ja4, ref = cat.chrome_ua(rng), cat.JA4_CHROME, cat.SITE + "/"
        elif r < 0.8:
            ua, ja4, ref = cat.android_chrome_ua(rng), cat.JA4_CHROME, cat.SITE + "/"
        else:
            ua, ja4, ref = cat.apple_coremedia_ua(rng), cat.JA4_APPLE_MEDIA, ""
        return {
            "net": (ip, asn.number, asn.country, ua, ja4, ref),
            "phase": rng.uniform(0, 1.9),
            "rtt": rng.uniform(20, 200),
            "bw": rng.uniform(5000, 80000),
            "ri": 1 + rng.randrange(len(self.ch.ladder) - 1),
            "new": True,
            "seg": 0,
            "t0": t,
            "end": t + rng.uniform(300, 2400),
            "beacon": rng.random() < 0.5,
            "muted": rng.random() < 0.3,
            "vp": rng.choice(cat.DESKTOP_VIEWPORTS + cat.MOBILE_VIEWPORTS),
            "hb": 0.0,
        }


def attack_token_reseller(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    tokens = max(2, n // 6)
    for _ in range(tokens):
        t = t_a + rng.uniform(0, 300)
        s = _bot(ctx, ResoldSession, "token_reseller", ch, t, t_b)
        s.initial = rng.randint(3, 6)
        s.max_clients = rng.randint(10, 30)
        s.join_every = rng.uniform(10, 60)
        yield t, [s]


# ---------------------------------------------------------------- (g) playhead forgers
def attack_playhead_fast(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    infra = Infra(rng, [rng.choice(cat.HOSTING)], 2, per_ip=rng.uniform(1, 4))
    rate = rng.uniform(1.5, 3.5)
    period = rng.choice((10.0, 15.0, 20.0))
    ramp = rng.uniform(60, 300)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        v = _bot(ctx, Viewer, "playhead_fast", ch, t, t_b)
        _place(v, *infra.address())
        v.ua = cat.chrome_ua(rng)
        v.ja4 = rng.choice((cat.JA4_CHROME, cat.JA4_GO))
        v.ref = cat.SITE + "/"
        v.forged, v.pos_rate = True, rate * rng.uniform(0.95, 1.05)
        v.rendition, v.fixed_ri = "fixed", 1
        v.fetch_every = rng.choice((1, 2))
        v.pl_mode, v.pl_period, v.pl_jitter = "fixed", 2.0, 0.01
        v.hb_mode, v.hb_period = "script", period
        v.vis = "always"
        v.end_event_p = 0.0
        yield t, [v]


def attack_ghost_heartbeat(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    claimed = rng.choice(("720p60", "1080p60", "480p30"))
    ramp = rng.uniform(30, 120)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        v = _bot(ctx, Viewer, "ghost_heartbeat", ch, t, t_b)
        v.fetch_playlists = False
        v.fetch_every = 0
        v.forged = True
        v.claimed = claimed
        v.pl_mode, v.pl_period = "fixed", 10.0
        v.hb_mode = rng.choice(("exact", "script"))
        v.viewport = (1920, 1080)
        v.start_muted = rng.random() < 0.5
        v.vis = "always"
        v.end_event_p = 0.0
        yield t, [v]


# ---------------------------------------------------------------- (h) slow drip from few ASNs
def attack_slow_drip(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    if rng.random() < 0.5:
        asns = rng.sample(cat.VPN, 1) + rng.sample(cat.HOSTING, 1)
    else:
        asns = rng.sample(cat.RESIDENTIAL_BY_CC["US"], 2)
    infra = Infra(rng, asns, rng.randint(2, 4), per_ip=1.1)
    gap = rng.uniform(3, 12)
    t = t_a
    made = 0
    while t < t_b - 30 and made < n * 3:
        v = _bot(ctx, Viewer, "slow_drip", ch, t, t_b + rng.uniform(-120, 120))
        _place(v, *infra.address())
        if rng.random() < 0.7:
            v.ua, v.ja4 = cat.chrome_ua(rng), cat.JA4_CHROME
        else:
            v.ua, v.ja4 = cat.firefox_ua(rng), cat.JA4_FIREFOX
        v.ref = cat.SITE + "/"
        v.rendition, v.fixed_ri = "fixed", min(len(ch.ladder) - 1, rng.choice((3, 4)))
        v.vis = "toggle"
        v.vis_on_mean, v.vis_off_mean = 3600.0, 30.0
        v.viewport = rng.choices(cat.DESKTOP_VIEWPORTS, cat.DESKTOP_VP_WEIGHTS)[0]
        v.chat_user = f"{rng.choice(cat.CHAT_NAME_B)}{rng.randint(10000, 99999)}"
        v.end_event_p = 0.1
        yield t, [v]
        made += 1
        t += gap * rng.uniform(0.6, 1.4)


# ---------------------------------------------------------------- (i) fake living-room devices
def attack_fake_tv(
    ctx: Ctx, ch: Channel, t_a: float, t_b: float, n: int
) -> Iterator[tuple[float, list]]:
    rng = ctx.rng
    infra = Infra(rng, [rng.choice(cat.HOSTING)], 2, per_ip=rng.uniform(2, 6))
    ramp = rng.uniform(120, 600)
    for i in range(n):
        t = t_a + ramp * i / max(1, n)
        v = _bot(ctx, Viewer, "fake_tv", ch, t, t_b)
        _place(v, *infra.address())
        v.ua = rng.choice((cat.TV_CLIENTS[0][0], cat.TV_CLIENTS[1][0], cat.TV_CLIENTS[5][0]))
        v.ja4 = cat.JA4_GO
        v.ref = ""
        v.rendition, v.fixed_ri = "fixed", 1
        v.claimed = "1080p60"
        v.pl_mode, v.pl_period, v.pl_jitter = "fixed", 2.0, 0.0005
        v.hb_mode = "exact"
        v.pos_mode = "stream"
        v.vis = "always"
        v.viewport = (1920, 1080)
        v.end_event_p = 0.0
        yield t, [v]


# family -> (campaign generator, relative size)
FAMILIES = {
    "playlist_farm": (attack_playlist_farm, 1.5),
    "stealth_chrome": (attack_stealth_chrome, 0.6),
    "segment_sampler": (attack_segment_sampler, 0.8),
    "script_client": (attack_script_client, 1.0),
    "proxy_rotator": (attack_proxy_rotator, 0.6),
    "token_reseller": (attack_token_reseller, 1.0),
    "playhead_fast": (attack_playhead_fast, 0.7),
    "ghost_heartbeat": (attack_ghost_heartbeat, 2.0),
    "slow_drip": (attack_slow_drip, 1.0),
    "fake_tv": (attack_fake_tv, 0.8),
}


def clamp_count(x: float) -> int:
    return max(4, math.ceil(x))
