"""Rules 2026.11.4: how a channel's viewers arrived (arrival_cluster, join_trickle as context) and
moves to another block of the same operator (seamless_address_change). Each rule on bots built
by hand, and the crowds that share the trait it reads: campuses, IPv6 networks, raids, and a
channel whose audience always came from one network."""

from __future__ import annotations

from detect_builders import IPHONE_UA, PROXY_JA4, SAFARI_JA4, T0, Viewer, merge, run

from engine.detect.state import (
    decode_channel_state,
    encode_state,
    new_channel,
)

LOW = dict(rendition="160p30", segment_bytes=80_000)  # the ladder's lowest rung, fetched fast


def audience(n: int = 6) -> list[Viewer]:
    # The channel's usual viewers: arrived earlier, from as many networks as people.
    return [
        Viewer(
            f"aud-{i}", start=T0 - 400.0 + i * 40.0, duration=1300.0, ip=f"86.{i}.9.9", asn=3000 + i
        )
        for i in range(n)
    ]


def drip(n: int = 16, every: float = 8.0, **kw) -> list[Viewer]:
    # One scheduler feeding the channel a viewer every ~8 s, alternating between two operators,
    # each new viewer on its own address, four or so per /24.
    out = []
    for i in range(n):
        asn = (64500, 64511)[i % 2]
        block = i % 4
        base = dict(
            ip=f"45.{asn % 100}.{block}.{10 + i}",
            asn=asn,
            start=T0 + i * every + (i % 3) * 0.9,
            duration=600.0,
        )
        base.update(kw)
        out.append(Viewer(f"drip-{i}", **base))
    return out


# --- arrival_cluster ------------------------------------------------------------------------------


def test_a_drip_of_fresh_addresses_from_two_operators_is_an_arrival_cluster() -> None:
    # Since 2026.11.13 the merged beat of the two operators (``network_beat``) corroborates the
    # cluster: one scheduler alternating between two networks is suppressed; before, the
    # cluster (medium, never alone) left it counted. (The last join has no gap after it to
    # show that it kept the beat.)
    final = run(merge(*drip(), *audience()))
    for v in drip()[8:-1]:
        d = final[v.session_id]
        assert {"arrival_cluster", "network_beat"} <= set(d.reasons), (v.session_id, d.reasons)
        assert d.action != "count", (d.score, d.reasons)
    assert all(final[v.session_id].action == "count" for v in audience())


def test_an_arrival_cluster_with_a_behavioural_medium_is_flagged() -> None:
    final = run(merge(*drip(**LOW), *audience()))
    for v in drip()[8:]:
        d = final[v.session_id]
        assert {"arrival_cluster", "abr_stuck_lowest"} <= set(d.reasons), d.reasons
        assert d.action != "count", (d.score, d.reasons)


def test_a_viewer_of_the_same_isp_arriving_during_a_drip_is_no_part_of_it() -> None:
    bystander = Viewer("home", ip="45.0.77.7", asn=64500, start=T0 + 70.0, duration=600.0)
    final = run(merge(*drip(), bystander, *audience()))
    assert "arrival_cluster" in final["drip-12"].reasons
    assert "arrival_cluster" not in final["home"].reasons


def test_campus_behind_a_few_nat_addresses_is_no_cluster() -> None:
    # Twenty students from four addresses of one /24 at a steady beat, between classes.
    campus = [
        Viewer(f"cam-{i}", ip=f"156.56.74.{10 + i % 4}", asn=87, start=T0 + i * 7.0, duration=600.0)
        for i in range(20)
    ]
    final = run(merge(*campus, *audience()))
    for v in campus:
        assert "arrival_cluster" not in final[v.session_id].reasons
        assert final[v.session_id].action == "count"


def test_campus_behind_a_tls_inspecting_proxy_with_a_steady_arrival_beat_is_counted() -> None:
    # join_trickle (a network's arrival cadence) is context since 2026.11.4: with another
    # context medium (a TLS stack rewritten by the campus proxy) it never suppresses.
    campus = [
        Viewer(
            f"cam-{i}",
            ip=f"156.56.74.{10 + i % 5}",
            asn=87,
            ja4=PROXY_JA4,
            start=T0 + i * 12.0 + (i % 3) * 1.5,
            duration=700.0,
        )
        for i in range(26)
    ]
    final = run(merge(*campus, *audience()))
    late = [final[v.session_id] for v in campus[16:]]
    assert any("join_trickle" in d.reasons for d in late)
    assert all(d.action == "count" for d in late), [(d.score, d.reasons) for d in late]


def test_ipv6_devices_of_one_network_are_no_cluster() -> None:
    # IPv6 gives every device its own address: a campus /48 arriving at a steady beat.
    v6 = [
        Viewer(
            f"v6-{i}",
            ip=f"2001:18e8:5d08:{i:x}::{i + 1:x}",
            asn=87,
            start=T0 + i * 7.0,
            duration=600.0,
        )
        for i in range(16)
    ]
    final = run(merge(*v6, *audience()))
    assert all("arrival_cluster" not in final[v.session_id].reasons for v in v6)


def test_a_raid_arriving_within_seconds_is_no_cluster() -> None:
    raid = [
        Viewer(
            f"raid-{i}", ip=f"45.77.{i % 3}.{10 + i}", asn=7922, start=T0 + i * 0.8, duration=600.0
        )
        for i in range(24)
    ]
    final = run(merge(*raid, *audience()))
    assert all("arrival_cluster" not in final[v.session_id].reasons for v in raid)


def test_a_channel_whose_audience_always_came_from_that_network_is_no_cluster() -> None:
    # The channel's regulars are from the same two operators: the drip is its usual mix.
    usual = [
        Viewer(
            f"reg-{i}",
            ip=f"45.{(0, 11)[i % 2]}.9.{10 + i}",
            asn=(64500, 64511)[i % 2],
            start=T0 - 280.0 - i * 20.0,
            duration=1300.0,
        )
        for i in range(12)
    ]
    final = run(merge(*drip(), *usual))
    assert all("arrival_cluster" not in final[v.session_id].reasons for v in drip())


def test_channel_state_with_recent_joins_round_trips() -> None:
    c = new_channel("ch-1", T0)
    c.recent_joins.append((T0, 64500, "s:45.0.1.0/24", True))
    back = decode_channel_state(encode_state(c))
    assert back.recent_joins == [(T0, 64500, "s:45.0.1.0/24", True)]


# --- seamless_address_change ----------------------------------------------------------------------


def mover(i: int, **kw) -> Viewer:
    # A residential proxy's sticky session rotating its exit inside one ISP: another /24, the
    # same operator, and the fetch rhythm does not miss a beat.
    base = dict(
        ip=f"73.{i}.3.4",
        asn=7922,
        start=T0 + i * 7.0,
        duration=500.0,
        moves=[(200.0 + 20 * i, f"73.{i}.{90 + i}.6", 7922, "US")],
    )
    base.update(kw)
    return Viewer(f"mov-{i}", **base)


def test_one_seamless_move_within_the_operator_is_medium() -> None:
    d = run(merge(mover(0), *audience()))["mov-0"]
    assert "seamless_address_change" in d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_a_cohort_of_seamless_moves_is_flagged() -> None:
    final = run(merge(*(mover(i) for i in range(4)), *audience()))
    for i in range(4):
        d = final[f"mov-{i}"]
        assert {"seamless_address_change", "seamless_change_cohort"} <= set(d.reasons)
        assert d.action != "count", (d.score, d.reasons)


def test_new_leases_phones_and_moves_within_one_block_are_not_seamless_moves() -> None:
    final = run(
        merge(
            # a new lease or NAT mapping: a reconnect costs seconds
            *(mover(i, move_gap=4.0) for i in range(3)),
            # phones behind carrier NAT
            *(mover(10 + i, ua=IPHONE_UA, ja4=SAFARI_JA4) for i in range(3)),
            # another address of the same /24 (a NAT pool)
            *(mover(20 + i, moves=[(200.0, f"73.{20 + i}.3.9", 7922, "US")]) for i in range(3)),
            *audience(),
        )
    )
    for sid in [f"mov-{i}" for i in (0, 1, 2, 10, 11, 12, 20, 21, 22)]:
        d = final[sid]
        assert "seamless_address_change" not in d.reasons, (sid, d.reasons)
        assert "seamless_change_cohort" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


# --- browser_timer_exact in a data centre -----------------------------------------------------


def test_an_exact_browser_timer_in_a_hosting_network_is_strong() -> None:
    # 16509 (Amazon) is a hosting ASN: a driven Chrome in a cloud VM. Its timer spreads about
    # 1.4 ms (uniform +-2.5 ms): exact for a browser in a data centre (2026.11.5: under 2 ms).
    exact = dict(heartbeat_s=30.0, heartbeat_jitter=0.0025, duration=420.0)
    final = run(
        merge(
            Viewer("cloud", ip="3.80.1.2", asn=16509, **exact),
            # a timer exact to the millisecond (not to the quarter) at home: medium, never alone
            Viewer("home", heartbeat_s=30.0, heartbeat_jitter=0.0012, duration=420.0),
            Viewer("vpn", ip="3.80.7.7", asn=16509, duration=420.0, heartbeat_s=30.0),
            *audience(),
        )
    )
    assert "browser_timer_exact" in final["cloud"].reasons
    assert final["cloud"].action != "count", (final["cloud"].score, final["cloud"].reasons)
    assert final["home"].action == "count", (final["home"].score, final["home"].reasons)
    assert "browser_timer_exact" not in final["vpn"].reasons  # a VPN user's browser jitters
    assert final["vpn"].action == "count"
