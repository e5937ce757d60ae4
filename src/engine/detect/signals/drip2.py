"""(2026.11.14) ``drip_beat``: this session's join kept a scheduler's beat of its client build,
read robustly (``engine.detect.dripbeat``), so people of a popular build joining in between, or
a raid, do not hide a slow drip.

Medium, behaviour (when viewers arrive, not who or where they are): it suppresses only with a
second medium signal (a proxy pool, a failed challenge ...). Strong when the session is also one
of the toolkit's (``toolkit_view``: 3+ other sessions of its client family at its exact
window size, a fifth of the family's or more, a desktop browser window), or (2026.11.23.3)
when the beat ran ``DRIP_LONG_GAPS`` gaps or more: people arriving at random practically never
keep one that long. Only sessions on
an address of their own or a sticky proxy's (up to two other sessions) are read, and never when
the session's own network shows a steady arrival cadence (``join_trickle``: a campus or an
office filling up is one network's people, not a build's beat).

For a session whose join the channel did not see (watching when the log began), in a crowd of
its exact build at its exact window size (``toolkit_crowd``): medium when that build's joins
seen since keep such a beat as a whole, two of them or more from the session's own network
(ASN): a drip running before the log began that still adds viewers through the networks its
earlier ones use. With ``toolkit_cohort`` it suppresses.

Who it could hurt: a person of the drip's exact build (user agent and JA4) who arrives where
the drip left a join out (a crashed slot): two full gaps around their join; at the drip's
window size too (a maximised browser at a common resolution), they are suppressed; (crowd) a
person of the drip's exact build and window size on one of the drip's networks who was already
watching when the log began (with ``toolkit_cohort``, suppressed).
"""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.signals.toolkit import TOOLKIT_MIN_VIEWPORT_W
from engine.detect.state import SessionState

DRIP_MAX_PEERS_IP = 2  # other sessions on the session's address (a drip's sticky proxy)
# (2026.11.23.3) a beat this long is strong on its own, at any window size
DRIP_LONG_GAPS = 32


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if not s.drip_gaps or s.peers_ip > DRIP_MAX_PEERS_IP or s.trickle_joins:
        return
    # A drip's browsers also share a handful of exact window sizes: 3+ other sessions of the
    # session's client family at its exact size, a fifth of the family's (``toolkit_view``, a
    # desktop browser window): the beat and the toolkit together are strong.
    if not s.reg_client:
        # (crowd) its join was not seen: in a crowd of its build at its exact window size
        # (``toolkit_crowd``) while that build's joins seen since keep a beat. Medium.
        add((0.45, "drip_beat"))
        return
    toolkit = (
        s.toolkit_view > 0
        and s.ua_kind == "browser"
        and not s.ua_mobile
        and s.viewport_w >= TOOLKIT_MIN_VIEWPORT_W
    )
    add((0.75 if toolkit or s.drip_gaps >= DRIP_LONG_GAPS else 0.45, "drip_beat"))
