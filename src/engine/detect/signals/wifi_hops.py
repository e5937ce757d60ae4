"""(2026.11.14) A phone that moves from one fixed line to another without missing a beat.

A phone has one cellular network: its SIM's carrier. Every other network it uses is a Wi-Fi,
and a Wi-Fi belongs to a fixed line (home, office, cafe). So a phone's network changes go
Wi-Fi <-> cellular, which QUIC or MPTCP connection migration can make seamless, and, rarely,
Wi-Fi -> another Wi-Fi, which costs a new association, a DHCP lease and new connections: seconds
without traffic. A rotating residential proxy dressed as a phone swaps its exit between two
requests from one home line to another, again and again, with the fetch rhythm unbroken.

What is read are the session's unnoticed "exit hops" (``update._exit_hop``): a change to
another operator, to a /24 (v6 /48) the session never used, neither side a hosting network,
never between a listed mobile carrier and another network, never across a border for a phone,
no stall within 20 s, and the request before it at most 1.2 segment durations earlier. A hop a
person's phone can make seamlessly has its SIM's network on one side (cellular -> Wi-Fi or back
when the carrier is not on the mobile list, or a home on a listed carrier's fixed-wireless line
-> the SIM's listed carrier). With no return to an operator the session used before, the SIM's
network is entered and left at most once, so at most two of a phone's hops can be innocent; and
when exactly one listed carrier is among the session's networks, at most one (that carrier is
the SIM's, whose changes are never hops, or it is the home's fixed-wireless line, entered and
left by crossings, which leaves the SIM's unlisted network one hop to make). Every hop beyond
those went from one Wi-Fi to another. Without exactly one listed carrier nothing is read (the
2026.11.6 decision that a phone crossing four US home ISPs minutes apart stays counted stands:
a dual-SIM phone, or two unlisted carriers, could make more hops).

``wifi_hop``: a phone (Gecko, i.e. Tor Browser for Android, left out) with no return to an
operator it used, exactly one listed carrier among its networks, and two unnoticed hops or
more: strong (0.9). One hop: medium (0.6, never alone; not read when ``network`` already read
a seamless change of the session, so one change is never counted twice). Its hops are then not read again by
``exit_rotation``'s medium forms.

Who could be hurt: a phone roaming between two Wi-Fi networks of different operators (a
building with two routers, a shop's guest Wi-Fi next to a home line) fast enough to keep the
fetch rhythm and without a stall, on top of the hops a person can make; a dual-SIM phone whose
data moves from one SIM to the other without a gap (unlisted carriers both).
"""

from __future__ import annotations

from engine.detect.channel import SEAMLESS_GAP_SEGMENTS
from engine.detect.clients import MOBILE_ASNS
from engine.detect.signals.base import Add, Facts
from engine.detect.signals.network import reads_change
from engine.detect.state import SessionState

INNOCENT_HOPS = 1  # with one listed carrier among the session's networks


def wifi_hops(s: SessionState, segment_s: float) -> tuple[int, int]:
    """(unnoticed exit hops, how many a person's phone could make without a Wi-Fi -> Wi-Fi
    move) of a phone that never returned to an operator it used and has exactly one listed
    carrier among its networks; (0, 0) otherwise."""
    if not s.ua_mobile or s.ua_engine == "gecko" or not s.hop_gaps or s.asn_returns:
        return 0, 0
    limit = SEAMLESS_GAP_SEGMENTS * segment_s  # as ``rotation.hops``
    n = sum(1 for gap in s.hop_gaps if gap <= limit)
    carriers = 0
    for asn in s.asns:  # at most MAX_KEYS
        if asn in MOBILE_ASNS:
            carriers += 1
    if carriers != 1:
        return 0, 0
    return n, INNOCENT_HOPS


def collect(s: SessionState, f: Facts, add: Add) -> None:
    n, innocent = wifi_hops(s, f.segment_s)
    if n > innocent:
        add((0.9, "wifi_hop"))
    elif n == 1 and innocent == 1 and not reads_change(s, f.segment_s):
        add((0.6, "wifi_hop"))


def reads_hops(s: SessionState, segment_s: float) -> bool:
    """Whether ``collect`` reads this session's hops (``exit_rotation`` then leaves them)."""
    n, innocent = wifi_hops(s, segment_s)
    return n > innocent or (n == 1 and innocent == 1)
