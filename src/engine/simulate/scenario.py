"""The simulated world: channels, their audiences, raids, and the attack campaigns against them.

Channel popularity follows a Zipf law (a few big channels, a long tail of small ones); big
channels have a full transcode ladder, small ones only their source rendition. Each channel has
an audience region (country mix) and its viewers arrive as a Poisson process whose rate drifts
slowly, with session lengths per population (log-normal, heavy tail). When the window opens
the channel already has viewers in mid-session (``warm`` sessions: no master playlist, no
``start`` event in the window). Popular channels receive raids: hundreds of real people within
seconds. Some channels host an office watch party (one NAT address, many sessions).

Attack campaigns (``families.bots``) are spread over channels of every size: every requested
family gets at least one campaign, more channels get more campaigns. Each starts part-way into
the window (or at ``--attack-at``) and brings bots in bursts. ``attack_share`` is the share of
all sessions that are bots (approximately: it is planned from expected session counts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from engine.simulate.cdn import LADDERS, RENDITIONS, Channel
from engine.simulate.emit import Emitted
from engine.simulate.families import FAMILIES, BotWorld, Campaign, bot_session, plan_campaign
from engine.simulate.network import (
    ASNS,
    PROXY_COUNTRIES,
    CgnatPool,
    Client,
    Office,
    ProxyPool,
    asns_of,
    random_v4,
)
from engine.simulate.player import watch
from engine.simulate.populations.humans import (
    POPULATIONS,
    HumanContext,
    build_human,
    session_length,
)
from engine.simulate.rng import lognormal, make_rng, poisson, uuid4_text, weighted

DEFAULT_START_TS = 1_717_243_200.0  # 2024-06-01T12:00:00Z

# session id, label, family, event stream
SessionFactory = Callable[[], tuple[str, str, str, Iterator[Emitted]]]

REGIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "en": (("US", 52), ("GB", 10), ("CA", 7), ("AU", 5), ("DE", 3), ("NL", 2), ("SE", 2), ("PL", 2),
           ("BR", 3), ("IN", 3), ("PH", 2), ("MX", 2), ("FR", 1), ("ES", 1), ("TR", 1), ("JP", 1),
           ("KR", 1), ("VN", 1), ("ID", 1)),
    "de": (("DE", 78), ("NL", 4), ("PL", 5), ("US", 4), ("GB", 3), ("TR", 4), ("FR", 2)),
    "fr": (("FR", 82), ("CA", 6), ("ES", 3), ("US", 3), ("GB", 2), ("DE", 2), ("EG", 2)),
    "es": (("ES", 38), ("MX", 26), ("AR", 20), ("US", 10), ("BR", 3), ("FR", 3)),
    "pt": (("BR", 92), ("US", 3), ("ES", 2), ("AR", 3)),
    "ja": (("JP", 92), ("US", 4), ("KR", 2), ("TH", 2)),
    "ko": (("KR", 93), ("US", 4), ("JP", 3)),
}  # fmt: skip
_REGION_WEIGHTS = (("en", 45), ("de", 12), ("fr", 10), ("es", 12), ("pt", 10), ("ja", 6), ("ko", 5))

_ADJ = ("quiet", "lunar", "pixel", "neon", "rusty", "frosty", "lazy", "hyper", "salty", "cosmic",
        "velvet", "golden", "sneaky", "mellow", "atomic", "crimson", "wild", "tiny", "happy", "iron",
        "stormy", "sunny", "arcane", "turbo", "misty", "jolly", "silent", "grumpy", "electric", "noble")  # fmt: skip
_NOUN = ("falcon", "otter", "nomad", "wizard", "badger", "panda", "ronin", "comet", "kraken", "fox",
         "goblin", "pilot", "raven", "tiger", "moose", "viking", "yeti", "llama", "shark", "golem",
         "bard", "ninja", "dragon", "koala", "bison", "gecko", "squid", "walrus", "phoenix", "mole")  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 1
    channels: int = 12
    duration: float = 900.0
    start_ts: float = DEFAULT_START_TS
    viewers: int = 600  # mean concurrent human viewers over all channels
    attack_share: float = 0.3  # share of sessions that are bots
    families: tuple[str, ...] = FAMILIES
    attack_at: float | None = None  # seconds after start_ts when attacks begin (default: drawn)
    raids: bool = True
    max_events: int | None = None


@dataclass(slots=True)
class ChannelPlan:
    index: int
    channel: Channel
    region: str
    viewers: float
    mix: tuple[tuple[str, float], ...]
    ctx: HumanContext
    raid: tuple[float, int] | None = None  # (time, raiders)
    embed: tuple[float, float, float] | None = None  # (publication time, rate per s, decay s)
    mean_length: float = 900.0

    @property
    def arrival_rate(self) -> float:
        return self.viewers / self.mean_length


def _mean_length(mix: tuple[tuple[str, float], ...]) -> float:
    total = sum(w for _, w in mix)
    return (
        sum(w * POPULATIONS[p].median_s * math.exp(POPULATIONS[p].sigma ** 2 / 2) for p, w in mix)
        / total
    )


class World:
    """Everything drawn once per run: pools, channels, campaigns. Sessions are drawn lazily."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        seed = cfg.seed
        rng = make_rng(seed, "world")
        self.cgnat = {
            a.number: CgnatPool.build(make_rng(seed, "cgnat", a.number), a)
            for a in asns_of("mobile")
        }
        self.offices = self._offices(rng, 6 + cfg.channels // 2)
        self.vpn_exits = self._vpn_exits(rng, 40)
        self.proxies = ProxyPool(PROXY_COUNTRIES, self.cgnat)
        self.channels = self._channels(rng)
        self.campaigns = self._campaigns(rng)

    # ---- world building
    def _offices(self, rng, n: int) -> list[Office]:
        offices = []
        for _ in range(n):
            campus = rng.random() < 0.25
            pool = asns_of("education") if campus else asns_of("business")
            asn = pool[int(rng.random() * len(pool))]
            ip, cc = random_v4(rng, asn)
            intercept = ""
            if not campus and rng.random() < 0.3:
                intercept = (
                    "t13d1310h2_e8a523a41297_ae3a3f0e9e4b"
                    if rng.random() < 0.7
                    else "t12d1108h1_c78b2bc35a9b_a3b1f6f5dd81"
                )
            fleet = "chrome_win" if rng.random() < 0.55 else "edge_win"
            offices.append(
                Office(
                    Client(ip, asn.number, cc), fleet, intercept, lognormal(rng, 1.0, 0.8), campus
                )
            )
        return offices

    def _vpn_exits(self, rng, n: int) -> list[Client]:
        vpn = [a for a in ASNS if a.kind == "vpn"]
        diy = [a for a in ASNS if a.number in (14061, 16276, 63949, 20473)]
        exits = []
        for _ in range(n):
            pool = vpn if rng.random() < 0.75 else diy
            asn = pool[int(rng.random() * len(pool))]
            ip, cc = random_v4(rng, asn)
            exits.append(Client(ip, asn.number, cc))
        return exits

    def _channel_names(self, rng, n: int) -> list[str]:
        names: list[str] = []
        seen = set()
        while len(names) < n:
            name = rng.choice(_ADJ) + rng.choice(("", "", "_")) + rng.choice(_NOUN)
            if rng.random() < 0.3 or name in seen:
                name += str(rng.randint(2, 999))
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def _channels(self, rng) -> list[ChannelPlan]:
        cfg = self.cfg
        n = cfg.channels
        names = self._channel_names(rng, n)
        weights = [1.0 / (rank + 1) ** 1.1 for rank in range(n)]
        scale = cfg.viewers / sum(weights)
        plans = []
        party_offices = [o for o in self.offices if not o.campus]
        for rank, name in enumerate(names):
            if rank < max(1, 0.3 * n):
                ladder_key = "full"
            elif rank < 0.6 * n:
                ladder_key = "mid"
            else:
                ladder_key = "source" if rng.random() < 0.6 else "source720"
            ladder = tuple(RENDITIONS[r] for r in LADDERS[ladder_key])
            page = f"https://www.streamhub.tv/{name}"
            channel = Channel(
                name,
                ladder,
                "m4s" if rng.random() < 0.3 else "ts",
                cfg.start_ts - rng.uniform(600.0, 6 * 3600.0),
                rng.uniform(0.2, 0.9),
                rng.getrandbits(30),
                page,
            )
            mix = tuple((p.name, p.weight) for p in POPULATIONS.values() if p.weight > 0)
            watch_party = None
            if party_offices and rank > 0 and rng.random() < 0.12:
                watch_party = party_offices[int(rng.random() * len(party_offices))]
                mix = tuple((p, w * 6 if p == "corporate_nat" else w) for p, w in mix)
            ctx = HumanContext(
                channel=channel,
                page_url=page,
                cgnat=self.cgnat,
                offices=self.offices,
                vpn_exits=self.vpn_exits,
                watch_party=watch_party,
                raid_referer=f"{page}?referrer=raid",
                raid_len=rng.randint(25, 90),
                embed_referer=rng.choice(
                    (
                        f"https://news.example-daily.com/esports/{name}-live",
                        f"https://www.gamefan-weekly.net/watch/{name}",
                        f"https://partner.arena-hub.gg/embed/{name}",
                    )
                ),
                embed_size=rng.choice(((640, 360), (560, 315), (854, 480))),
            )
            plan = ChannelPlan(
                rank,
                channel,
                weighted(rng, _REGION_WEIGHTS),
                max(1.5, weights[rank] * scale),
                mix,
                ctx,
            )
            plan.mean_length = _mean_length(mix)
            popular = rank == 0 or (rank < max(2, n // 4) and rng.random() < 0.6)
            if cfg.raids and popular and cfg.duration >= 120:
                plan.raid = (
                    cfg.start_ts + cfg.duration * rng.uniform(0.2, 0.75),
                    int(plan.viewers * rng.uniform(0.3, 0.8)) + 5,
                )
            if rng.random() < 0.3 and cfg.duration >= 300:
                # an article or partner page embedding the channel: steady arrivals, decaying
                plan.embed = (
                    cfg.start_ts + cfg.duration * rng.uniform(0.0, 0.6),
                    max(0.01, plan.arrival_rate * rng.uniform(0.4, 2.0)),
                    rng.uniform(600.0, 2400.0),
                )
            plans.append(plan)
        return plans

    def expected_human_sessions(self) -> float:
        d = self.cfg.duration
        return sum(
            c.viewers + c.arrival_rate * d + (c.raid[1] if c.raid else 0) for c in self.channels
        )

    def _campaigns(self, rng) -> list[Campaign]:
        cfg = self.cfg
        if cfg.attack_share <= 0 or not cfg.families:
            return []
        share = min(cfg.attack_share, 0.95)
        bots = self.expected_human_sessions() * share / (1.0 - share)
        n = max(len(cfg.families), round(0.3 * cfg.channels))
        families = list(cfg.families) + [
            rng.choice(cfg.families) for _ in range(n - len(cfg.families))
        ]
        weights = [lognormal(rng, 1.0, 0.7) for _ in families]
        total_w = sum(weights)
        bot_world = BotWorld(self.proxies, cfg.seed)
        out = []
        for i, family in enumerate(families):
            plan = self.channels[int(rng.random() * len(self.channels))]
            if cfg.attack_at is not None:
                start = cfg.start_ts + cfg.attack_at + (rng.random() * 20.0 if i else 0.0)
            elif i and rng.random() < 0.2:  # already running when the window opens
                start = cfg.start_ts - rng.uniform(60.0, 1800.0)
            else:
                start = cfg.start_ts + cfg.duration * rng.uniform(0.08, 0.55)
            end = start + max(120.0, cfg.duration * rng.uniform(0.35, 1.0))
            if start < cfg.start_ts:
                end = cfg.start_ts + cfg.duration * rng.uniform(0.3, 1.0)
            sessions = max(3, round(bots * weights[i] / total_w))
            country = weighted(rng, REGIONS[plan.region])
            out.append(
                plan_campaign(
                    rng,
                    i,
                    family,
                    plan.channel,
                    country,
                    plan.ctx.page_url,
                    start,
                    end,
                    sessions,
                    bot_world,
                    cfg.start_ts,
                )
            )
        return out

    # ---- arrivals
    def sources(self) -> list[Iterator[tuple[float, SessionFactory]]]:
        """Time-ordered arrival streams: per channel humans, per raid, per campaign."""
        out: list[Iterator[tuple[float, SessionFactory]]] = []
        for plan in self.channels:
            out.append(self._human_arrivals(plan))
            if plan.raid:
                out.append(self._raid_arrivals(plan))
            if plan.embed:
                out.append(self._embed_arrivals(plan))
        for c in self.campaigns:
            out.append(self._bot_arrivals(c))
        return out

    def _human_arrivals(self, plan: ChannelPlan) -> Iterator[tuple[float, SessionFactory]]:
        cfg = self.cfg
        rng = make_rng(cfg.seed, "arrivals", plan.index)
        t0 = cfg.start_ts
        i = 0
        for _ in range(poisson(rng, plan.viewers)):
            yield t0, partial(self._human, plan, ("w", i), weighted(rng, plan.mix), t0, True)
            i += 1
        rate = plan.arrival_rate
        phase = rng.random() * 6.283
        t = t0
        t_end = t0 + cfg.duration
        while True:
            drift = 1.0 + 0.25 * math.sin((t - t0) / 3600.0 * 6.283 + phase)
            t += rng.expovariate(rate * drift)
            if t >= t_end:
                return
            yield t, partial(self._human, plan, ("a", i), weighted(rng, plan.mix), t, False)
            i += 1

    def _raid_arrivals(self, plan: ChannelPlan) -> Iterator[tuple[float, SessionFactory]]:
        rng = make_rng(self.cfg.seed, "raid", plan.index)
        t, size = plan.raid
        for j in range(size):
            t += rng.expovariate(1 / 0.12) if j < 0.8 * size else rng.expovariate(1 / 1.5)
            yield t, partial(self._human, plan, ("r", j), "raid", t, False)

    def _embed_arrivals(self, plan: ChannelPlan) -> Iterator[tuple[float, SessionFactory]]:
        """Independent readers of the embedding page: Poisson, at a rate that decays."""
        rng = make_rng(self.cfg.seed, "embed", plan.index)
        t0, rate, decay = plan.embed
        t_end = self.cfg.start_ts + self.cfg.duration
        t = t0
        j = 0
        while True:
            t += rng.expovariate(rate)
            if t >= t_end:
                return
            if rng.random() < math.exp(-(t - t0) / decay):  # thinning
                yield t, partial(self._human, plan, ("e", j), "embed_viewer", t, False)
                j += 1

    def _human(self, plan: ChannelPlan, key: tuple, population: str, t: float, warm: bool):
        rng = make_rng(self.cfg.seed, "human", plan.index, key)
        sid = uuid4_text(rng)
        total, elapsed = session_length(rng, population, warm)
        country = weighted(rng, REGIONS[plan.region])
        wp = build_human(population, rng, sid, plan.ctx, country, t, t + total - elapsed, elapsed)
        return sid, "human", population, watch(wp)

    def _bot_arrivals(self, c: Campaign) -> Iterator[tuple[float, SessionFactory]]:
        for k, (start, end, slot, wave, warm) in enumerate(c.schedule()):
            yield start, partial(self._bot, c, k, start, end, slot, wave, warm)

    def _bot(
        self, c: Campaign, k: int, start: float, end: float, slot: int, wave: int, warm: float
    ):
        rng = make_rng(self.cfg.seed, "bot", c.index, k)
        sid = uuid4_text(rng)
        return sid, "bot", c.family, bot_session(c, rng, sid, start, end, slot, wave, warm)


__all__ = ["DEFAULT_START_TS", "FAMILIES", "REGIONS", "ChannelPlan", "SimConfig", "World"]
