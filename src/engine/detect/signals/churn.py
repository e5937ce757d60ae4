"""(2026.11.23) Address churn: a player whose address keeps moving to new blocks of one consumer
ISP between two requests of its fetch rhythm, and never comes back.

A home line keeps its lease for days; a phone on Wi-Fi keeps the home's address. A carrier-grade
NAT that hands out addresses per connection does so from a pool: a few blocks, visited again
and again, and an HLS player keeps its connection open anyway. A residential proxy pool sold
with ISP targeting (or geo-targeted to a country with one big ISP) gives every connection a new
exit: a session walks through block after block of the operator, each move between two
requests, and none is ever revisited. ``update._isp_hop`` records each move to a /24 (v6 /48)
the session never used, within one consumer ISP (never a hosting network, never a listed mobile
carrier) with its request gap (a stall within 20 s marks it noticed).

``address_churn``: ``CHURN_ADDRESSES`` distinct addresses or more, ``CHURN_HOPS`` or more such
moves recorded, every one unnoticed by the fetch rhythm, no return to an address or a block the
session used, across ``CHURN_NETS`` or more /16s (v6 /32s): strong (0.9). Phones are read too:
unlike ``isp_rotation`` (a tunnel's path, one or two moves) this needs a walk that no NAT pool
makes.

Who could be hurt: a line behind a NAT (a carrier the mobile list does not know, or an ISP's
carrier-grade NAT for fixed lines) that picks a new address from a pool spread over many /16s
for every connection, whose player opens a new connection again and again; the pool would have
to be big enough that sixteen addresses never bring one back. A handful of such moves (the
isp-nat trap of ``test_rules_rotation``: five moves a minute apart) is never read.
"""

from __future__ import annotations

from engine.detect.channel import SEAMLESS_GAP_SEGMENTS
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

CHURN_HOPS = 5  # new blocks of one ISP, each between two requests (``isp_hop_gaps`` keeps 8)
CHURN_NETS = 4  # /16s (v6 /32s) the session's addresses span
CHURN_ADDRESSES = 16  # distinct addresses: a NAT pool revisits long before


def churn_hops(s: SessionState, segment_s: float) -> int:
    """Moves to new blocks of one consumer ISP the fetch rhythm did not notice, or 0 when any
    move was noticed or went back (to an address, or to a block used before)."""
    gaps = s.isp_hop_gaps
    if not gaps or s.ip_returns or len(s.move_gaps) > len(gaps):
        return 0
    limit = SEAMLESS_GAP_SEGMENTS * segment_s
    for gap in gaps:
        if gap > limit:
            return 0
    return len(gaps)


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if s.ip_count < CHURN_ADDRESSES or len(s.nets) < CHURN_NETS:
        return
    if churn_hops(s, f.segment_s) >= CHURN_HOPS:
        add((0.9, "address_churn"))
