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
from engine.detect.netpath import long_fast_path
from engine.detect.signals.base import Add, Facts
from engine.detect.signals.network import reads_change
from engine.detect.signals.wifi_hops import reads_hops
from engine.detect.state import SessionState

STRONG_HOPS = 2  # a desktop's; a phone's hops stay medium

# ``proxy_path``: the round trip a playlist response shows (``netpath``), against the player.
PATH_STEADY_S = 120.0  # visible play the player showed no change at all through
TUNNEL_WAVE_SHARE = 600  # per mille of the wave's joins through a tunnel
ISP_HOPS = 2  # seamless moves to new /24s of one consumer ISP, never back


def hops(s: SessionState, segment_s: float) -> int:
    """Exit hops the fetch rhythm did not notice."""
    limit = SEAMLESS_GAP_SEGMENTS * segment_s
    return sum(1 for gap in s.hop_gaps if gap <= limit)


def collect(s: SessionState, f: Facts, add: Add) -> None:
    _proxy_path(s, add)
    _tunnel_wave(s, add)
    _isp_rotation(s, f, add)
    if not s.hop_gaps:
        return
    n = hops(s, f.segment_s)
    if n < 1:
        return
    if n >= STRONG_HOPS and not s.ua_mobile:
        add((0.9, "exit_rotation"))
    elif reads_hops(s, f.segment_s):
        return  # (2026.11.14) a phone's hops between fixed lines: ``wifi_hop`` reads them
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


def _proxy_path(s: SessionState, add: Add) -> None:
    """``proxy_path``: a tunnel's latency (``long_fast_path``) under a player that did nothing
    a person or an adaptive player does: two minutes and more of visible play, never hidden,
    never paused, the rendition switched once at most (the start-up climb), no chat, no stall,
    and below the channel's top rung although the link is fast. A person far from the edge (or
    behind a corporate tunnel) with a fast link is rare, and their adaptive player climbs to
    the top rung; a proxy's traffic is paid per gigabyte, so its players stay low."""
    # A browser (Gecko left out: Tor Browser's circuits), or an iPhone's native player (Safari
    # hands HLS to AppleCoreMedia, which then fetches the media under its own name).
    iphone = s.ua_kind == "app" and s.ua_mobile and s.ua_engine == "webkit" and not s.ua_tv
    if (
        not (iphone or s.ua_kind == "browser")
        or s.ua_engine not in ("chromium", "webkit")
        or s.p_n < 3
        or s.play_visible_s < PATH_STEADY_S
        or s.hidden_s > 0.0
        or s.pauses
        or s.rendition_changes > 1  # the start-up climb of an adaptive player, at most
        or len(s.seg_heights) > 2
        or s.chat_messages
        or not long_fast_path(s)
    ):
        return
    if s.stalls or not s.seg_heights or max(s.seg_heights) >= s.ladder_max:
        return  # a struggling line, or a fast link in use (seed 1402: a person at 223 ms)
    add((0.75, "proxy_path"))


def _tunnel_wave(s: SessionState, add: Add) -> None:
    """``tunnel_wave`` (2026.11.23.2): this session came through a tunnel (``long_fast_path``)
    in a burst of joins most of which did too: a campaign's wave through one proxy service
    (sticky exits, so no rotation shows; seed 2001: 89 of a campaign of 101 were missed). A
    raid's people come from their own lines: in the simulator's raids about one in eight shows
    a floor in the tunnel's band, phones and slow lines among them, which the path test leaves
    out. Gecko (Tor Browser) is not read: Tor users are not a wave of one service."""
    if s.tunnel_wave >= TUNNEL_WAVE_SHARE and s.ua_engine != "gecko":
        add((0.75, "tunnel_wave"))


def _isp_rotation(s: SessionState, f: Facts, add: Add) -> None:
    """``isp_rotation``: a desktop browser on a tunnel's path (``long_fast_path``)
    whose address moved to a /24 (v6 /48) it never used, within one consumer ISP, between two
    requests of its fetch rhythm, with no stall near and never back to an address it had used.
    A geo-targeted residential proxy pool draws its exits from the audience's big ISPs, so its
    sticky sessions rotate inside one operator, where ``exit_rotation`` does not look. An ISP's
    carrier-grade NAT can hand a home line blocks of its own too, but not over a tunnel's round
    trip: without the path nothing is read (one move stays ``seamless_address_change``). Two
    moves are strong, one is medium. Carrier networks, hosting networks, phones and Gecko (Tor
    Browser) are never read."""
    if not s.isp_hop_gaps or s.ua_mobile or s.ip_returns:
        return
    if s.ua_kind != "browser" or s.ua_engine not in ("chromium", "webkit"):
        return
    limit = SEAMLESS_GAP_SEGMENTS * f.segment_s
    n = sum(1 for gap in s.isp_hop_gaps if gap <= limit)
    if n and long_fast_path(s):
        add((0.9 if n >= ISP_HOPS else 0.45, "isp_rotation"))
