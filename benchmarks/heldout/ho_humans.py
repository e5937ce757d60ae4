"""Human viewer populations: each builder returns a configured, labelled Viewer.

The populations are the legitimate viewers that look odd to a naive detector: native TV players,
campus NAT, network switching, raid bursts, privacy tools, Tor and VPN exits, background tabs,
satellite links, two tabs, directory-page previews and muted embeds.
"""

from __future__ import annotations

import math
import random

import ho_catalog as cat
from ho_core import Channel
from ho_player import Viewer


class Ctx:
    """What a builder needs from the world: randomness, ids, shared infrastructure."""

    def __init__(self, rng: random.Random, writer, t0: float, t_end: float):
        self.rng = rng
        self.w = writer
        self.t0 = t0
        self.t_end = t_end
        self.sids: set[str] = set()
        rng2 = random.Random(rng.getrandbits(64))
        # commercial VPN servers: many unrelated people share each exit address
        self.vpn_servers = []
        for _ in range(10):
            asn = rng2.choice(cat.VPN)
            self.vpn_servers.append((asn.v4_addr(rng2), asn))
        self.tor_exits = []
        for _ in range(24):
            asn = rng2.choice(cat.TOR)
            self.tor_exits.append((asn.v4_addr(rng2), asn))

    def sid(self) -> str:
        rng = self.rng
        while True:
            s = format(rng.getrandbits(64), "016x")
            if s not in self.sids:
                self.sids.add(s)
                return s

    def viewer(self, family: str, ch: Channel, start: float, length: float) -> Viewer:
        v = Viewer(self.w, self.rng, self.sid(), ch, start)
        v.family = family
        v.label = "human"
        v.end = min(self.t_end, start + length)
        return v


# ---------------------------------------------------------------- identity helpers
def pick_country(rng: random.Random, ch: Channel) -> str:
    market = cat.MARKETS[ch.market]
    return rng.choices([c for c, _ in market], [w for _, w in market])[0]


def set_home(v: Viewer, rng: random.Random, cc: str, v6_share: float = 0.35) -> None:
    asn = rng.choice(cat.RESIDENTIAL_BY_CC.get(cc) or cat.RESIDENTIAL_BY_CC["US"])
    _apply_asn(v, rng, asn, v6_share)
    v.bw = asn.bw_kbps * rng.lognormvariate(-0.3, 0.6)
    v.rtt = rng.uniform(*asn.rtt_ms)


def set_mobile(v: Viewer, rng: random.Random, cc: str, v6_share: float = 0.6) -> None:
    asn = rng.choice(cat.MOBILE_BY_CC.get(cc) or cat.MOBILE_BY_CC["US"])
    _apply_asn(v, rng, asn, v6_share)
    v.bw = asn.bw_kbps * rng.lognormvariate(-0.2, 0.7)
    v.rtt = rng.uniform(*asn.rtt_ms)
    v.bw_sigma = 0.25


def _apply_asn(v: Viewer, rng: random.Random, asn: cat.Asn, v6_share: float) -> None:
    v.asn = asn.number
    v.cc = asn.country
    v.ip = asn.v6_addr(rng) if (asn.v6 and rng.random() < v6_share) else asn.v4_addr(rng)


def desktop_browser(v: Viewer, rng: random.Random) -> None:
    """A desktop browser with the TLS stack that really ships with it."""
    r = rng.random()
    if r < 0.64:
        v.ua = cat.chrome_ua(rng)
        v.ja4 = cat.JA4_CHROME if rng.random() < 0.8 else cat.JA4_CHROME_ALT
        if rng.random() < 0.3:
            v.quic_after = rng.uniform(3, 90)
            v.quic_ja4 = cat.JA4_CHROME_QUIC
    elif r < 0.84:
        v.ua = cat.firefox_ua(rng)
        v.ja4 = cat.JA4_FIREFOX
    else:
        v.ua = cat.safari_mac_ua(rng)
        v.ja4 = cat.JA4_SAFARI
    v.ref = cat.SITE + "/" if rng.random() < 0.93 else f"{cat.SITE}/{v.ch.id}"
    v.viewport = rng.choices(cat.DESKTOP_VIEWPORTS, cat.DESKTOP_VP_WEIGHTS)[0]


def mobile_client(v: Viewer, rng: random.Random) -> None:
    """Phone: mobile web (hls.js or native HLS on iOS) or the platform's app."""
    r = rng.random()
    v.viewport = rng.choice(cat.MOBILE_VIEWPORTS)
    if r < 0.25:  # iPhone Safari playing through native HLS: CDN sees AVFoundation
        v.ua = cat.apple_coremedia_ua(rng)
        v.ja4 = cat.JA4_APPLE_MEDIA
        v.ref = ""
        v.pl_mode = "native"
    elif r < 0.4:
        v.ua = cat.iphone_safari_ua(rng)
        v.ja4 = cat.JA4_SAFARI_IOS
        v.ref = cat.SITE + "/"
    elif r < 0.7:
        v.ua = cat.android_chrome_ua(rng)
        v.ja4 = cat.JA4_CHROME
        v.ref = cat.SITE + "/"
    elif r < 0.85:  # platform app on Android (ExoPlayer)
        v.ua = cat.android_app_ua(rng)
        v.ja4 = cat.JA4_OKHTTP
        v.ref = ""
        v.pl_mode = "native"
        v.hb_mode = "native"
        v.pos_mode = "stream"
    else:  # platform app on iOS (AVPlayer)
        v.ua = cat.apple_coremedia_ua(rng)
        v.ja4 = cat.JA4_APPLE_MEDIA
        v.ref = ""
        v.pl_mode = "native"
        v.hb_mode = "native"
        v.pos_mode = "stream"
    v.cap_ri = 4


def habits(v: Viewer, rng: random.Random, chat_p: float = 0.4, chatty_p: float = 0.2) -> None:
    """Ordinary attention: autoplay-muted starts, tab switching, pauses, some chat, challenges."""
    if rng.random() < 0.35:
        v.start_muted = True
        v.unmute_after = rng.uniform(2, 45) if rng.random() < 0.8 else None
    v.vis = "toggle"
    v.vis_on_mean = rng.uniform(240, 1500)
    v.vis_off_mean = rng.uniform(30, 400)
    v.pause_rate = 1.0 / rng.uniform(900, 5400)
    v.pause_mean = rng.uniform(20, 180)
    v.fullscreen_at = rng.uniform(10, 600) if rng.random() < 0.12 else None
    if rng.random() < chat_p:
        v.chat_user = cat.chat_user(rng)
        v.chat_rate = 1.0 / rng.uniform(40, 400) if rng.random() < chatty_p else 0.0
    maybe_challenge(v, rng, 0.03, 0.95, ("timeout", "user_abandoned"))


def maybe_challenge(
    v: Viewer, rng: random.Random, p: float, pass_p: float, errors: tuple[str, ...]
) -> None:
    if rng.random() < p:
        v.challenge_at = rng.uniform(45, 600)
        v.challenge_pass = rng.random() < pass_p
        v.challenge_err = rng.choice(errors)


def session_length(rng: random.Random, median_s: float, sigma: float = 1.0) -> float:
    return max(20.0, rng.lognormvariate(math.log(median_s), sigma))


# ---------------------------------------------------------------- populations
def baseline_web(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    rng = ctx.rng
    v = ctx.viewer("baseline_web", ch, start, session_length(rng, 900))
    set_home(v, rng, pick_country(rng, ch))
    desktop_browser(v, rng)
    habits(v, rng)
    return [v]


def baseline_mobile(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    rng = ctx.rng
    v = ctx.viewer("baseline_mobile", ch, start, session_length(rng, 500))
    cc = pick_country(rng, ch)
    if rng.random() < 0.55:
        set_home(v, rng, cc)
    else:
        set_mobile(v, rng, cc)
    mobile_client(v, rng)
    habits(v, rng, chat_p=0.3)
    v.vis = "always"  # a backgrounded phone player is suspended, not hidden
    v.end_event_p = 0.45
    return [v]


def tv_app(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Living-room native apps: no referer, non-browser UA, metronome heartbeats."""
    rng = ctx.rng
    v = ctx.viewer("tv_app", ch, start, session_length(rng, 2400, 0.8))
    set_home(v, rng, pick_country(rng, ch), v6_share=0.2)
    v.bw *= 1.5
    i = rng.choices(range(len(cat.TV_CLIENTS)), cat.TV_WEIGHTS)[0]
    ua, ja4, vps = cat.TV_CLIENTS[i]
    v.ua, v.ja4, v.ref = ua, ja4, ""
    v.viewport = rng.choice(vps)
    v.pl_mode = "native"
    v.hb_mode = "native"
    v.pos_mode = "stream"
    v.vis = "always"
    v.pause_rate = 1.0 / rng.uniform(1800, 7200)
    v.pause_mean = rng.uniform(30, 300)
    v.seek_live_p = 0.2
    v.end_event_p = 0.9
    v.token_ttl = 4 * 3600
    if rng.random() < 0.03:
        v.chat_user = cat.chat_user(rng)  # companion-app chat on the phone, same session token
    maybe_challenge(v, rng, 0.01, 0.5, ("unsupported_client",))
    return [v]


def mobile_roamer(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Leaves the house: home Wi-Fi to cellular mid-session, sometimes back."""
    rng = ctx.rng
    length = session_length(rng, 1500, 0.6)
    v = ctx.viewer("mobile_roamer", ch, start, length)
    cc = pick_country(rng, ch)
    set_home(v, rng, cc)
    mobile_client(v, rng)
    habits(v, rng, chat_p=0.3)
    v.vis = "always"
    home = (v.ip, v.asn, v.cc, v.bw, v.rtt)
    mob_asn = rng.choice(cat.MOBILE_BY_CC.get(cc) or cat.MOBILE_BY_CC["US"])
    mob_ip = mob_asn.v6_addr(rng) if (mob_asn.v6 and rng.random() < 0.6) else mob_asn.v4_addr(rng)

    def to_cell() -> None:
        v.ip, v.asn, v.cc = mob_ip, mob_asn.number, mob_asn.country
        v.bw, v.rtt, v.bw_sigma = (
            mob_asn.bw_kbps * rng.lognormvariate(-0.2, 0.5),
            rng.uniform(*mob_asn.rtt_ms),
            0.3,
        )

    def to_home() -> None:
        v.ip, v.asn, v.cc, v.bw, v.rtt = home
        v.bw_sigma = 0.12

    t_switch = start + rng.uniform(40, max(60.0, 0.6 * length))
    v.net_plan.append((t_switch, to_cell, rng.uniform(1.5, 9.0)))
    if rng.random() < 0.3:
        v.net_plan.append((t_switch + rng.uniform(120, 900), to_home, rng.uniform(1.0, 5.0)))
    return [v]


def vpn_commercial(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Consumer VPN: the exit is a hosting address shared by many unrelated customers."""
    rng = ctx.rng
    v = ctx.viewer("vpn_commercial", ch, start, session_length(rng, 900))
    ip, asn = ctx.vpn_servers[min(int(rng.paretovariate(1.2)) - 1, len(ctx.vpn_servers) - 1)]
    v.ip, v.asn, v.cc = ip, asn.number, asn.country
    v.rtt = rng.uniform(*asn.rtt_ms) + rng.uniform(5, 60)
    v.bw = asn.bw_kbps * rng.lognormvariate(-0.5, 0.5)
    if rng.random() < 0.75:
        desktop_browser(v, rng)
    else:
        mobile_client(v, rng)
    habits(v, rng)
    return [v]


def tor_browser(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Tor Browser: uniform UA, letterboxed viewport, exit relay changes with new circuits."""
    rng = ctx.rng
    length = session_length(rng, 1200, 0.8)
    v = ctx.viewer("tor_browser", ch, start, length)

    def new_circuit() -> None:
        ip, asn = rng.choice(ctx.tor_exits)
        v.ip, v.asn, v.cc = ip, asn.number, asn.country
        v.rtt = rng.uniform(*asn.rtt_ms)
        v.bw = asn.bw_kbps * rng.lognormvariate(0, 0.5)

    new_circuit()
    v.ua = cat.firefox_ua(rng, "win", 128)
    v.ja4 = cat.JA4_FIREFOX_ESR
    v.ref = ""  # Tor Browser trims cross-origin referers
    v.viewport = rng.choice(cat.LETTERBOX_VIEWPORTS)
    v.bw_sigma = 0.3
    habits(v, rng, chat_p=0.15)
    v.start_muted = False
    v.unmute_after = None
    v.err_scale = 3.0
    t = start + rng.uniform(400, 1500)
    while t < start + length:
        v.net_plan.append((t, new_circuit, rng.uniform(0.8, 4.0)))
        t += rng.uniform(600, 1500)
    maybe_challenge(v, rng, 0.06, 0.65, ("timeout", "script_blocked"))
    return [v]


def privacy_browser(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Ad and tracker blocking, anti-fingerprinting, UA switchers: odd but human."""
    rng = ctx.rng
    v = ctx.viewer("privacy_browser", ch, start, session_length(rng, 900))
    set_home(v, rng, pick_country(rng, ch))
    desktop_browser(v, rng)
    habits(v, rng)
    kind = rng.random()
    if kind < 0.3:  # Brave: Chrome UA and Chrome TLS, referer trimmed to origin
        v.ua = cat.chrome_ua(rng)
        v.ja4 = cat.JA4_CHROME
        v.ref = cat.SITE + "/"
    elif kind < 0.6:  # Firefox resistFingerprinting / LibreWolf
        v.ua = cat.firefox_ua(rng, "win", 128)
        v.ja4 = cat.JA4_FIREFOX
        v.viewport = rng.choice(cat.LETTERBOX_VIEWPORTS)
        v.ref = ""
        v.hb_mode = "script"  # timer precision clamped to 100 ms
    elif kind < 0.8:  # UA switcher extension: UA and TLS stack disagree
        if rng.random() < 0.5:
            v.ua, v.ja4 = cat.chrome_ua(rng, "win"), cat.JA4_FIREFOX
        else:
            v.ua, v.ja4 = cat.firefox_ua(rng), cat.JA4_CHROME
    else:  # strict referer policy
        v.ref = ""
    if rng.random() < 0.45:  # uBlock & co block the analytics beacon entirely
        v.player_events = False
    maybe_challenge(v, rng, 0.05, 0.8, ("canvas_blocked", "timeout", "script_blocked"))
    return [v]


def marathon_bg(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Stream on in a background tab for hours, like a radio."""
    rng = ctx.rng
    v = ctx.viewer("marathon_bg", ch, start, rng.uniform(4 * 3600, 8 * 3600))
    set_home(v, rng, pick_country(rng, ch))
    desktop_browser(v, rng)
    v.vis = "hidden_mostly"
    v.start_muted = rng.random() < 0.2  # muted + hidden: Chrome throttles its timers to 1/min
    v.pause_rate = 1.0 / 14400
    v.audio_only_hidden = rng.random() < 0.35
    v.end_event_p = 0.3
    if rng.random() < 0.3:
        v.chat_user = cat.chat_user(rng)
        v.chat_rate = 1.0 / rng.uniform(600, 3600)
    return [v]


def satellite(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """GEO satellite (600+ ms RTT, rain fade) or LEO with handover dropouts."""
    rng = ctx.rng
    v = ctx.viewer("satellite", ch, start, session_length(rng, 1200))
    asn = rng.choices(cat.SATELLITE, (35, 25, 40))[0]
    _apply_asn(v, rng, asn, 0.5)
    v.rtt = rng.uniform(*asn.rtt_ms)
    v.bw = asn.bw_kbps * rng.lognormvariate(-0.2, 0.5)
    v.bw_sigma = 0.35
    v.fade_rate = 1.0 / rng.uniform(120, 600)
    v.err_scale = 5.0
    if rng.random() < 0.8:
        desktop_browser(v, rng)
    else:
        tv = cat.TV_CLIENTS[0]
        v.ua, v.ja4, v.ref, v.viewport = tv[0], tv[1], "", (1920, 1080)
        v.pl_mode = v.hb_mode = "native"
    habits(v, rng, chat_p=0.3)
    return [v]


def two_tabs(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Same person, same browser, two tabs; one is hidden and usually muted."""
    rng = ctx.rng
    a = ctx.viewer("two_tabs", ch, start, session_length(rng, 1500, 0.7))
    set_home(a, rng, pick_country(rng, ch))
    desktop_browser(a, rng)
    habits(a, rng)
    other_ch = ch
    b = ctx.viewer("two_tabs", other_ch, start + rng.uniform(5, 400), session_length(rng, 900, 0.8))
    for k in ("ip", "asn", "cc", "ua", "ja4", "ref", "bw", "rtt", "viewport", "chat_user"):
        setattr(b, k, getattr(a, k))
    b.vis = "hidden"
    b.start_muted = rng.random() < 0.8
    b.chat_join = False
    b.end_event_p = 0.2
    return [a, b]


def preview_hover(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Directory-page hover previews: seconds long, muted, tiny rendition, no interaction."""
    rng = ctx.rng
    v = ctx.viewer("preview_hover", ch, start, rng.uniform(3, 40))
    set_home(v, rng, pick_country(rng, ch))
    desktop_browser(v, rng)
    v.start_muted = True
    v.vis = "always"
    v.rendition = "fixed"
    v.fixed_ri = 1 if rng.random() < 0.6 else 2
    v.end_event_p = 0.25
    return [v]


def embedded_muted(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Embedded on a third-party page: autoplay muted, small player, scrolled in and out of view."""
    rng = ctx.rng
    v = ctx.viewer("embedded_muted", ch, start, session_length(rng, 1500))
    set_home(v, rng, pick_country(rng, ch))
    desktop_browser(v, rng)
    v.ref = cat.EMBED_SITE
    v.viewport = rng.choice(cat.EMBED_VIEWPORTS)
    v.cap_ri = 3
    v.start_muted = True
    v.vis = "toggle"
    v.vis_on_mean = rng.uniform(60, 600)
    v.vis_off_mean = rng.uniform(60, 900)
    v.end_event_p = 0.3
    return [v]


def raid_party(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Arrives with a raid: the join burst is real, and so is the chat hype."""
    rng = ctx.rng
    r = rng.random()
    build = baseline_web if r < 0.55 else baseline_mobile if r < 0.85 else tv_app
    v = build(ctx, ch, start)[0]
    v.family = "raid_party"
    v.end = min(ctx.t_end, start + session_length(rng, 700, 0.9))
    if v.chat_user is None and rng.random() < 0.4:
        v.chat_user = cat.chat_user(rng)
    if v.chat_user:
        v.chat_rate = 1.0 / rng.uniform(20, 200)
    return [v]


def campus_member(ctx: Ctx, ch: Channel, start: float, nat: tuple) -> list[Viewer]:
    """A student behind the university's NAT pool (or on its IPv6 /48)."""
    rng = ctx.rng
    asn, nat_ips, site48 = nat
    v = ctx.viewer("campus_nat", ch, start, session_length(rng, 420, 0.7))
    v.asn, v.cc = asn.number, asn.country
    if site48 and rng.random() < 0.25:
        v.ip = cat.v6_in(site48 + (rng.randrange(1 << 16) << 64), rng)
    else:
        v.ip = rng.choice(nat_ips)
    v.bw = asn.bw_kbps * rng.lognormvariate(-0.3, 0.5)
    v.rtt = rng.uniform(*asn.rtt_ms)
    if rng.random() < 0.8:
        desktop_browser(v, rng)
    else:
        mobile_client(v, rng)
    habits(v, rng, chat_p=0.5, chatty_p=0.3)
    v.vis_on_mean = rng.uniform(120, 600)  # half-listening in a lecture
    return [v]


def golive_rush(ctx: Ctx, ch: Channel, start: float) -> list[Viewer]:
    """Followers tapping the go-live notification within minutes."""
    rng = ctx.rng
    r = rng.random()
    build = baseline_web if r < 0.5 else baseline_mobile if r < 0.85 else tv_app
    v = build(ctx, ch, start)[0]
    v.family = "golive_rush"
    return [v]


# A test set, not a census: the trap populations are over-represented on purpose so that each
# one has enough sessions for its false-positive rate to mean something.
REGULAR = (
    (baseline_web, 10.0),
    (baseline_mobile, 8.0),
    (tv_app, 10.0),
    (mobile_roamer, 8.0),
    (vpn_commercial, 7.0),
    (tor_browser, 5.0),
    (privacy_browser, 8.0),
    (satellite, 6.0),
    (two_tabs, 4.0),
    (embedded_muted, 6.0),
)
