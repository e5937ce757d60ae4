"""(2026.11.13) Exit rotation: a player whose address hops from network to network between two
requests of its fetch rhythm, with no stall.

A person's device changes network in few ways, and each leaves a mark: a new Wi-Fi
association, lease or NAT mapping costs seconds without traffic, a handover drains the buffer.
Only two changes can be seamless: a phone moving between Wi-Fi and cellular (QUIC or MPTCP
connection migration) and a client behind a NAT or dual stack alternating between addresses it
already had. A rotating residential proxy swaps its exit between two requests, to an operator
(and often a country) the session never used, again and again. ``update._exit_hop`` records
each change of the kind no device can make seamlessly ("exit hops"); here the gaps are read
against the channel's segment duration.

Who could be hurt: a laptop with two uplinks of different operators (dual WAN balancing per
connection) makes one hop and then returns (returns are never hops); a phone whose carrier is
not on the mobile list (operators announcing broadband and cellular from one ASN) makes one hop
per seamless handover, so a phone's hops are only ever medium; Tor Browser (Gecko) renews its
circuit minutes apart, so its changes count only when closer together than ``GECKO_HOP_S``.
"""

from __future__ import annotations

from engine.detect.channel import SEAMLESS_GAP_SEGMENTS
from engine.detect.signals.base import Add, Facts
from engine.detect.signals.network import reads_change
from engine.detect.state import SessionState

STRONG_HOPS = 2  # a desktop's; a phone's hops stay medium


def hops(s: SessionState, segment_s: float) -> int:
    """Exit hops the fetch rhythm did not notice."""
    limit = SEAMLESS_GAP_SEGMENTS * segment_s
    return sum(1 for gap in s.hop_gaps if gap <= limit)


def collect(s: SessionState, f: Facts, add: Add) -> None:
    if not s.hop_gaps:
        return
    n = hops(s, f.segment_s)
    if n < 1:
        return
    if n >= STRONG_HOPS and not s.ua_mobile:
        add((0.9, "exit_rotation"))
    elif reads_change(s, f.segment_s):
        return  # the medium forms would count changes ``network`` already read
    elif n >= 2:
        # A phone hopping again and again: medium, however often. Carriers that announce
        # broadband and cellular from one ASN are not on the mobile list, so Wi-Fi -> cellular
        # -> another Wi-Fi with connection migration can look like this.
        add((0.6, "exit_rotation"))
    else:
        # One hop: medium (a dual-WAN line's first switch, a phone on a carrier we do not
        # know as one); it takes a second, independent signal to suppress.
        add((0.45, "exit_rotation"))
