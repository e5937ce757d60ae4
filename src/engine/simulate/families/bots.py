"""Viewbot families, from crude to sophisticated, and the campaigns that run them.

A campaign points one family at one channel from an attack start time: bots join in waves
(bursts), stay until the campaign ends (a few crash early) and leave roughly together. Each
family overlaps with some human population on some signal, so no single rule separates them:

1. ``playlist_poller``: scripts that only reload ``.m3u8`` playlists (some crawl every
   rendition), never a segment, no player or chat events. python-requests, Go, curl, Node,
   ffmpeg user agents, or a pasted Chrome UA over a library TLS stack. Mostly hosting ASNs with
   many sessions per IP; some campaigns go through residential proxies. Rotate session tokens.
   (Overlaps: paused humans also reload only playlists for minutes.)
2. ``headless_browser``: Puppeteer/Playwright Chrome actually playing the stream, muted, usually
   forced to the lowest rendition, on cloud servers (tens of browsers per IP). Real Chrome JA4;
   ``HeadlessChrome`` UA unless patched; default viewports (800x600, 1280x720); heartbeats on a
   perfectly regular timer; overloaded servers stall.
3. ``segment_skimmer``: follows the live edge but reads segments partially (HTTP range reads with
   206, HEAD requests, or aborted tiny GETs) to look like delivery at little cost; some also post
   scripted heartbeats (with or without a moving playhead). Fake browser UA; JA4 of a library
   or an impersonated Chrome; hosting or proxy IPs. (Overlaps: humans abort downloads too.)
4. ``token_replayer``: one harvested session token (session id) replayed by many clients at once
   from many IPs, ASNs and countries, all with the same copied user agent, duplicating segment
   fetches; sometimes refused with 403. (Overlaps: a phone that changes network, dual stack.)
5. ``hosting_farm``: full-speed segment fetches at the real pace from one or few rented /24s
   (or one IPv6 /64) in a hosting ASN, one fake Chrome UA for the whole farm over a python/Go/
   Node TLS stack (UA/JA4 mismatch), fixed viewport, heartbeats with scripted uniform jitter.
   (Overlaps: VPN users live in hosting ASNs too; corporate TLS proxies also mismatch.)
6. ``residential_swarm``: real segments at real pace through residential (and mobile carrier)
   proxies, plausible browser UAs with matching JA4 (mostly), synchronized join bursts, IP
   rotation across ISPs and countries within a session, every bot in a wave heartbeating on the
   same grid, never hidden, never paused, never unmuted. (Overlaps: raids, CGNAT, handovers.)
7. ``challenge_evader``: sticky ISP-proxy addresses (residential ASNs, but a few /24s), real
   browser UA and JA4 (some from an older Chrome build than the UA claims), human-like heartbeat
   jitter, tab switches and unmutes, silent chat joins from freshly created accounts; the main
   tell is that most are challenged and fail, plus arrival in waves from few subnets.
8. ``rotating_proxy``: a real-looking player (browser UA with its own JA4, human heartbeat
   jitter, full segments at real pace) whose traffic goes through a rotating residential or
   mobile proxy gateway: the exit changes every few seconds (a new exit per connection) or
   every few minutes (sticky sessions), across ISPs, carriers and, unless the operator bought
   geo-targeted exits in the audience's country, across countries. The proxy swaps exits
   between two requests: no gap, no stall. Never hidden, mostly muted, low renditions (proxy
   bandwidth is paid per GB). (Overlaps: phones handing over between Wi-Fi and cellular,
   carrier NAT rebinding, dual stack, Tor circuits.)
9. ``drip_feed``: a "slow increase" campaign: one viewer every few tens of seconds for the
   whole attack, never a wave, so there is no join burst and no cohort on a timer grid. Each
   session is a decent browser viewer (adaptive rendition, jittered heartbeats, tab switches,
   a few unmute, some silent chat joins) through sticky ISP proxies, a residential pool or
   geo-targeted exits. The tells are the scheduler's steady beat and the toolkit's sameness
   (one browser build, a handful of window sizes). (Overlaps: viewers arriving steadily from
   an embed or a link, offices filling up.)
10. ``stealth_browser``: patched headless Chrome (stealth plugins): the UA of a desktop Chrome
   with the real Chromium JA4, real hls.js fetching of every segment, randomized heartbeat
   timers, common window sizes; on rented servers (several browsers per address), sticky ISP
   proxies or residential exits. Always visible, never paused, mostly muted, usually pinned to
   a low rendition, the CPU shared by many browsers stalls now and then, and a solving
   service gets some challenges through. (Overlaps: a muted stream on a second monitor, VPN
   users, data-saver viewers.)
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from engine.simulate.cdn import SEGMENT_SECONDS, Channel
from engine.simulate.clients import (
    JA4,
    SCRIPT_UAS,
    Device,
    build_device,
    fake_browser_ua,
    headless_device,
)
from engine.simulate.emit import Emitted, SessionEmitter, challenge_event
from engine.simulate.network import (
    Client,
    ProxyPool,
    asns_of,
    hosting_block,
    random_block,
    random_v6_net,
    v4_in_block,
    v6_text,
)
from engine.simulate.player import WatchPlan, watch
from engine.simulate.rng import lognormal, make_rng, weighted

FAMILIES: tuple[str, ...] = (
    "playlist_poller",
    "headless_browser",
    "segment_skimmer",
    "token_replayer",
    "hosting_farm",
    "residential_swarm",
    "challenge_evader",
    "rotating_proxy",
    "drip_feed",
    "stealth_browser",
)

# (waves, join spread within a wave in seconds, token rotation median or 0)
_TIMING: dict[str, tuple[tuple[int, int], tuple[float, float], float]] = {
    "playlist_poller": ((1, 3), (1.0, 30.0), 600.0),
    "headless_browser": ((1, 3), (20.0, 120.0), 0.0),
    "segment_skimmer": ((1, 3), (5.0, 60.0), 900.0),
    "token_replayer": ((1, 2), (2.0, 30.0), 0.0),
    "hosting_farm": ((1, 3), (10.0, 60.0), 1200.0),
    "residential_swarm": ((2, 5), (3.0, 12.0), 0.0),
    "challenge_evader": ((2, 4), (30.0, 180.0), 0.0),
    "rotating_proxy": ((1, 3), (20.0, 150.0), 0.0),
    "drip_feed": ((1, 1), (0.0, 0.0), 0.0),  # no waves: see ``Campaign._drip``
    "stealth_browser": ((1, 3), (30.0, 240.0), 0.0),
}


@dataclass(slots=True)
class BotWorld:
    proxies: ProxyPool
    seed: int


@dataclass(slots=True)
class Campaign:
    index: int
    family: str
    channel: Channel
    country: str
    page_url: str
    start: float
    end: float
    slots: int
    world: BotWorld
    window_start: float = 0.0  # sessions begun earlier enter the window already running
    shared: dict[str, object] = field(default_factory=dict)
    waves: list[tuple[float, float]] = field(default_factory=list)  # (wave start, join spread)

    def schedule(self) -> list[tuple[float, float, int, int, float]]:
        """Bot sessions as (start, end, slot, wave, warm), sorted by start.

        A session that began before the window starts at the window with ``warm`` seconds
        already behind it (an attack that was running when the logs begin)."""
        rng = make_rng(self.world.seed, "schedule", self.index)
        if self.family == "drip_feed":
            return self._drip(rng)
        rotation = _TIMING[self.family][2]
        out = []
        for slot in range(self.slots):
            wave = (
                slot % len(self.waves)
                if rng.random() < 0.7
                else int(rng.random() * len(self.waves))
            )
            w_start, spread = self.waves[wave]
            t = w_start + spread * rng.random()
            tight = self.family == "residential_swarm"
            leave = self.end + (rng.random() * 4.0 - 2.0 if tight else rng.random() * 120.0 - 60.0)
            if rng.random() < 0.08:
                leave = t + (leave - t) * rng.random()  # crashed, banned, or restarted
            while t < leave - 5.0:
                stop = leave
                if rotation:
                    stop = min(leave, t + lognormal(rng, rotation, 0.4))
                if stop > self.window_start + 1.0:
                    warm = max(0.0, self.window_start - t)
                    out.append((t + warm, stop, slot, wave, warm))
                t = stop + 0.5 + rng.random() * 4.0
        out.sort()
        return out

    def _drip(self, rng: random.Random) -> list[tuple[float, float, int, int, float]]:
        """One join at a time on the scheduler's beat (mean gap, uniform jitter), staying on."""
        gap = float(self.shared["gap"])
        jitter = float(self.shared["jitter"])
        out = []
        t = self.start + rng.random() * gap
        for slot in range(self.slots):
            if t >= self.end - 30.0:
                break
            leave = self.end + rng.random() * 120.0 - 60.0
            if rng.random() < 0.06:
                leave = t + (leave - t) * rng.random()
            if leave > self.window_start + 1.0 and leave > t + 5.0:
                warm = max(0.0, self.window_start - t)
                out.append((t + warm, leave, slot, 0, warm))
            t += gap * (1.0 - jitter + 2.0 * jitter * rng.random())
        out.sort()
        return out


def plan_campaign(
    rng: random.Random,
    index: int,
    family: str,
    channel: Channel,
    country: str,
    page_url: str,
    start: float,
    end: float,
    sessions: int,
    world: BotWorld,
    window_start: float = 0.0,
) -> Campaign:
    """Draw the shared infrastructure and habits of one campaign (one operator, one toolkit)."""
    waves_range, spread_range, rotation = _TIMING[family]
    if family == "token_replayer":
        sessions = max(2, round(sessions / 8))  # each replayed token carries many clients
    length = max(60.0, end - start)
    per_slot = max(1.0, length / rotation) if rotation else 1.0
    slots = max(2, round(sessions / per_slot))
    c = Campaign(index, family, channel, country, page_url, start, end, slots, world, window_start)
    n_waves = rng.randint(*waves_range)
    t = start
    for _ in range(n_waves):
        c.waves.append((t, rng.uniform(*spread_range)))
        t += rng.uniform(30.0, 240.0)
    sh = c.shared
    if family == "playlist_poller":
        tool = weighted(
            rng, (("python", 3), ("go", 2), ("curl", 1), ("aiohttp", 1), ("node", 1), ("ffmpeg", 1))
        )
        sh["ua"] = fake_browser_ua(rng) if rng.random() < 0.4 else SCRIPT_UAS[tool]
        sh["ja4"] = JA4[tool]
        sh["proxies"] = rng.random() < 0.3
        sh["hosts"] = _hosting_clients(rng, max(1, slots // rng.randint(15, 60)))
        sh["interval"] = weighted(rng, ((2.0, 0.5), (1.0, 0.25), (rng.uniform(3.0, 6.0), 0.25)))
        sh["jitter"] = weighted(rng, (("timer", 0.4), ("sleep", 0.4), ("random", 0.2)))
        sh["crawl"] = rng.random() < 0.2
        sh["lowest"] = rng.random() < 0.5
        sh["master_every"] = rng.choice((0.0, 120.0, 300.0))
    elif family == "headless_browser":
        sh["hosts"] = _hosting_clients(rng, max(1, slots // rng.randint(5, 20)))
        sh["patched"] = rng.choice((0.0, 0.3, 0.6))
        sh["period"] = rng.choice((10.0, 15.0, 30.0))
        sh["lowest"] = rng.random() < 0.7
        sh["stall"] = 0.01 + rng.random() * 0.05
    elif family == "segment_skimmer":
        sh["read"] = weighted(rng, (("range", 0.45), ("head", 0.25), ("tiny", 0.3)))
        sh["ua"] = fake_browser_ua(rng)
        sh["ja4"] = (
            JA4["chrome"] if rng.random() < 0.4 else JA4[rng.choice(("python", "go", "node"))]
        )
        sh["proxies"] = rng.random() < 0.5
        sh["hosts"] = _hosting_clients(rng, max(1, slots // rng.randint(10, 40)))
        sh["hb"] = rng.random() < 0.5
        sh["hb_moving"] = rng.random() < 0.5
        sh["period"] = rng.choice((20.0, 30.0, 60.0))
        sh["every_nth"] = weighted(rng, ((1, 0.6), (2, 0.25), (3, 0.15)))
    elif family == "token_replayer":
        victim = build_device(
            rng, rng.choice(("chrome_win", "edge_win", "chrome_mac", "firefox_win"))
        )
        sh["ua"] = victim.ua
        sh["ja4"] = victim.ja4 if rng.random() < 0.3 else JA4[rng.choice(("node", "go", "python"))]
        sh["clients"] = (rng.randint(2, 5), rng.randint(5, 20))
        sh["read"] = "full" if rng.random() < 0.7 else "tiny"
        sh["hb"] = rng.random() < 0.4
        sh["forbidden"] = rng.choice((0.0, 0.05, 0.15))
    elif family == "hosting_farm":
        sh["ua"] = fake_browser_ua(rng)
        sh["ja4"] = JA4[weighted(rng, (("python", 0.4), ("go", 0.35), ("node", 0.25)))]
        asn, block, cc = hosting_block(rng)
        blocks = [(block, cc)] + [(hosting_block(rng)[1], cc) for _ in range(rng.randint(0, 2))]
        if asn.v6 and rng.random() < 0.3:
            net = random_v6_net(rng, asn, 64)
            sh["ips"] = [Client(v6_text(net, rng), asn.number, cc) for _ in range(max(2, slots))]
        else:
            n_ips = max(1, slots // rng.randint(2, 8))
            sh["ips"] = [
                Client(v4_in_block(rng, blocks[i % len(blocks)][0]), asn.number, cc)
                for i in range(n_ips)
            ]
        sh["period"] = rng.choice((20.0, 30.0))
        sh["jitter"] = rng.uniform(0.8, 2.5)
        sh["rendition"] = (
            "lowest" if rng.random() < 0.6 else channel.ladder[len(channel.ladder) // 2].name
        )
    elif family == "residential_swarm":
        sh["period"] = rng.choice((20.0, 30.0))
        sh["muted"] = rng.random() < 0.8
        sh["rendition"] = (
            "" if rng.random() < 0.3 else channel.ladder[len(channel.ladder) // 2].name
        )
        sh["rotate"] = lognormal(rng, 150.0, 0.6)
        sh["mismatch"] = rng.uniform(0.05, 0.25)
        sh["chat"] = rng.choice((0.0, 0.15, 0.3))
        sh["end_event"] = rng.random() < 0.5
    elif family == "challenge_evader":
        isps = asns_of("residential", country) or asns_of("residential", "US")
        blocks = []
        for _ in range(rng.randint(2, 4)):
            asn = isps[int(rng.random() * len(isps))]
            block, cc = random_block(rng, asn)
            blocks.append((asn.number, block, cc))
        sh["blocks"] = blocks
        sh["old_ja4"] = rng.uniform(0.1, 0.35)
        sh["challenged"] = rng.uniform(0.75, 0.9)
    elif family == "rotating_proxy":
        # exits per connection (seconds) or sticky sessions (minutes)
        sh["rotate"] = rng.uniform(2.0, 12.0) if rng.random() < 0.35 else rng.uniform(60.0, 600.0)
        sh["geo"] = country if rng.random() < 0.5 else ""
        sh["mobile_share"] = rng.choice((0.0, 0.3, 0.7))  # mobile-UA toolkit share
        sh["rendition"] = "lowest" if rng.random() < 0.6 else ""
        sh["muted"] = rng.uniform(0.6, 1.0)
        sh["hb"] = rng.random() < 0.85
        sh["v6"] = rng.choice((0.0, 0.08, 0.3))
    elif family == "drip_feed":
        length = max(60.0, end - start)
        c.slots = max(3, sessions)
        sh["gap"] = min(120.0, max(6.0, length / c.slots))
        sh["jitter"] = rng.uniform(0.15, 0.6)
        sh["net"] = weighted(rng, (("isp", 0.35), ("pool", 0.35), ("geo", 0.3)))
        isps = asns_of("residential", country) or asns_of("residential", "US")
        blocks = []
        for _ in range(rng.randint(3, 6)):
            asn = isps[int(rng.random() * min(len(isps), rng.randint(1, 3)))]
            block, cc = random_block(rng, asn)
            blocks.append((asn.number, block, cc))
        sh["blocks"] = blocks
        sh["device"] = weighted(rng, (("chrome_win", 60), ("edge_win", 20), ("chrome_mac", 20)))
        sh["device_seed"] = rng.getrandbits(32)
        sh["viewports"] = [
            weighted(rng, (((1920, 969), 4), ((1536, 730), 2), ((1366, 657), 2), ((1280, 609), 1)))
            for _ in range(rng.randint(1, 4))
        ]
        sh["hide"] = rng.random() < 0.5
        sh["chat"] = rng.choice((0.0, 0.2, 0.4))
    elif family == "stealth_browser":
        sh["net"] = weighted(rng, (("hosting", 0.4), ("isp", 0.35), ("pool", 0.25)))
        sh["hosts"] = _hosting_clients(rng, max(1, slots // rng.randint(3, 10)))
        isps = asns_of("residential", country) or asns_of("residential", "US")
        blocks = []
        for _ in range(rng.randint(1, 3)):
            asn = isps[int(rng.random() * len(isps))]
            block, cc = random_block(rng, asn)
            blocks.append((asn.number, block, cc))
        sh["blocks"] = blocks
        sh["rendition"] = weighted(rng, (("lowest", 0.5), ("cap480", 0.3), ("", 0.2)))
        sh["muted"] = rng.uniform(0.7, 1.0)
        sh["jitter"] = rng.uniform(0.02, 0.25)
        sh["stall"] = rng.uniform(0.003, 0.03)
        sh["solver"] = rng.uniform(0.2, 0.6)
    return c


def _hosting_clients(rng: random.Random, n: int) -> list[Client]:
    asn, block, cc = hosting_block(rng)
    blocks = [block] + [hosting_block(rng)[1] for _ in range(rng.randint(0, 1))]
    return [Client(v4_in_block(rng, blocks[i % len(blocks)]), asn.number, cc) for i in range(n)]


def _bot_uid(c: Campaign, slot: int) -> str:
    # accounts registered in one batch: recent ids, close together
    return str(1_050_000_000 + (c.index * 7_919_000) % 150_000_000 + slot * 3 + (slot * 31) % 3)


def _failed(rng: random.Random, errors: tuple[tuple[str, float], ...]) -> str:
    return weighted(rng, errors)


def bot_session(
    c: Campaign,
    rng: random.Random,
    session_id: str,
    start: float,
    end: float,
    slot: int,
    wave: int,
    warm: float = 0.0,
) -> Iterator[Emitted]:
    """The event stream of one bot session of campaign ``c``."""
    fam = c.family
    if fam in ("playlist_poller", "segment_skimmer", "token_replayer"):
        stream = _script_session(c, rng, session_id, start, end, slot, warm)
        if rng.random() < 0.1:  # challenged: a script cannot run the challenge, it times out
            at = start + 20.0 + rng.random() * 200.0
            if at < end:
                return heapq.merge(stream, _once(c, rng, session_id, at))
        return stream
    plan = _browser_plan(c, rng, session_id, start, end, slot, wave)
    plan.warm = warm
    return watch(plan)


def _once(c: Campaign, rng: random.Random, session_id: str, at: float) -> Iterator[Emitted]:
    yield challenge_event(rng.getrandbits, session_id, c.channel.channel_id, at, False, "timeout")


def _script_session(
    c: Campaign,
    rng: random.Random,
    session_id: str,
    start: float,
    end: float,
    slot: int,
    warm: float,
) -> Iterator[Emitted]:
    fam = c.family
    sh = c.shared
    ch = c.channel
    if fam == "playlist_poller":
        client = (
            c.world.proxies.pick(rng) if sh["proxies"] else sh["hosts"][slot % len(sh["hosts"])]
        )
        referer = c.page_url if rng.random() < 0.3 else ""
        em = SessionEmitter(rng, session_id, ch.channel_id, client, sh["ua"], sh["ja4"], referer)
        rtt = (0.06 + rng.random() * 0.2) if sh["proxies"] else (0.002 + rng.random() * 0.02)
        return _poll(rng, em, ch, start, end, sh, rtt, warm)
    if fam == "segment_skimmer":
        client = (
            c.world.proxies.pick(rng) if sh["proxies"] else sh["hosts"][slot % len(sh["hosts"])]
        )
        em = SessionEmitter(rng, session_id, ch.channel_id, client, sh["ua"], sh["ja4"], c.page_url)
        rtt = (0.06 + rng.random() * 0.2) if sh["proxies"] else (0.002 + rng.random() * 0.02)
        rend = ch.ladder[-1].name
        read, nth = sh["read"], sh["every_nth"]
        streams = [_fetch_loop(rng, em, ch, start, end, rend, read, rtt, 60e6, 0.0, nth, warm)]
        if sh["hb"]:
            hb = _scripted_hb(rng, em, start, end, sh["period"], sh["hb_moving"], rend, warm)
            streams.append(hb)
        return heapq.merge(*streams)
    return _replay(c, rng, session_id, start, end, warm)


def _browser_plan(
    c: Campaign, rng: random.Random, session_id: str, start: float, end: float, slot: int, wave: int
) -> WatchPlan:
    fam = c.family
    sh = c.shared
    ch = c.channel
    if fam == "headless_browser":
        device = headless_device(rng, rng.random() < sh["patched"])
        client = sh["hosts"][slot % len(sh["hosts"])]
        em = SessionEmitter(
            rng, session_id, ch.channel_id, client, device.ua, device.ja4, c.page_url
        )
        plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
        plan.bandwidth = lognormal(rng, 20e6, 0.5)
        plan.rtt = 0.004 + rng.random() * 0.025
        plan.fixed_rendition = "lowest" if sh["lowest"] else ""
        plan.hb_mode = "exact"
        plan.hb_period = sh["period"]
        plan.start_muted = True
        plan.stall_proneness = sh["stall"]
        if rng.random() < 0.15:
            passed = rng.random() < 0.2
            plan.challenge = (
                20.0 + rng.random() * 200.0,
                passed,
                _failed(rng, (("automation_detected", 0.6), ("timeout", 0.4))),
            )
        return plan
    if fam == "hosting_farm":
        client = sh["ips"][int(rng.random() * len(sh["ips"]))]
        device = Device(
            "farm",
            "script",
            sh["ua"],
            sh["ja4"],
            True,
            (1920, 1080),
            (1920, 1080),
            sh["period"],
            1080,
        )
        em = SessionEmitter(
            rng, session_id, ch.channel_id, client, device.ua, device.ja4, c.page_url
        )
        plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
        plan.bandwidth = lognormal(rng, 120e6, 0.4)
        plan.rtt = 0.002 + rng.random() * 0.02
        plan.fixed_rendition = sh["rendition"]
        plan.hb_mode = "uniform"
        plan.hb_period = sh["period"]
        plan.hb_jitter = sh["jitter"]
        plan.start_muted = True
        plan.reload_master_on_resume = False
        if rng.random() < 0.1:
            plan.challenge = (15.0 + rng.random() * 200.0, False, "timeout")
        return plan
    if fam == "residential_swarm":
        key = weighted(rng, (("chrome_win", 45), ("edge_win", 15), ("chrome_mac", 10), ("firefox_win", 10),
                             ("safari_mac", 5), ("android_chrome", 15)))  # fmt: skip
        device = build_device(rng, key)
        ja4 = device.ja4
        if rng.random() < sh["mismatch"]:
            ja4 = JA4["chrome"] if device.ja4 != JA4["chrome"] else JA4["chrome_old"]
        proxies = c.world.proxies
        client = proxies.pick(rng)
        em = SessionEmitter(rng, session_id, ch.channel_id, client, device.ua, ja4, c.page_url)
        plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
        t = start + lognormal(rng, sh["rotate"], 0.5)
        while t < end and len(plan.ip_plan) < 200:
            plan.ip_plan.append((t, proxies.pick(rng)))
            t += lognormal(rng, sh["rotate"], 0.5)
        plan.bandwidth = lognormal(rng, 18e6, 0.5)
        plan.rtt = 0.06 + rng.random() * 0.19
        plan.fixed_rendition = sh["rendition"]
        plan.hb_mode = "grid"
        plan.hb_period = sh["period"]
        plan.hb_jitter = 0.025
        plan.hb_anchor = c.waves[wave][0] + 0.37
        plan.start_muted = sh["muted"]
        plan.end_event = sh["end_event"]
        if rng.random() < sh["chat"]:
            plan.user_id = _bot_uid(c, slot)
        if rng.random() < 0.2:
            passed = rng.random() < 0.15
            plan.challenge = (
                30.0 + rng.random() * 240.0,
                passed,
                _failed(rng, (("timeout", 0.6), ("invalid_solution", 0.4))),
            )
        return plan
    if fam == "rotating_proxy":
        return _rotating_plan(c, rng, session_id, start, end)
    if fam == "drip_feed":
        return _drip_plan(c, rng, session_id, start, end, slot)
    if fam == "stealth_browser":
        return _stealth_plan(c, rng, session_id, start, end, slot)
    # challenge_evader
    key = weighted(
        rng, (("chrome_win", 50), ("edge_win", 20), ("chrome_mac", 15), ("firefox_win", 15))
    )
    device = build_device(rng, key)
    ja4 = device.ja4
    if device.ja4 == JA4["chrome"] and rng.random() < sh["old_ja4"]:
        ja4 = JA4["chrome_old"]
    asn, block, cc = sh["blocks"][slot % len(sh["blocks"])]
    client = Client(v4_in_block(make_rng(c.world.seed, "evader-ip", c.index, slot), block), asn, cc)
    em = SessionEmitter(rng, session_id, ch.channel_id, client, device.ua, ja4, c.page_url)
    plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
    plan.bandwidth = lognormal(rng, 40e6, 0.4)
    plan.rtt = 0.02 + rng.random() * 0.04
    plan.hb_period = device.hb_base
    plan.hb_jitter = 0.08 + rng.random() * 0.22
    plan.hide_every = lognormal(rng, 1500.0, 0.5)
    plan.hide_median = 15.0
    if rng.random() < 0.6:
        plan.start_muted = True
        plan.unmute_after = 3.0 + rng.random() * 7.0 if rng.random() < 0.5 else -1.0
    plan.toggle_viewport_every = 1800.0 if rng.random() < 0.3 else 0.0
    plan.end_event = rng.random() < 0.6
    if rng.random() < 0.3:
        plan.user_id = _bot_uid(c, slot)
    if rng.random() < sh["challenged"]:
        passed = rng.random() < 0.12
        err = _failed(
            rng, (("automation_detected", 0.5), ("invalid_solution", 0.3), ("timeout", 0.2))
        )
        plan.challenge = (30.0 + rng.random() * 210.0, passed, err)
    return plan


def _rotating_plan(
    c: Campaign, rng: random.Random, session_id: str, start: float, end: float
) -> WatchPlan:
    sh = c.shared
    ch = c.channel
    mobile = rng.random() < sh["mobile_share"]
    key = (
        weighted(rng, (("android_chrome", 70), ("samsung", 15), ("ios_safari", 15)))
        if mobile
        else weighted(
            rng, (("chrome_win", 55), ("edge_win", 20), ("chrome_mac", 15), ("firefox_win", 10))
        )
    )
    device = build_device(rng, key)
    proxies = c.world.proxies
    geo = str(sh["geo"])
    v6 = float(sh["v6"])
    client = proxies.pick(rng, v6, geo)
    em = SessionEmitter(rng, session_id, ch.channel_id, client, device.ua, device.ja4, c.page_url)
    plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
    rotate = float(sh["rotate"])
    t = start + rotate * (0.3 + rng.random())
    while t < end and len(plan.ip_plan) < 400:
        plan.ip_plan.append((t, proxies.pick(rng, v6, geo)))
        t += rotate * (0.5 + rng.random())
    plan.bandwidth = lognormal(rng, 12e6, 0.5)
    plan.rtt = 0.08 + rng.random() * 0.25
    plan.fixed_rendition = str(sh["rendition"])
    plan.hb_period = device.hb_base
    plan.hb_jitter = 0.04 + rng.random() * 0.2
    plan.player_events = bool(sh["hb"])
    plan.start_muted = rng.random() < sh["muted"]
    plan.end_event = rng.random() < 0.5
    if rng.random() < 0.12:
        passed = rng.random() < 0.3
        plan.challenge = (
            30.0 + rng.random() * 240.0,
            passed,
            _failed(
                rng, (("timeout", 0.5), ("invalid_solution", 0.3), ("automation_detected", 0.2))
            ),
        )
    return plan


def _drip_client(c: Campaign, rng: random.Random, slot: int) -> Client:
    sh = c.shared
    if sh["net"] == "isp":
        asn, block, cc = sh["blocks"][slot % len(sh["blocks"])]
        return Client(v4_in_block(make_rng(c.world.seed, "drip-ip", c.index, slot), block), asn, cc)
    return c.world.proxies.pick(rng, 0.05, c.country if sh["net"] == "geo" else "")


def _drip_plan(
    c: Campaign, rng: random.Random, session_id: str, start: float, end: float, slot: int
) -> WatchPlan:
    sh = c.shared
    ch = c.channel
    # one browser build for the whole campaign, a window size from the toolkit's short list
    device = build_device(make_rng(sh["device_seed"]), str(sh["device"]))
    sizes = sh["viewports"]
    vp = sizes[int(rng.random() * len(sizes))]
    device = replace(device, viewport=vp, alt_viewport=(vp[0], vp[1] + 111))
    client = _drip_client(c, rng, slot)
    em = SessionEmitter(rng, session_id, ch.channel_id, client, device.ua, device.ja4, c.page_url)
    plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
    plan.bandwidth = lognormal(rng, 30e6, 0.5)
    plan.rtt = 0.03 + rng.random() * 0.12
    plan.hb_period = device.hb_base
    plan.hb_jitter = 0.05 + rng.random() * 0.2
    plan.start_muted = rng.random() < 0.7
    plan.unmute_after = 2.0 + rng.random() * 10.0 if rng.random() < 0.3 else -1.0
    if sh["hide"]:
        plan.hide_every = lognormal(rng, 900.0, 0.6)
        plan.hide_median = 20.0
    plan.end_event = rng.random() < 0.6
    if rng.random() < sh["chat"]:
        plan.user_id = _bot_uid(c, slot)
    if rng.random() < 0.15:
        passed = rng.random() < 0.35
        plan.challenge = (
            30.0 + rng.random() * 240.0,
            passed,
            _failed(
                rng, (("timeout", 0.4), ("invalid_solution", 0.4), ("automation_detected", 0.2))
            ),
        )
    return plan


def _stealth_plan(
    c: Campaign, rng: random.Random, session_id: str, start: float, end: float, slot: int
) -> WatchPlan:
    sh = c.shared
    ch = c.channel
    device = headless_device(rng, True)  # patched: a desktop Chrome UA, the Chromium JA4
    vp = weighted(rng, (((1920, 969), 4), ((1536, 730), 2), ((1366, 657), 2), ((1440, 789), 1)))
    cap = 480 if sh["rendition"] == "cap480" else device.max_height
    device = replace(device, cls="desktop", viewport=vp, alt_viewport=vp, max_height=cap,
                     hb_base=weighted(rng, ((20.0, 0.5), (10.0, 0.25), (30.0, 0.25))))  # fmt: skip
    net = sh["net"]
    if net == "hosting":
        client = sh["hosts"][slot % len(sh["hosts"])]
        rtt = 0.004 + rng.random() * 0.03
    elif net == "isp":
        asn, block, cc = sh["blocks"][slot % len(sh["blocks"])]
        client = Client(v4_in_block(make_rng(c.world.seed, "stealth-ip", c.index, slot), block),
                        asn, cc)  # fmt: skip
        rtt = 0.02 + rng.random() * 0.05
    else:
        client = c.world.proxies.pick(rng, 0.05, c.country if rng.random() < 0.5 else "")
        rtt = 0.08 + rng.random() * 0.2
    em = SessionEmitter(rng, session_id, ch.channel_id, client, device.ua, device.ja4, c.page_url)
    plan = WatchPlan(rng=rng, em=em, channel=ch, device=device, start=start, end=end)
    plan.bandwidth = lognormal(rng, 25e6, 0.5)
    plan.rtt = rtt
    plan.fixed_rendition = "lowest" if sh["rendition"] == "lowest" else ""
    plan.hb_period = device.hb_base
    plan.hb_jitter = float(sh["jitter"]) * (0.5 + rng.random())
    plan.start_muted = rng.random() < sh["muted"]
    plan.stall_proneness = float(sh["stall"])
    plan.end_event = rng.random() < 0.4
    if rng.random() < 0.25:
        passed = rng.random() < sh["solver"]
        plan.challenge = (
            20.0 + rng.random() * 240.0,
            passed,
            _failed(
                rng, (("automation_detected", 0.5), ("timeout", 0.3), ("invalid_solution", 0.2))
            ),
        )
    return plan


def _poll(
    rng: random.Random,
    em: SessionEmitter,
    ch: Channel,
    start: float,
    end: float,
    sh: dict,
    rtt: float,
    warm: float,
) -> Iterator[Emitted]:
    rnd = rng.random
    interval = sh["interval"]
    jitter = sh["jitter"]
    names = (
        [r.name for r in ch.ladder] if sh["crawl"] else [ch.ladder[-1 if sh["lowest"] else 0].name]
    )
    master_every = sh["master_every"]
    size = ch.master_size
    t = start
    if not warm:
        yield em.cdn(t, ch.master_path, 200, size, size, rtt + 0.003)
        t += rtt + 0.005 + rnd() * 0.03
    else:
        t += rnd() * interval
    last_master = t
    limited = interval <= 1.2
    while t < end:
        tick = t
        edge = ch.live_edge(t)
        size = ch.playlist_size(edge)
        for name in names:
            if limited and rnd() < 0.06:
                yield em.cdn(t, ch.media_path[name], 429, 0, 0, rtt + 0.001)
            else:
                yield em.cdn(t, ch.media_path[name], 200, size, size, rtt + 0.002 + rnd() * 0.01)
            t += 0.003 + rnd() * 0.01
        if master_every and t - last_master > master_every:
            size = ch.master_size
            yield em.cdn(t, ch.master_path, 200, size, size, rtt + 0.003)
            last_master = t
        if jitter == "timer":
            t = tick + interval + rng.gauss(0.0, 0.004)
        elif jitter == "sleep":
            t = t + interval + rtt + 0.01 + rnd() * 0.07
        else:
            t = tick + interval * (0.5 + rnd())


def _fetch_loop(
    rng: random.Random,
    em: SessionEmitter,
    ch: Channel,
    start: float,
    end: float,
    rend: str,
    read: str,
    rtt: float,
    bandwidth: float,
    forbidden: float,
    every_nth: int = 1,
    warm: float = 0.0,
) -> Iterator[Emitted]:
    """A scripted live follower: playlist every target duration, the newest segments after it."""
    rnd = rng.random
    rendition = next(r for r in ch.ladder if r.name == rend)
    size = ch.master_size
    t = start
    if not warm:
        yield em.cdn(t, ch.master_path, 200, size, size, rtt + 0.004)
        t += rtt + 0.01 + rnd() * 0.05
    else:
        t += rnd() * SEGMENT_SECONDS
    nxt = ch.live_edge(t) - (2 if not warm else 0)
    k = 0
    prefix = ch.seg_prefix[rend]
    media = ch.media_path[rend]
    ext = ch.ext
    while t < end:
        edge = ch.live_edge(t)
        size = ch.playlist_size(edge)
        yield em.cdn(t, media, 200, size, size, rtt + 0.003 + rnd() * 0.02)
        ts = t + rtt + 0.006 + rnd() * 0.01
        if edge - nxt > 4:
            nxt = edge - 1
        while nxt <= edge and ts < end:
            k += 1
            if k % every_nth == 0:
                path = f"{prefix}{nxt}.{ext}"
                full = ch.segment_size(rendition, nxt)
                if forbidden and rnd() < forbidden:
                    yield em.cdn(ts, path, 403, 162, 162, rtt + 0.002)
                    d = rtt
                elif read == "full":
                    d = rtt + 0.004 + full * 8.0 / (bandwidth * math.exp(rng.gauss(0.0, 0.25)))
                    yield em.cdn(ts, path, 200, full, full, d)
                elif read == "range":
                    sent = rng.choice((1024, 4096, 16384, 65536, 188 * rng.randint(1, 64)))
                    d = rtt + 0.002 + rnd() * 0.01
                    yield em.cdn(ts, path, 206, sent, full, d)
                elif read == "head":
                    d = rtt + 0.001 + rnd() * 0.005
                    yield em.cdn(ts, path, 200, 0, full, d, method="HEAD")
                else:  # tiny: start a GET and hang up
                    sent = int(2048 + rnd() * 40000)
                    d = rtt + 0.005 + rnd() * 0.03
                    yield em.cdn(ts, path, 200 if rnd() < 0.7 else 499, sent, full, d)
                ts += d + 0.002
            nxt += 1
        t = max(t + SEGMENT_SECONDS + rnd() * 0.03, ts)


def _scripted_hb(
    rng: random.Random,
    em: SessionEmitter,
    start: float,
    end: float,
    period: float,
    moving: bool,
    rendition: str,
    warm: float = 0.0,
    viewport: tuple[int, int] = (1920, 1080),
) -> Iterator[Emitted]:
    """Player telemetry posted by a script: a start, then heartbeats on a plain timer."""
    if warm:
        t = start + rng.random() * period
        t0 = t - warm
    else:
        t = start + 1.0 + rng.random() * 2.0
        t0 = t
        if t >= end:
            return
        yield em.player(t, "start", 0.0, True, True, rendition, viewport)
    while True:
        t += period + rng.gauss(0.0, 0.002)
        if t >= end:
            return
        yield em.player(
            t, "heartbeat", (t - t0) if moving else 0.0, True, True, rendition, viewport
        )


def _replay(
    c: Campaign, rng: random.Random, session_id: str, start: float, end: float, warm: float
) -> Iterator[Emitted]:
    sh = c.shared
    ch = c.channel
    lo, hi = sh["clients"]
    n = rng.randint(lo, max(lo, hi))
    rend = ch.ladder[min(len(ch.ladder) - 1, 1)].name
    streams: list[Iterator[Emitted]] = []
    first_em = None
    for i in range(n):
        crng = make_rng(c.world.seed, "replay", session_id, i)
        if rng.random() < 0.65:
            client = c.world.proxies.pick(crng)
            rtt = 0.06 + crng.random() * 0.2
        else:
            client = _hosting_clients(crng, 1)[0]
            rtt = 0.002 + crng.random() * 0.02
        em = SessionEmitter(
            crng, session_id, ch.channel_id, client, sh["ua"], sh["ja4"], c.page_url
        )
        first_em = first_em or em
        t0 = start if i == 0 or warm else start + crng.random() * 30.0
        t1 = end if crng.random() < 0.7 else t0 + (end - t0) * (0.3 + 0.7 * crng.random())
        if t0 < t1:
            loop = _fetch_loop(
                crng, em, ch, t0, t1, rend, sh["read"], rtt, 30e6, sh["forbidden"], 1, warm
            )
            streams.append(loop)
    if sh["hb"] and first_em is not None:
        streams.append(_scripted_hb(rng, first_em, start, end, 30.0, True, rend, warm, (1920, 969)))
    return heapq.merge(*streams)
