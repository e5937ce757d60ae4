"""Rules 2026.11.6: a proxy pool that stands out against its own ISP on a big channel, a pool
whose members fail challenges together (judging the ones that passed or were never asked), and a
home line that crosses a border while changing IP family. Each rule on a bot built by hand, and
the people who share the trait it reads."""

from __future__ import annotations

from detect_builders import (
    FIREFOX_JA4,
    FIREFOX_UA,
    IPHONE_UA,
    SAFARI_JA4,
    T0,
    Viewer,
    finals,
    merge,
    run,
)

from engine.detect import Detector, Policy
from engine.detect.channel import POOL_MIN_ADDRESSES
from engine.detect.signals import challenge, context
from engine.detect.signals.base import Facts
from engine.detect.state import new_session


def crowd(n: int = 90) -> list[Viewer]:
    # A big channel's audience: one viewer per network, so no /24 is a tenth of it.
    return [
        Viewer(
            f"aud-{i}", start=T0 - 120.0 + i * 0.5, duration=420.0, ip=f"86.{i}.9.9", asn=3000 + i
        )
        for i in range(n)
    ]


def subscribers(asn: int, n: int = 6) -> list[Viewer]:
    # The ISP's ordinary subscribers on the channel: one per /24, as people spread.
    return [
        Viewer(
            f"isp-{asn}-{i}",
            start=T0 + i * 3.0,
            duration=300.0,
            ip=f"99.{i}.{asn % 200}.7",
            asn=asn,
        )
        for i in range(n)
    ]


def block(prefix: str, asn: int, n: int = 8, tag: str = "pool", **kw) -> list[Viewer]:
    return [
        Viewer(
            f"{tag}-{i}",
            start=T0 + 5.0 + i * 2.0,
            duration=300.0,
            ip=f"{prefix}.{20 + i}",
            asn=asn,
            **kw,
        )
        for i in range(n)
    ]


# --- proxy_pool against the ISP's other /24s ------------------------------------------------------


def test_a_pool_standing_out_in_its_isp_on_a_big_channel_is_flagged() -> None:
    pool = block("73.40.12", 7018)
    final = finals(pool, subscribers(7018), crowd())
    for v in pool:
        d = final[v.session_id]
        assert {"proxy_pool", "subnet_crowd"} <= set(d.reasons), d.reasons
        assert d.action != "count", (d.score, d.reasons)
        assert d.features["subnet_lift"] >= 3.0


def test_two_pool_blocks_of_one_isp_do_not_hide_each_other() -> None:
    # An ISP-proxy provider rents two /24s of the same ISP: each is compared with the ISP's
    # uncrowded /24s, not with the other block.
    pools = block("73.40.12", 7018) + block("73.41.99", 7018, tag="pool2")
    final = finals(pools, subscribers(7018), crowd())
    for v in pools:
        assert "proxy_pool" in final[v.session_id].reasons, final[v.session_id].reasons


def test_a_carrier_nat_isp_filling_its_pool_alike_is_not_a_proxy_pool() -> None:
    # Fixed-line CGNAT: the ISP's desktop viewers come from the three /24s of its NAT pool,
    # eight each, on addresses of their own; nothing stands out.
    nat = block("41.200.1", 36947, tag="n1") + block("41.200.2", 36947, tag="n2")
    nat += block("41.200.3", 36947, tag="n3")
    final = finals(nat, crowd())
    for v in nat:
        d = final[v.session_id]
        assert "proxy_pool" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_phones_six_households_or_a_nat_in_one_subnet_are_no_pool() -> None:
    phones = block("100.64.5", 7018, tag="ph", ua=IPHONE_UA, ja4=SAFARI_JA4)
    few = block("73.50.1", 7922, n=POOL_MIN_ADDRESSES - 1, tag="few")
    office = [Viewer(f"of-{i}", ip="64.20.1.5", asn=7922, start=T0 + i * 2.0) for i in range(10)]
    final = finals(phones, few, office, subscribers(7018), subscribers(7922), crowd())
    for v in (*phones, *few, *office):
        d = final[v.session_id]
        assert "proxy_pool" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_subnet_lift_edge() -> None:
    s = new_session("s", "ch", T0)
    s.cdn_n, s.reg_ip = 10, "i:73.40.12.20"
    s.subnet_addresses = s.peers_subnet = POOL_MIN_ADDRESSES - 1
    s.channel_sessions = 500
    found: dict[str, float] = {}

    def collect(lift: float) -> set[str]:
        found.clear()
        s.subnet_lift = lift
        f = Facts(span=100.0, cdn_span=100.0, segment_s=2.0, segment_known=True)
        context.collect(s, f, lambda item: found.__setitem__(item[1], item[0]))
        return set(found)

    assert "proxy_pool" in collect(3.0)  # inclusive edge
    assert "proxy_pool" not in collect(2.99)


# --- pool_challenges_failed --------------------------------------------------------------------------


def test_a_pool_failing_challenges_judges_its_passers_and_unchallenged_members() -> None:
    pool = block("73.40.12", 7018, n=9)
    for i, v in enumerate(pool):
        if i < 4:
            v.challenges = [(40.0 + i, False)]
    pool[4].challenges = [(60.0, True)]  # a solving service got one through
    final = finals(pool, subscribers(7018), crowd())
    passer, unasked = final[pool[4].session_id], final[pool[6].session_id]
    assert "pool_challenges_failed" in passer.reasons, passer.reasons
    assert passer.action == "suppress", (passer.score, passer.reasons)
    assert "pool_challenges_failed" in unasked.reasons, unasked.reasons
    assert unasked.action in ("challenge", "block"), (unasked.score, unasked.reasons)


def test_people_beside_failures_outside_a_pool_keep_their_pass() -> None:
    # An office NAT where three colleagues let a challenge time out: the one who passed, and
    # the ones never asked, are not judged by them (no pool shape: one address, many people).
    office = [Viewer(f"of-{i}", ip="64.20.1.5", asn=7922, start=T0 + i * 2.0) for i in range(10)]
    for i in range(3):
        office[i].challenges = [(40.0 + i, False)]
    office[3].challenges = [(50.0, True)]
    # Households of one ISP spread over its /24s, three of which failed a challenge.
    homes = subscribers(7018, n=8)
    for i in range(3):
        homes[i].challenges = [(40.0 + i, False)]
    homes[4].challenges = [(50.0, True)]
    final = finals(office, homes, crowd())
    for v in (*office[3:], *homes[3:]):
        d = final[v.session_id]
        assert "pool_challenges_failed" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_pool_failures_edge() -> None:
    s = new_session("s", "ch", T0)
    f = Facts(span=100.0, cdn_span=100.0, segment_s=2.0, segment_known=True)
    found: list[str] = []
    for pool, failures, fires in ((True, 3, True), (True, 2, False), (False, 9, False)):
        found.clear()
        f.pool, s.subnet_failures = pool, failures
        challenge.collect(s, f, lambda item: found.append(item[1]))
        assert ("pool_challenges_failed" in found) is fires, (pool, failures, found)


# --- seamless_network_change across a border and an IP family --------------------------------------


def family_hopper(sid: str, **kw) -> Viewer:
    # A residential proxy's exit moves from a German IPv4 home line to a US IPv6 one between
    # two requests (held by our simulator's swarms; the held-out proxy rotators change family).
    base = dict(
        ip=f"176.2.{sum(map(ord, sid)) % 250}.4",
        asn=6805,
        country="DE",
        duration=400.0,
        moves=[(200.0, "2600:4045:9112:767::5", 701, "US")],
    )
    base.update(kw)
    return Viewer(sid, **base)


def test_a_border_crossing_that_changes_ip_family_is_a_seamless_change() -> None:
    d = run(merge(family_hopper("hop")))["hop"]
    assert "seamless_network_change" in d.reasons, d.reasons


def test_dual_stack_and_roaming_phones_are_not_a_border_crossing() -> None:
    dual = family_hopper(  # a household alternating between its IPv4 and IPv6 of one country
        "dual",
        moves=[(100.0, "2003:e2:1::5", 3320, "DE"), (160.0, "176.2.9.4", 6805, "DE")],
    )
    back = family_hopper(  # IPv4 at home abroad, the same IPv6 again: no new network
        "back",
        moves=[(100.0, "2600:4045:9112:767::5", 701, "US"), (150.0, "176.2.7.4", 6805, "DE")],
    )
    phone = family_hopper("phone", ua=IPHONE_UA, ja4=SAFARI_JA4)  # a roaming SIM
    handover = family_hopper("handover", move_gap=5.0)  # a reconnect costs seconds
    final = run(merge(dual, phone, handover))
    for sid in ("dual", "phone", "handover"):
        d = final[sid]
        assert "seamless_network_change" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)
    detector = Detector(Policy())
    for event in merge(back):
        detector.process(event)
    assert len(detector.sessions["back"].border_gaps) == 1  # the return is not another crossing


# --- seamless_network_change without the rapid condition, for desktop browsers ---------------------


def slow_rotator(sid: str, **kw) -> Viewer:
    # A sticky residential-proxy session whose exit moves to another US ISP every six minutes,
    # each time between two requests of the fetch rhythm.
    base = dict(
        ip=f"71.{sum(map(ord, sid)) % 250}.3.4",
        asn=701,
        duration=1200.0,
        moves=[
            (200.0, "98.10.20.30", 7922, "US"),
            (560.0, "24.50.60.70", 20115, "US"),
            (920.0, "68.1.2.3", 22773, "US"),
        ],
    )
    base.update(kw)
    return Viewer(sid, **base)


def test_a_desktop_changing_operator_seamlessly_minutes_apart_is_strong() -> None:
    d = run(merge(slow_rotator("rot")))["rot"]
    assert "seamless_network_change" in d.reasons, d.reasons
    assert d.action != "count", (d.score, d.reasons)


def test_tor_phones_and_handovers_changing_minutes_apart_are_not() -> None:
    final = run(
        merge(
            slow_rotator("tor", ua=FIREFOX_UA, ja4=FIREFOX_JA4),  # a new circuit now and then
            slow_rotator("phone", ua=IPHONE_UA, ja4=SAFARI_JA4),  # Wi-Fi, cellular, Wi-Fi
            slow_rotator("handover", move_gap=5.0),  # each change costs a reconnect
        )
    )
    for sid in ("tor", "phone", "handover"):
        d = final[sid]
        assert d.action == "count", (sid, d.score, d.reasons)
