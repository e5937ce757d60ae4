"""Seeded randomness: every world object and every session gets its own generator.

Seeds are derived from the run seed and a stable name (``derive_seed(seed, "session", 17)``), so a
session's behaviour does not depend on how many random numbers other sessions drew before it.
That keeps output byte-identical for the same arguments and lets the merge order sessions freely.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


NORMALS: tuple[float, ...] = tuple(random.Random(0x5EED).gauss(0.0, 1.0) for _ in range(4096))
"""Standard normal deviates for hot loops: ``NORMALS[int(rng.random() * 4096)]`` costs a third of
``rng.gauss`` and is just as deterministic."""


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from the run seed and a path of names (stable across Python runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def make_rng(*parts: object) -> random.Random:
    return random.Random(derive_seed(*parts))


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """Log-normal draw parameterised by its median, which is easier to reason about than mu."""
    return median * math.exp(rng.gauss(0.0, sigma))


def weighted(rng: random.Random, table: Sequence[tuple[T, float]]) -> T:
    """Pick a value from ``(value, weight)`` pairs."""
    total = 0.0
    for _, w in table:
        total += w
    x = rng.random() * total
    for value, w in table:
        x -= w
        if x < 0:
            return value
    return table[-1][0]


def poisson(rng: random.Random, mean: float) -> int:
    """Poisson draw (normal approximation for large means, which is plenty for arrival counts)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def uuid4_text(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (session ids look like real player ids)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
