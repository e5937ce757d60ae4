"""Human viewer populations: the people a viewbot detector must not hurt.

Each population is a real group of viewers whose traffic looks, on some signal, like a bot's:

* ``desktop``: home broadband, browsers (Chrome/Edge/Firefox/Safari, a few Roku TVs with their
  own TLS stack). Tab switches, fullscreen toggles, autoplay-muted then unmuted, some chat.
* ``mobile_cgnat``: phones on carrier networks. IPv4 behind carrier-grade NAT, so dozens of
  unrelated sessions share a few addresses and /24s. iOS media requests come from
  AppleCoreMedia with no Referer, Android apps from ExoPlayer/OkHttp. The phone pauses when the
  app goes to the background; NAT rebinding or Wi-Fi/cellular handover changes the IP (and
  sometimes the ASN) within a session.
* ``corporate_nat``: an office or campus behind one address, often a single managed browser
  build (identical UA and JA4 across many sessions), sometimes a TLS-intercepting proxy whose
  JA4 is not the browser's. Viewers mostly work in other windows (hidden, muted).
* ``vpn``: consumer VPN users exiting from hosting ASNs (M247, Datacamp, Mullvad...), shared exit
  IPs, a country that does not match the channel's audience, higher latency.
* ``background_tab``: the stream plays in a hidden, muted tab for a long time and keeps fetching
  segments; the browser throttles timers, so heartbeats align to whole seconds, then minutes.
* ``pauser``: pauses for minutes. Segment fetching stops once the buffer is full while
  playlist reloads go on (playlist-only traffic, a frozen playhead), then jumps back to live.
* ``low_bandwidth``: slow, variable links: low renditions, ABR switches, stalls, slow downloads,
  aborted downloads (partial bytes) and more errors.
* ``lurker``: watches for a long time and never writes in chat (some join it silently).
* ``ipv6``: home and mobile IPv6 (privacy addresses, one /64 per household); some dual-stack
  clients flip between IPv4 and IPv6 within a session.
* ``raid``: a streamer "raids" a channel and hundreds of real people arrive within seconds, with
  a raid Referer and a burst of chat messages of identical length: a legitimate join burst.
* ``mobile_handover``: a phone that leaves home Wi-Fi for its cellular carrier mid-session
  (and sometimes comes back, or joins another Wi-Fi): a new address, ASN and often IP family
  at each move, the link down for seconds (a few with connection migration, under a second),
  the buffer draining, stalls and ABR drops. Commuters' carrier NAT rebinds too.
* ``embed_viewer``: the channel's player embedded in an article or a partner page: viewers
  arrive steadily (Poisson, a rate that decays as the article ages) for many minutes, with one
  Referer, the embed's fixed player size (so low renditions), muted autoplay, scrolled in and
  out of view, no chat. A steady stream of similar-looking people, but independent arrivals.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from engine.simulate.cdn import Channel
from engine.simulate.clients import Device, build_device, human_device, with_own_screen
from engine.simulate.emit import SessionEmitter
from engine.simulate.network import (
    CgnatPool,
    Client,
    Office,
    asns_of,
    residential_client,
)
from engine.simulate.player import WatchPlan
from engine.simulate.rng import lognormal, make_rng, weighted


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    name: str
    weight: float  # share of arriving sessions on an ordinary channel
    median_s: float  # median session length
    sigma: float


POPULATIONS: dict[str, PopulationSpec] = {
    p.name: p
    for p in (
        PopulationSpec("desktop", 28, 900, 1.0),
        PopulationSpec("mobile_cgnat", 20, 420, 1.0),
        PopulationSpec("corporate_nat", 5, 1200, 0.8),
        PopulationSpec("vpn", 5, 900, 1.0),
        PopulationSpec("background_tab", 8, 2400, 0.8),
        PopulationSpec("pauser", 6, 1500, 0.7),
        PopulationSpec("low_bandwidth", 7, 600, 1.0),
        PopulationSpec("lurker", 12, 1500, 0.9),
        PopulationSpec("ipv6", 9, 900, 1.0),
        PopulationSpec("raid", 0, 300, 1.1),
        PopulationSpec("mobile_handover", 5, 900, 0.9),
        PopulationSpec("embed_viewer", 0, 240, 1.0),
    )
}

_FAIL_ERRORS = (
    ("timeout", 0.5),
    ("network_error", 0.25),
    ("expired", 0.15),
    ("invalid_solution", 0.1),
)


@dataclass(slots=True)
class HumanContext:
    """What population builders need from the world, per channel."""

    channel: Channel
    page_url: str
    cgnat: dict[int, CgnatPool]
    offices: list[Office]
    vpn_exits: list[Client]
    watch_party: Office | None = None
    raid_referer: str = ""
    raid_len: int = 40
    embed_referer: str = ""
    embed_size: tuple[int, int] = (640, 360)


def _home_client(rng: random.Random, country: str, ipv6: bool = False) -> Client:
    isps = asns_of("residential", country) or asns_of("residential", "US")
    asn = isps[int(rng.random() ** 1.3 * len(isps))]  # the incumbent ISP is the biggest
    return residential_client(rng, asn, ipv6=ipv6)


def _carrier(ctx: HumanContext, rng: random.Random, country: str) -> CgnatPool:
    carriers = [p for p in ctx.cgnat.values() if p.asn.country == country]
    if not carriers:
        carriers = [p for p in ctx.cgnat.values() if p.asn.country == "US"]
    return carriers[int(rng.random() * len(carriers))]


def _chat_profile(rng: random.Random, logged_in: float, chatter: float) -> tuple[str, float]:
    if rng.random() >= logged_in:
        return "", 0.0
    # account ids grow with sign-up date; one viewer in ten signed up recently
    uid = str(
        rng.randint(10_000_000, 950_000_000)
        if rng.random() < 0.9
        else rng.randint(950_000_000, 1_250_000_000)
    )
    every = lognormal(rng, 240.0, 0.8) if rng.random() < chatter else 0.0
    return uid, every


def _challenge(rng: random.Random, chance: float) -> tuple[float, bool, str] | None:
    if rng.random() >= chance:
        return None
    at = 20.0 + rng.random() * 280.0
    if rng.random() < 0.97:
        return (at, True, "")
    return (at, False, weighted(rng, _FAIL_ERRORS))


def build_human(
    population: str,
    rng: random.Random,
    session_id: str,
    ctx: HumanContext,
    country: str,
    start: float,
    end: float,
    warm: float,
) -> WatchPlan:
    """The watch plan of one person of ``population`` on ``ctx.channel``."""
    pop = population
    channel = ctx.channel
    device_cls = {
        "mobile_cgnat": "mobile",
        "mobile_handover": "mobile",
        "corporate_nat": "desktop",
        "background_tab": "desktop",
    }.get(
        pop,
        "any" if pop in ("low_bandwidth", "lurker", "ipv6", "raid", "embed_viewer") else "desktop",
    )
    if pop == "vpn":
        device_cls = "desktop" if rng.random() < 0.75 else "mobile"
    if pop == "pauser":
        device_cls = "desktop" if rng.random() < 0.7 else "mobile"
    device: Device
    ip_plan: list[tuple[float, Client]] = []
    office: Office | None = None
    rtt = 0.012 + rng.random() * 0.05
    bandwidth = lognormal(rng, 45e6, 0.6)
    chance = 0.012

    if pop == "corporate_nat":
        offices = ctx.offices
        if ctx.watch_party is not None and rng.random() < 0.6:
            office = ctx.watch_party
        else:
            office = weighted(rng, [(o, o.weight) for o in offices])
        device = (
            human_device(rng, "any")
            if office.campus
            else with_own_screen(
                build_device(make_rng("office", office.client.ip), office.fleet), rng
            )
        )
        client = office.client
        chance = 0.04
    else:
        device = human_device(rng, device_cls)
        mobile = device.cls == "mobile"
        if pop == "vpn":
            client = ctx.vpn_exits[int(rng.random() * len(ctx.vpn_exits))]
            rtt += 0.03 + rng.random() * 0.09
            chance = 0.04
        elif pop == "ipv6":
            if mobile:
                carrier = _carrier(ctx, rng, country).asn
                client = (
                    residential_client(rng, carrier, ipv6=True)
                    if carrier.v6
                    else _home_client(rng, country, True)
                )
            else:
                client = _home_client(rng, country, ipv6=True)
            if ":" not in client.ip:
                client = _home_client(rng, "US", ipv6=True)
            if rng.random() < 0.12:  # dual stack: some connections go over IPv4
                v4 = _carrier(ctx, rng, country).pick(rng) if mobile else _home_client(rng, country)
                t = start + 30.0 + rng.random() * 300.0
                cur = [client, v4]
                i = 1
                while t < end and len(ip_plan) < 12:
                    ip_plan.append((t, cur[i % 2]))
                    i += 1
                    t += lognormal(rng, 240.0, 0.8)
        elif pop == "mobile_handover":
            client, ip_plan = _handovers(ctx, rng, country, start, end)
            chance = 0.03
        elif mobile and pop in ("mobile_cgnat", "low_bandwidth", "raid", "lurker", "pauser"):
            pool = _carrier(ctx, rng, country)
            client = pool.pick(rng)
            chance = 0.03
            x = rng.random()
            if x < 0.10:  # NAT rebinding to another public address of the carrier
                ip_plan.append((start + (end - start) * rng.random(), pool.pick(rng)))
            elif x < 0.14:  # walks in the door: cellular -> home Wi-Fi (new ASN too)
                ip_plan.append((start + (end - start) * rng.random(), _home_client(rng, country)))
        else:
            client = _home_client(rng, country)
        if mobile:
            bandwidth = lognormal(rng, 14e6, 0.7)
            rtt = 0.035 + rng.random() * 0.09

    if pop == "embed_viewer":
        w_px = ctx.embed_size[0] if device.cls != "mobile" else device.viewport[0]
        size = (w_px, round(w_px * 9 / 16))
        device = replace(device, viewport=size, alt_viewport=device.alt_viewport, max_height=480)
    referer = ""
    if device.referer:
        referer = ctx.raid_referer if pop == "raid" else ctx.page_url
        if pop == "embed_viewer":
            referer = ctx.embed_referer
        if pop not in ("raid", "corporate_nat", "embed_viewer") and rng.random() < 0.06:
            referer = rng.choice(("https://www.reddit.com/", "https://embed.streamhub.tv/"))
    ja4 = office.intercept_ja4 if office is not None and office.intercept_ja4 else device.ja4
    if rng.random() < 0.01:
        ja4 = ""  # the edge did not record a fingerprint (connection reuse, old edge software)
    em = SessionEmitter(rng, session_id, channel.channel_id, client, device.ua, ja4, referer)
    plan = WatchPlan(
        rng=rng,
        em=em,
        channel=channel,
        device=device,
        start=start,
        end=end,
        warm=warm,
        bandwidth=bandwidth,
        rtt=rtt,
        ip_plan=ip_plan,
        hb_period=device.hb_base,
        hb_jitter=0.03 + rng.random() * 0.3,
        error_rate=0.0015 + rng.random() * 0.002,
        end_event=rng.random() < (0.4 if device.cls == "mobile" else 0.7),
    )
    plan.challenge = _challenge(rng, chance)
    if rng.random() < 0.5:
        plan.start_muted = True  # autoplay policy: muted until the viewer interacts
        plan.unmute_after = lognormal(rng, 4.0, 0.8) if rng.random() < 0.85 else -1.0
    if device.cls == "mobile":
        plan.pause_on_hide = True
        plan.hide_every = lognormal(rng, 600.0, 0.6)
        plan.hide_median = 20.0
    elif device.cls == "desktop":
        plan.hide_every = lognormal(rng, 420.0, 0.7)
        plan.pause_every = 3600.0 if rng.random() < 0.5 else 0.0
        plan.toggle_viewport_every = 1200.0 if rng.random() < 0.35 else 0.0
    plan.user_id, plan.chat_every = _chat_profile(rng, 0.5, 0.3)
    if rng.random() < (0.5 if device.cls == "tv" else 0.08 if device.cls == "desktop" else 0.02):
        plan.player_events = False  # an ad blocker (or a TV app) drops the player telemetry

    if pop == "corporate_nat":
        plan.hide_every = lognormal(rng, 200.0, 0.6)
        plan.hide_median = 60.0
        plan.start_muted = rng.random() < 0.7
        plan.unmute_after = 8.0 if rng.random() < 0.4 else -1.0
        plan.user_id, plan.chat_every = _chat_profile(rng, 0.3, 0.15)
    elif pop == "background_tab":
        plan.background_after = 5.0 + rng.random() * 85.0
        plan.hide_every = 0.0
        plan.start_muted = True
        plan.unmute_after = -1.0
        plan.pause_every = 0.0
        plan.toggle_viewport_every = 0.0
        plan.end_event = rng.random() < 0.3
        plan.user_id, plan.chat_every = _chat_profile(rng, 0.35, 0.0)
    elif pop == "pauser":
        plan.pause_every = lognormal(rng, 420.0, 0.5)
        plan.pause_median = lognormal(rng, 150.0, 0.4)
        plan.pause_sigma = 0.8
        plan.pause_on_hide = False
    elif pop == "low_bandwidth":
        plan.bandwidth = lognormal(rng, 1.9e6, 0.45)
        plan.bw_volatility = 0.35
        plan.rtt = 0.08 + rng.random() * 0.17
        plan.error_rate = 0.006 + rng.random() * 0.01
        plan.stall_proneness = 0.004 + rng.random() * 0.012
    elif pop == "lurker":
        uid, _ = _chat_profile(rng, 0.5, 0.0)
        plan.user_id, plan.chat_every = uid, 0.0
        plan.hide_every = lognormal(rng, 900.0, 0.6)
        plan.toggle_viewport_every = 0.0
    elif pop == "mobile_handover":
        plan.handover_gap = (
            lognormal(rng, 0.8, 0.4) if rng.random() < 0.15 else lognormal(rng, 4.5, 0.5)
        )
    elif pop == "embed_viewer":
        plan.user_id, plan.chat_every = "", 0.0  # an embed has no chat
        plan.start_muted = True
        plan.unmute_after = lognormal(rng, 8.0, 0.8) if rng.random() < 0.3 else -1.0
        plan.hide_every = lognormal(rng, 90.0, 0.6)  # scrolled out of view and back
        plan.hide_median = 12.0
        plan.pause_on_hide = rng.random() < 0.5  # players that pause off screen
        plan.toggle_viewport_every = 0.0
        plan.pause_every = 0.0
    elif pop == "raid":
        plan.user_id, plan.chat_every = _chat_profile(rng, 0.8, 0.6)
        if plan.user_id and rng.random() < 0.7:
            plan.chat_first = 1.0 + rng.random() * 20.0
            plan.chat_first_len = ctx.raid_len
    if (
        plan.user_id
        and plan.chat_every == 0.0
        and pop not in ("lurker", "background_tab")
        and rng.random() < 0.1
    ):
        plan.chat_every = lognormal(rng, 900.0, 0.5)  # the occasional one-liner
    if warm > 0:
        plan.start_muted = plan.start_muted and plan.unmute_after < 0
    return plan


def _handovers(
    ctx: HumanContext, rng: random.Random, country: str, start: float, end: float
) -> tuple[Client, list[tuple[float, Client]]]:
    """Home Wi-Fi, then the carrier (v4 behind its NAT, or the phone's own v6), maybe back."""
    pool = _carrier(ctx, rng, country)
    country = pool.asn.country  # a phone's carrier is where it lives (no roaming here)
    home = _home_client(rng, country, ipv6=rng.random() < 0.3)
    cell = (
        residential_client(rng, pool.asn, ipv6=True)
        if pool.asn.v6 and rng.random() < 0.45
        else pool.pick(rng)
    )
    first_cell = rng.random() < 0.35  # arrives on cellular, walks in the door
    places = [cell, home] if first_cell else [home, cell]
    for _ in range(rng.randint(0, 2)):
        if rng.random() < 0.5:
            nxt = places[-2]  # back where it was
        elif places[-1] is cell:
            nxt = _home_client(rng, country)  # another Wi-Fi (a friend's, a cafe)
        else:
            nxt = pool.pick(rng) if ":" not in cell.ip else cell
        places.append(nxt)
    plan = []
    t = start + lognormal(rng, 240.0, 0.8)
    for client in places[1:]:
        if t >= end:
            break
        plan.append((t, client))
        stay = lognormal(rng, 360.0, 0.8)
        if client is cell and ":" not in cell.ip and rng.random() < 0.3:
            plan.append((t + stay * (0.2 + 0.6 * rng.random()), pool.pick(rng)))  # NAT rebinding
        t += stay
    return places[0], plan


def session_length(rng: random.Random, population: str, warm: bool) -> tuple[float, float]:
    """(total length, already elapsed) of a session; warm sessions are length-biased."""
    spec = POPULATIONS[population]
    median = spec.median_s * (math.exp(spec.sigma**2) if warm else 1.0)
    total = min(8 * 3600.0, max(20.0, lognormal(rng, median, spec.sigma)))
    elapsed = total * rng.random() if warm else 0.0
    return total, elapsed


__all__ = ["POPULATIONS", "HumanContext", "PopulationSpec", "build_human", "session_length"]
