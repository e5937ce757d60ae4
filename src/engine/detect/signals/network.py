"""One session, many networks: a session token replayed from several places at once.

Phones hand over between networks, dual-stack clients alternate IPv4 and IPv6 and Tor renews
its circuit every ten minutes, so what counts is switching *back and forth* within one IP
family, or rapid switching that keeps the fetch rhythm or crosses borders.
"""

from __future__ import annotations

from engine.detect.channel import (
    SEAMLESS_GAP_SEGMENTS,
    seamless_any,
    seamless_border,
    seamless_change,
    seamless_move,
)
from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState

COHORT = 3  # sessions of one channel (this one included) changing network seamlessly


def collect(s: SessionState, f: Facts, add: Add) -> None:
    n_asns = len(s.asns)
    seamless = sum(1 for gap in s.switch_gaps if gap <= SEAMLESS_GAP_SEGMENTS * f.segment_s)
    rapid = s.rapid_switches
    if s.asn_returns >= 3:
        # Back and forth between networks: several clients on one session token.
        add((1.0 + 0.1 * min(s.asn_returns - 3, 6), "session_multi_network"))
    elif n_asns >= 3 and rapid >= 2:
        # Network after network minutes apart: a rotating proxy, certainly so when a change
        # kept the fetch rhythm or crossed a border. Tor renews its circuit every ten minutes
        # and gives nothing here; a phone going home -> cellular -> cafe within minutes, each
        # change with a pause, gets the medium form.
        if seamless or s.country_switches:
            add((0.9 + 0.25 * (min(n_asns, 6) - 3), "session_multi_network"))
        elif not (s.ua_mobile and s.carrier_crossings >= s.asn_switches):
            # (2026.11.13) not for a phone each of whose changes crossed between a mobile
            # carrier and another network: home Wi-Fi -> cellular -> a cafe's Wi-Fi
            add((0.5, "session_multi_network"))
    if repeated_seamless(s, seamless):
        # Networks changed again and again, minutes apart, without the fetch rhythm missing
        # a beat (a real handover interrupts it for seconds).
        strong = seamless >= 3 and (rapid >= 2 or _desk(s, seamless))  # a phone's stays medium
        add((0.9 if strong else 0.6, "seamless_network_change"))
    elif seamless_change(s, f.segment_s):
        # One network change (another operator, same country) that the fetch rhythm and the
        # buffer never noticed: a proxy rotating its exit. Connection migration can do it too
        # (and Tor, whose circuits change country), so it is medium and needs a second signal.
        add((0.45, "seamless_network_change"))
    elif s.ip_returns >= 3 and s.ip_count >= 3:
        # Alternating addresses within one network: carrier NAT can do it per connection.
        add((0.6 if len(s.nets) >= 3 else 0.4, "ip_churn"))
    elif seamless_move(s, f.segment_s):
        # A new address in another /24 of the same operator, without a beat missed and with
        # no stall: a residential proxy rotating its exit inside one ISP. A new DHCP lease or
        # NAT mapping costs a reconnect; carrier NAT (phones) is left out. Medium.
        add((0.45, "seamless_address_change"))
    elif seamless_border(s, f.segment_s):
        # A desktop browser moved to a consumer network in another country between two
        # requests of its fetch rhythm, with no stall: a home line does not cross borders, a
        # residential proxy switching exits does. Medium (with the border crossing itself,
        # ``country_hopping``, it suppresses); VPN and hosting networks, phones, Gecko
        # (Tor Browser) and changes with a stall are never read.
        add((0.45, "seamless_network_change"))
    if s.seamless_cohort >= COHORT and seamless_any(s, f.segment_s):
        # Other viewers of this channel changed network without a beat at the same time:
        # exits of one rotating pool, not a phone here and a Tor circuit there.
        add((0.45, "seamless_change_cohort"))
    # (2026.11.13) A phone's border changes at a move between cellular and Wi-Fi do not count:
    # a roaming phone's cellular data leaves from its home country.
    borders = s.country_switches - (s.crossing_borders if s.ua_mobile else 0)
    if borders > 0:
        # A traveller crosses a border once; Tor changes country every ten minutes or so.
        # Only repeated, rapid changes are strong.
        strong = borders >= 2 and rapid >= 2
        add((0.9 if strong else 0.5, "country_hopping"))


def _desk(s: SessionState, seamless: int) -> bool:
    # A desktop Chromium/WebKit browser that never stalled near a change (2026.11.6): for it,
    # repeated seamless changes need not be minutes apart. The time limit keeps out Tor
    # (Gecko, a new circuit every ten minutes or more) and phones moving between Wi-Fi and
    # cellular; a home line does not change operator again and again without missing a beat.
    return (
        seamless >= 2
        and not s.ua_mobile
        and s.switch_stalls == 0
        and s.ua_kind == "browser"
        and s.ua_engine in ("chromium", "webkit")
    )


def repeated_seamless(s: SessionState, seamless: int) -> bool:
    """The repeated form of ``seamless_network_change``: ``seamless`` changes of operator
    without a beat missed, minutes apart, or for a desktop browser at any pace, or for a phone
    each to a network it never used."""
    # (2026.11.11) A phone is read too when each seamless change reached a network the session
    # never used (no return) and no stall came near any change: Wi-Fi at the edge of its range
    # flaps between the same two networks, and a handover drops the link for seconds.
    fresh = (
        seamless >= 2
        and s.ua_mobile
        and s.asn_returns == 0
        and s.switch_stalls == 0
        and len(s.asns) >= seamless + 1
    )
    # (2026.11.13) A phone's seamless changes count only beyond those that crossed between a
    # mobile carrier and another network: Wi-Fi <-> cellular with connection migration keeps
    # the fetch rhythm, however often the phone goes in and out of the door.
    if s.ua_mobile and seamless - s.carrier_crossings < 1:
        return False
    return seamless >= 2 and (s.rapid_switches >= 1 or _desk(s, seamless) or fresh)


def reads_change(s: SessionState, segment_s: float) -> bool:
    """(2026.11.13) Whether ``collect`` reads a seamless change of network or address of this
    session (``seamless_network_change`` / ``seamless_address_change``), so that another rule
    reading the same changes (``rotation``) does not count them twice."""
    limit = SEAMLESS_GAP_SEGMENTS * segment_s
    seamless = sum(1 for gap in s.switch_gaps if gap <= limit)
    return (
        repeated_seamless(s, seamless)
        or seamless_change(s, segment_s)
        or seamless_move(s, segment_s)
        or seamless_border(s, segment_s)
    )
