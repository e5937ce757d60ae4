"""The world of one held-out run: channels, human arrival processes, raids, a campus, attacks."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import ho_bots as bots
import ho_catalog as cat
import ho_humans as hum
from ho_core import Channel, Writer, spawn


class World:
    """Plans channels and campaigns from the seed; ``actors()`` hands the arrival processes out."""

    def __init__(
        self, seed: int, t0: float, duration: float, n_channels: int, scale: float, w: Writer
    ):
        self.rng = rng = random.Random(seed)
        self.t0 = t0
        self.t_end = t0 + duration
        self.duration = duration
        self.scale = scale
        self.ctx = hum.Ctx(rng, w, t0, self.t_end)
        self.channels = self._channels(n_channels)
        self.attacks = self._attacks()
        self.raids = self._raids()
        self.campuses = self._campuses()

    # ------------------------------------------------------------------ planning
    def _channels(self, n: int) -> list[Channel]:
        rng = self.rng
        names: set[str] = set()
        chans = []
        for i in range(n):
            while True:
                name = f"{rng.choice(cat.CHAT_NAME_A)}{rng.choice(cat.CHAT_NAME_B)}"
                if rng.random() < 0.4:
                    name += f"_{rng.randint(2, 99)}"
                if name not in names:
                    names.add(name)
                    break
            ch = Channel(rng, i, name, self.t0, self.duration)
            ch.market = rng.choices(
                [m for m, _ in cat.MARKET_WEIGHTS], [w for _, w in cat.MARKET_WEIGHTS]
            )[0]
            chans.append(ch)
        ranks = list(range(n))
        rng.shuffle(ranks)
        for ch, rank in zip(chans, ranks, strict=True):
            ch.pop = self.scale * 30.0 / (rank + 1) ** 0.85 * rng.lognormvariate(0, 0.25)
            ch.rank = rank
        for ch in chans:
            if ch.rank > 0 and rng.random() < 0.15:
                ch.golive = self.t0 + rng.uniform(0.05, 0.5) * self.duration
                ch.stream_start = ch.golive
        return chans

    def _attacks(self) -> list[tuple[str, Channel, float, float, int]]:
        rng = self.rng
        fams = list(bots.FAMILIES)
        rng.shuffle(fams)
        order = self.channels[:]
        rng.shuffle(order)
        n_attacked = (
            max(len(fams), round(0.35 * len(order))) if len(order) >= len(fams) else len(order)
        )
        plan = []
        for k, ch in enumerate(order[:n_attacked]):
            picks = [fams[k % len(fams)]]
            if rng.random() < 0.15:
                picks.append(rng.choice(fams))
            for fam in picks:
                lo = ch.golive + 60 if ch.golive else self.t0
                t_a = lo + rng.uniform(0.1, 0.6) * (self.t_end - lo)
                t_b = min(self.t_end, t_a + rng.uniform(0.3, 0.9) * self.duration)
                if t_b - t_a < 120:
                    continue
                size = max(ch.pop, 10 * self.scale) * rng.uniform(0.8, 2.5) * bots.FAMILIES[fam][1]
                plan.append((fam, ch, t_a, t_b, bots.clamp_count(size)))
                ch.attacked_by.append(fam)
        return plan

    def _raids(self) -> list[tuple[Channel, float, int]]:
        rng = self.rng
        small = [c for c in self.channels if c.rank >= 5 and not c.golive] or self.channels
        out = []
        for _ in range(max(1, round(len(self.channels) / 15))):
            ch = rng.choice(small)
            out.append(
                (
                    ch,
                    self.t0 + rng.uniform(0.15, 0.85) * self.duration,
                    int(self.scale * rng.uniform(20, 60)) + 5,
                )
            )
        return out

    def _campuses(self) -> list[tuple[tuple, list[Channel], list[tuple[float, int]]]]:
        rng = self.rng
        top = sorted((c for c in self.channels if not c.golive), key=lambda c: c.rank)[:10]
        out = []
        for _ in range(max(1, round(len(self.channels) / 40))):
            asn = rng.choice(cat.EDU)
            sub = asn.v4_subnet(rng)
            nat_ips = [cat.v4_in(sub, rng, 10, 40) for _ in range(rng.randint(2, 6))]
            site48 = asn.v6_site(rng, 48) if asn.v6 else 0
            chans = rng.sample(top, min(len(top), rng.randint(2, 4)))
            waves = [
                (
                    self.t0 + rng.uniform(0.02, 0.75) * self.duration,
                    int(self.scale * rng.uniform(50, 90)) + 5,
                )
                for _ in range(3)
            ]
            out.append(((asn, nat_ips, site48), chans, waves))
        return out

    # ------------------------------------------------------------------ processes
    def actors(self) -> list[tuple[float, Iterator[float], None]]:
        out = []
        for ch in self.channels:
            start = (ch.golive + 10.0) if ch.golive else self.t0
            out.append((start, self._regular(ch, start), None))
            out.append((start, self._previews(ch, start), None))
            if ch.golive:
                out.append((start, self._batch(self._golive_plan(ch)), None))
            else:
                out.append((self.t0, self._batch(self._marathon_plan(ch)), None))
        for fam, ch, t_a, t_b, n in self.attacks:
            gen = bots.FAMILIES[fam][0](self.ctx, ch, t_a, t_b, n)
            out.append((t_a, self._batch(_collect(gen)), None))
        for ch, t_r, n in self.raids:
            out.append((t_r, self._batch(self._raid_plan(ch, t_r, n)), None))
        for nat, chans, waves in self.campuses:
            out.append((self.t0, self._batch(self._campus_plan(nat, chans, waves)), None))
        return out

    def _regular(self, ch: Channel, start: float) -> Iterator[float]:
        rng = self.rng
        ctx = self.ctx
        rate = ch.pop / 1000.0
        builders = [b for b, _ in hum.REGULAR]
        weights = [w for _, w in hum.REGULAR]
        t = start + rng.expovariate(rate)
        while t < self.t_end - 5:
            yield t
            build = rng.choices(builders, weights)[0]
            for v in build(ctx, ch, t):
                spawn(v)
            t += rng.expovariate(rate)

    def _previews(self, ch: Channel, start: float) -> Iterator[float]:
        rng = self.rng
        rate = 0.002 * (ch.pop / max(self.scale, 1e-6)) ** 0.8 * self.scale
        if rate <= 0:
            return
        t = start + rng.expovariate(rate)
        while t < self.t_end - 5:
            yield t
            spawn(hum.preview_hover(self.ctx, ch, t)[0])
            t += rng.expovariate(rate)

    def _batch(self, plan: list[tuple[float, list]]) -> Iterator[float]:
        """Spawn pre-planned sessions in start order (campaigns plan their whole schedule)."""
        plan.sort(key=lambda p: p[0])
        for t, sessions in plan:
            if t >= self.t_end - 2:
                break
            yield t
            for s in sessions:
                spawn(s)

    def _marathon_plan(self, ch: Channel) -> list[tuple[float, list]]:
        rng = self.rng
        k = _poisson(rng, max(0.3, ch.pop * 0.05))
        plan = []
        for _ in range(k):
            t = self.t0 + rng.uniform(0, 0.15) * self.duration
            plan.append((t, hum.marathon_bg(self.ctx, ch, t)))
        return plan

    def _golive_plan(self, ch: Channel) -> list[tuple[float, list]]:
        rng = self.rng
        plan = []
        for _ in range(int(ch.pop * rng.uniform(0.8, 1.5)) + 2):
            t = ch.golive + 10 + rng.lognormvariate(math.log(60), 1.0)
            plan.append((t, hum.golive_rush(self.ctx, ch, t)))
        return plan

    def _raid_plan(self, ch: Channel, t_r: float, n: int) -> list[tuple[float, list]]:
        rng = self.rng
        plan = []
        for _ in range(n):
            t = t_r + rng.lognormvariate(math.log(4), 0.8)
            plan.append((t, hum.raid_party(self.ctx, ch, t)))
        return plan

    def _campus_plan(
        self, nat: tuple, chans: list[Channel], waves: list[tuple[float, int]]
    ) -> list:
        rng = self.rng
        plan = []
        for t_w, n in waves:
            for _ in range(n):
                t = t_w + rng.gammavariate(2.0, 90.0)
                ch = rng.choice(chans)
                plan.append((t, hum.campus_member(self.ctx, ch, t, nat)))
        return plan

    def manifest(self) -> dict:
        return {
            "t0": self.t0,
            "t_end": self.t_end,
            "channels": [
                {
                    "id": c.id,
                    "market": c.market,
                    "pop": round(c.pop, 2),
                    "golive": c.golive,
                    "attacked_by": c.attacked_by,
                }
                for c in self.channels
            ],
            "attacks": [
                {"family": f, "channel": c.id, "start": a, "end": b, "planned_bots": n}
                for f, c, a, b, n in self.attacks
            ],
            "raids": [{"channel": c.id, "at": t, "raiders": n} for c, t, n in self.raids],
            "campuses": [
                {
                    "asn": nat[0].number,
                    "nat_ips": nat[1],
                    "channels": [c.id for c in chans],
                    "waves": waves,
                }
                for nat, chans, waves in self.campuses
            ],
        }


def _collect(gen: Iterator[tuple[float, list]]) -> list[tuple[float, list]]:
    return list(gen)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1
