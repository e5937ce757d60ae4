"""Challenge outcomes: failures are evidence; passes are relief (see scoring)."""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if s.challenge_failed:
        # People fail or ignore a challenge now and then (medium); "automation detected" or a
        # second failure is strong.
        z = 1.2 * min(s.challenge_automation, 2) + 0.6 * min(
            s.challenge_failed - s.challenge_automation, 3
        )
        add((min(z, 2.0), "challenge_failed"))
