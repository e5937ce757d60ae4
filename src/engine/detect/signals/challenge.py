"""Challenge outcomes: failures are evidence; passes are relief (see scoring)."""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

SUBNET_FAILURES = 2  # other sessions of the same /24 on the channel that failed a challenge


POOL_FAILURES = 3  # other sessions of a pool-shaped /24 that failed a challenge and passed none


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if f.pool and s.subnet_failures >= POOL_FAILURES:
        # A sticky proxy pool's shape (``proxy_pool``) whose other members failed challenges
        # together (2026.11.6): people pass 97% of challenges; one operator's clients fail
        # together. The block's failures judge all its members, those that were never
        # challenged and those that passed one (a solving service passes now and then): a
        # pass still takes 0.9 off, so a member that passed is suppressed, not challenged.
        add((0.7, "pool_challenges_failed"))
    if f.own_address_crowd and s.subnet_automation and not s.challenge_passed:
        # (2026.11.8) Another session of this /24 on this channel failed a challenge that
        # reported automation, and the /24 is a crowd of IPv4 desktop viewers on an address
        # each (``subnet_crowd``): the verdict is about a client, and a block of one-session
        # addresses that is a tenth of the channel's audience is one operator's, so it judges
        # the block's members that were never challenged. People are not told "automation"
        # by a challenge; a NAT (office, campus, carrier) puts many on few addresses and is
        # not read. Medium, behaviour: with ``subnet_crowd`` it suppresses (no user impact).
        add((0.45, "subnet_automation_detected"))
    if s.challenge_failed:
        # People fail or ignore a challenge now and then (medium); "automation detected" or a
        # second failure is strong.
        z = 1.2 * min(s.challenge_automation, 2) + 0.6 * min(
            s.challenge_failed - s.challenge_automation, 3
        )
        add((min(z, 2.0), "challenge_failed"))
        if s.subnet_failures >= SUBNET_FAILURES and not s.challenge_passed:
            # Two more sessions of this /24 on this channel failed a challenge recently: people
            # fail now and then, independently; one operator's clients fail together. Medium.
            add((0.45, "challenge_failed_subnet"))
