"""Challenge outcomes: failures are evidence; passes are relief (see scoring)."""

from __future__ import annotations

from engine.detect.channel import POOL_MIN_ADDRESSES
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

SUBNET_FAILURES = 2  # other sessions of the same /24 on the channel that failed a challenge


POOL_FAILURES = 3  # other sessions of a pool-shaped /24 that failed a challenge and passed none
# (2026.11.9) Other sessions of a block of one-session addresses (``Facts.own_address``) that
# failed a challenge and passed none: three, one of them told "automation" ...
BLOCK_FAILURES = 3
# ... or two in a block of a proxy pool's size (seven addresses or more at once).
BIG_BLOCK_FAILURES = 2


def collect(s: SessionState, f: Facts, add: Add) -> None:
    failed_only = s.challenge_failed > 0 and not s.challenge_passed
    if f.pool and s.subnet_failures >= POOL_FAILURES:
        # A sticky proxy pool's shape (``proxy_pool``) whose other members failed challenges
        # together (2026.11.6): people pass 97% of challenges; one operator's clients fail
        # together. The block's failures judge all its members, those that were never
        # challenged and those that passed one (a solving service passes now and then): a
        # pass still takes 0.9 off, so a member that passed is suppressed, not challenged.
        add((0.7, "pool_challenges_failed"))
    elif f.own_address and not failed_only and s.subnet_failures > s.subnet_passes:
        # (2026.11.9) The same judgement for a block of one-session addresses without the
        # pool's size or standing: three of its other members failed a challenge (one told
        # "automation", which no timeout, outage or typo says) or two in a block of a pool's
        # size, and failures outnumber its passes. People fail 3% of challenges, one by one; a
        # NAT (office, campus, carrier) puts them behind few addresses and is never read. It
        # judges the members never challenged (suppressed: not counted, no user impact); one
        # that passed keeps its relief from being challenged again, but where the block's
        # failures include an automation verdict, not from being suppressed (a solving
        # service passes captchas; the verdicts are about the block's clients).
        big = s.subnet_addresses >= POOL_MIN_ADDRESSES - 1
        verdict = s.subnet_failures >= BLOCK_FAILURES and s.subnet_automation >= 1
        if verdict or (big and s.subnet_failures >= BIG_BLOCK_FAILURES):
            add((0.7, "subnet_challenges_failed"))
            f.block_floor = verdict and s.challenge_passed > 0
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
        if failed_only and (
            s.subnet_failures >= SUBNET_FAILURES or (f.own_address and _neighbour_failed(s))
        ):
            # Two more sessions of this /24 on this channel failed a challenge recently: people
            # fail now and then, independently; one operator's clients fail together. Medium.
            # Since 2026.11.9 one more is enough for a session on an address of its own in a
            # block of one-session addresses, when that neighbour was told "automation", or
            # when the block is of a pool's size and its failures outnumber its passes: this
            # session is challenged again, and a person passes.
            add((0.45, "challenge_failed_subnet"))


def _neighbour_failed(s: SessionState) -> bool:
    """One other failure of the block counts for a session that failed itself when it was an
    automation verdict (about a client, whatever the block's passes say), or when the block is
    of a pool's size and its failures outnumber its passes."""
    if s.subnet_automation >= 1:
        return True
    return s.subnet_failures > s.subnet_passes and s.subnet_addresses >= POOL_MIN_ADDRESSES - 1
