"""Rules 2026.11.9: ``subnet_challenges_failed`` (a block of one-session IPv4 addresses whose
other members failed challenges judges its members that were never challenged, and keeps the
ones that passed from being counted when a failure there was an automation verdict), a wider
``challenge_failed_subnet`` for a session that failed itself next to such a block's failures,
and ``hosting_tls_crowd`` (a browser user agent over a library TLS stack from a rented /24 that
holds five more viewers of the channel). Each rule on a bot built by hand, and the people who
share the trait it reads: campus students with public addresses who let challenges time out,
an office NAT, phones behind a carrier NAT, households spread over an ISP, IPv6 homes, VPN users
in hosting networks, offices behind a TLS-inspecting proxy, a person who failed once."""

from __future__ import annotations

from detect_builders import (
    IPHONE_UA,
    PROXY_JA4,
    PYTHON_JA4,
    T0,
    Viewer,
    finals,
    one_per_network,
)

from engine.detect.channel import observe_context, register_failure
from engine.detect.signals import challenge, context
from engine.detect.signals.base import Facts
from engine.detect.state import decode_channel_state, encode_state, new_channel, new_session

CODE = "subnet_challenges_failed"


def audience(n: int = 120) -> list[Viewer]:
    # A big channel's audience, one viewer per network: no block of a few addresses is a tenth
    # of it (so ``subnet_crowd``, ``proxy_pool`` and ``subnet_automation_detected`` stay quiet).
    return one_per_network(n)


def block(n: int, prefix: str = "180.4.78", asn: int = 4713, tag: str = "blk", **kw):
    # Sticky ISP-proxy addresses of one /24 in a residential network, one browser each.
    return [
        Viewer(
            f"{tag}-{i}",
            start=T0 + 5.0 + i * 15.0,
            duration=330.0,
            ip=f"{prefix}.{20 + i * 7}",
            asn=asn,
            country="JP",
            **kw,
        )
        for i in range(n)
    ]


def fail(v: Viewer, at: float, error: str = "timeout") -> None:
    v.challenges = [(at, False)]
    v.challenge_error = error


# --- subnet_challenges_failed ---------------------------------------------------------------------


def test_unchallenged_and_passing_members_of_a_failing_block_are_suppressed() -> None:
    # Five addresses of one /24 on a big channel (no crowd): three fail, one told "automation",
    # one passes (a solving service), one is never asked.
    blk = block(5)
    fail(blk[0], 40.0, "automation_detected")
    fail(blk[1], 45.0)
    fail(blk[2], 50.0, "invalid_solution")
    blk[3].challenges = [(60.0, True)]
    final = finals(blk, audience())
    unasked, passer = final["blk-4"], final["blk-3"]
    assert CODE in unasked.reasons, unasked.reasons
    assert unasked.action == "suppress", (unasked.score, unasked.reasons)
    assert unasked.features["subnet_challenge_failures"] == 3.0
    # The pass spares it a challenge, not the block's verdict: suppressed, no user impact.
    assert CODE in passer.reasons, passer.reasons
    assert passer.action == "suppress", (passer.score, passer.reasons)
    for v in blk[:3]:
        assert final[v.session_id].action in ("challenge", "block"), final[v.session_id]


def test_a_pool_sized_block_with_two_plain_failures_is_read() -> None:
    # Seven addresses or more of one /24 at once, one browser each, two failures and no pass:
    # a proxy pool's size without its standing against the ISP or the audience.
    blk = block(8)
    fail(blk[0], 200.0)
    fail(blk[1], 190.0)
    final = finals(blk, audience())
    for v in blk[2:]:
        d = final[v.session_id]
        assert CODE in d.reasons, (v.session_id, d.reasons)
        # (their steady arrival is an ``arrival_cluster`` too, so some are challenged)
        assert d.action != "count", (v.session_id, d.score, d.reasons)


def test_a_small_block_whose_failures_were_no_verdict_is_not_read() -> None:
    # Six one-session addresses (under a pool's size) where three people let a challenge time
    # out: timeouts say nothing about the household next door.
    blk = block(6)
    for i in range(3):
        fail(blk[i], 40.0 + i)
    final = finals(blk, audience())
    for v in blk[3:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_campus_students_with_public_addresses_who_mostly_pass_are_not_read() -> None:
    # A campus that hands every desktop a public IPv4 address: eight students of one /24 watch
    # the same stream; two background tabs let a challenge time out, three pass. People pass
    # most challenges, so failures that do not outnumber the passes are not a block's.
    campus = block(8, prefix="129.10.5", asn=156, tag="stu")
    fail(campus[0], 200.0)
    fail(campus[1], 190.0)
    for i in (2, 3, 4):
        campus[i].challenges = [(120.0 + i, True)]
    final = finals(campus, audience())
    for v in campus[2:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_a_pass_next_to_plain_failures_keeps_its_relief() -> None:
    # The floor needs an automation verdict among the failures: a student who passed beside
    # classmates whose tabs timed out in a pool-sized block is counted.
    campus = block(8, prefix="129.10.5", asn=156, tag="stu")
    for i in range(3):
        fail(campus[i], 150.0 + i)
    campus[3].challenges = [(60.0, True)]
    d = finals(campus, audience())["stu-3"]
    assert d.action == "count", (d.score, d.reasons)


def test_nat_phones_households_and_ipv6_homes_beside_failures_are_not_read() -> None:
    # An office behind one address where three colleagues failed (one told "automation");
    # phones of a carrier NAT pool, one address each at times; households of one ISP spread
    # over its /24s; IPv6 homes of one /48. None is a block of one-session IPv4 addresses.
    office = [Viewer(f"of-{i}", ip="64.20.1.5", asn=7922, start=T0 + i * 2.0) for i in range(8)]
    phones = block(6, prefix="100.64.3", asn=21928, tag="ph", ua=IPHONE_UA)
    homes = [Viewer(f"home-{i}", ip=f"99.{i}.18.7", asn=7018, start=T0 + i * 3.0) for i in range(6)]
    v6 = [
        Viewer(f"v6-{i}", ip=f"2600:1700:5:{i:x}::9", asn=7018, start=T0 + i * 3.0)
        for i in range(6)
    ]
    for group in (office, phones, homes, v6):
        fail(group[0], 40.0, "automation_detected")
        fail(group[1], 42.0)
        fail(group[2], 44.0)
    final = finals(office, phones, homes, v6, audience())
    for v in (*office[3:], *phones[3:], *homes[3:], *v6[3:]):
        d = final[v.session_id]
        assert CODE not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_vpn_users_of_one_hosting_subnet_beside_failures_are_not_read() -> None:
    # A VPN that gives its users addresses of one rented /24: hosting networks are judged by
    # the hosting rules, not by their neighbours' challenges.
    vpn = block(6, prefix="185.65.134", asn=9009, tag="vpn")
    fail(vpn[0], 40.0, "automation_detected")
    fail(vpn[1], 42.0)
    fail(vpn[2], 44.0)
    final = finals(vpn, audience())
    for v in vpn[3:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_subnet_challenges_failed_edge() -> None:
    s = new_session("s", "ch", T0)
    f = Facts(span=100.0, cdn_span=100.0, segment_s=2.0, segment_known=True)
    found: list[str] = []
    # own address, others failed, of them automation, others passed, addresses, passed: fires
    for own, failed, auto, passes, addresses, passed, fires in (
        (True, 3, 1, 0, 4, 0, True),
        (True, 3, 0, 0, 4, 0, False),  # no verdict, not a pool's size
        (True, 2, 2, 0, 4, 0, False),  # two failures of a small block
        (True, 2, 0, 0, 6, 0, True),  # a pool's size (seven addresses)
        (True, 2, 0, 2, 6, 0, False),  # passes keep up with failures
        (True, 3, 1, 3, 4, 0, False),
        (False, 5, 5, 0, 6, 0, False),  # a NAT, a phone, IPv6, hosting
        (True, 3, 1, 0, 4, 1, True),  # a passer is read (and floored at suppress)
    ):
        found.clear()
        f.own_address, f.pool, f.block_floor = own, False, False
        s.subnet_failures, s.subnet_automation, s.subnet_passes = failed, auto, passes
        s.subnet_addresses, s.challenge_passed = addresses, passed
        challenge.collect(s, f, lambda item: found.append(item[1]))
        assert (CODE in found) is fires, (own, failed, auto, passes, addresses, passed, found)
        assert f.block_floor is (fires and passed > 0)
    # A session that failed itself is judged by challenge_failed, not by this code.
    s.challenge_passed, s.challenge_failed = 0, 1
    s.subnet_failures, s.subnet_automation, s.subnet_passes, s.subnet_addresses = 3, 1, 0, 4
    found.clear()
    f.own_address = True
    challenge.collect(s, f, lambda item: found.append(item[1]))
    assert CODE not in found and "challenge_failed_subnet" in found, found


# --- challenge_failed_subnet, one neighbour ------------------------------------------------------


def test_a_failure_next_to_a_neighbours_automation_verdict_is_challenged() -> None:
    # Two addresses of one /24: one told "automation", the other lets it time out.
    pair = block(2)
    fail(pair[0], 40.0, "automation_detected")
    fail(pair[1], 60.0)
    d = finals(pair, audience())["blk-1"]
    assert "challenge_failed_subnet" in d.reasons, d.reasons
    assert d.action == "challenge", (d.score, d.reasons)


def test_a_person_who_failed_once_beside_a_plain_failure_is_not_read() -> None:
    # A person lets a challenge time out in a background tab; a neighbour of the /24 did the
    # same: two timeouts in a small block are two people, and one failure alone is medium.
    homes = block(4, prefix="73.40.12", asn=7922, tag="h")
    fail(homes[0], 40.0)
    fail(homes[1], 60.0)
    # ... and an office colleague on the same address as a client told "automation".
    office = [Viewer(f"of-{i}", ip="64.20.1.5", asn=7922, start=T0 + i * 2.0) for i in range(2)]
    fail(office[0], 40.0, "automation_detected")
    fail(office[1], 60.0)
    final = finals(homes, office, audience())
    for sid in ("h-0", "h-1", "of-1"):
        d = final[sid]
        assert "challenge_failed_subnet" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


# --- the block's record: passes counted, stale counts dropped ------------------------------------


def test_passes_are_counted_once_per_session_and_extend_older_entries() -> None:
    c = new_channel("ch", T0)
    c.failures["s:73.40.12.0/24"] = [2.0, T0 + 10.0]  # written by 2026.11.7
    s = new_session("s", "ch", T0)
    s.reg_subnet, s.challenge_passed = "s:73.40.12.0/24", 1
    register_failure(c, s, T0 + 30.0)
    register_failure(c, s, T0 + 40.0)  # once per session
    assert c.failures["s:73.40.12.0/24"] == [2.0, T0 + 10.0, 0.0, 1.0]
    other = new_session("o", "ch", T0)
    other.reg_subnet, other.challenge_passed = "s:73.41.0.0/24", 1
    register_failure(c, other, T0 + 50.0)  # a pass where nobody failed opens the record
    assert decode_channel_state(encode_state(c)).failures["s:73.41.0.0/24"] == [
        0.0,
        T0 + 50.0,
        0.0,
        1.0,
    ]
    reader = new_session("r", "ch", T0)
    reader.reg_subnet = "s:73.40.12.0/24"
    observe_context(c, reader)
    assert (reader.subnet_failures, reader.subnet_passes) == (2, 1)
    observe_context(c, s)
    assert s.subnet_passes == 0  # its own pass is not its neighbours'


def test_counts_drop_when_the_channels_last_failure_entry_expires() -> None:
    # Until 2026.11.9 a session kept the failures it last read once the channel held no entry.
    c = new_channel("ch", T0)
    c.failures["s:73.40.12.0/24"] = [3.0, T0, 1.0]
    s = new_session("s", "ch", T0)
    s.reg_subnet = "s:73.40.12.0/24"
    observe_context(c, s)
    assert (s.subnet_failures, s.subnet_automation) == (3, 1)
    c.failures.clear()
    observe_context(c, s)
    assert (s.subnet_failures, s.subnet_automation, s.subnet_passes) == (0, 0, 0)


# --- hosting_tls_crowd ----------------------------------------------------------------------------


def farm(prefix: str = "88.198.10", asn: int = 24940, ja4: str = PYTHON_JA4, tag: str = "farm"):
    # Eight "Chrome" viewers on two addresses of one rented /24, over a Python TLS stack.
    return [
        Viewer(
            f"{tag}-{i}",
            start=T0 + i * 6.0,
            duration=400.0,
            ip=f"{prefix}.{72 + 42 * (i % 2)}",
            asn=asn,
            country="DE",
            ja4=ja4,
        )
        for i in range(8)
    ]


def test_a_library_tls_farm_in_a_rented_subnet_is_suppressed() -> None:
    bots = farm()
    final = finals(bots, audience(40))
    for v in bots:
        d = final[v.session_id]
        assert {"hosting_tls_crowd", "tls_ua_mismatch"} <= set(d.reasons), d.reasons
        assert d.action != "count", (v.session_id, d.score, d.reasons)


def test_vpn_users_and_proxied_offices_are_not_a_tls_crowd() -> None:
    # VPN users of one exit range keep their browsers' own TLS; an office's TLS-inspecting proxy
    # sits in the office's (business) network; a lone VPN user whose fingerprint mismatches is
    # no crowd.
    vpn = farm(prefix="185.65.134", asn=9009, ja4="t13d1516h2_8daaf6152771_02713d6af862", tag="v")
    office = farm(prefix="64.20.1", asn=7922, ja4=PROXY_JA4, tag="of")
    lone = [Viewer("lone", ip="185.65.200.7", asn=9009, ja4=PYTHON_JA4)]
    final = finals(vpn, office, lone, audience(40))
    for v in (*vpn, *office, *lone):
        d = final[v.session_id]
        assert "hosting_tls_crowd" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_hosting_tls_crowd_edge() -> None:
    s = new_session("s", "ch", T0)
    s.cdn_n = s.hosting_n = 100
    found: list[str] = []
    for share, peers, fires in ((1.0, 5, True), (1.0, 4, False), (0.4, 9, False)):
        f = Facts(span=100.0, cdn_span=100.0, segment_s=2.0, segment_known=True)
        f.mismatch_share = share
        s.peers_subnet = peers
        found.clear()
        context.collect(s, f, lambda item: found.append(item[1]))
        assert ("hosting_tls_crowd" in found) is fires, (share, peers, found)
