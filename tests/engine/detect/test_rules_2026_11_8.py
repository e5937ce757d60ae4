"""Rules 2026.11.8: ``subnet_automation_detected``. A challenge that reports automation is a
verdict about a client; a /24 of one-session IPv4 desktop addresses that is a tenth of a
channel's audience (``subnet_crowd``) and holds such a client is one operator's block, so its
members that were never challenged are judged by it. The bot built by hand, and the people who
share the trait it reads: neighbours who merely let a challenge time out, an office NAT, phones
behind a carrier NAT, a member who passed, a block that is no crowd."""

from __future__ import annotations

from detect_builders import IPHONE_UA, T0, Viewer, finals, one_per_network

from engine.detect.channel import observe_context, register_failure
from engine.detect.signals import challenge
from engine.detect.signals.base import Facts
from engine.detect.state import new_channel, new_session

CODE = "subnet_automation_detected"


def audience(n: int = 40) -> list[Viewer]:
    return one_per_network(n)  # a small channel's audience


def block(n: int = 6, error: str = "automation_detected", prefix: str = "180.4.78", **kw):
    # Six sticky ISP-proxy addresses of one /24, one browser each (under proxy_pool's seven);
    # two are challenged and fail, the rest are never asked.
    out = [
        Viewer(
            f"blk-{i}",
            start=T0 + 5.0 + i * 20.0,
            duration=300.0,
            ip=f"{prefix}.{20 + i * 7}",
            asn=4713,
            country="JP",
            challenge_error=error,
            **kw,
        )
        for i in range(n)
    ]
    out[0].challenges = [(40.0, False)]
    out[1].challenges = [(45.0, False)]
    return out


def test_unchallenged_members_of_a_block_caught_automating_are_suppressed() -> None:
    blk = block()
    final = finals(blk, audience())
    for v in blk[2:]:
        d = final[v.session_id]
        assert CODE in d.reasons, (v.session_id, d.reasons)
        assert "subnet_crowd" in d.reasons, d.reasons
        assert d.action != "count", (v.session_id, d.score, d.reasons)
        assert d.features["subnet_automation_failures"] >= 1.0
    for v in blk[:2]:  # the ones caught themselves: challenge_failed (automation) is strong
        assert final[v.session_id].action != "count"


def test_neighbours_who_let_a_challenge_time_out_are_not_read() -> None:
    # People walk away from a captcha; that says nothing about the person next door.
    blk = block(error="timeout")
    final = finals(blk, audience())
    for v in blk[2:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, d.reasons
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_a_member_who_passed_a_challenge_counts() -> None:
    blk = block()
    blk[3].challenges = [(60.0, True)]
    d = finals(blk, audience())[blk[3].session_id]
    assert CODE not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_an_office_nat_with_one_automating_colleague_is_not_read() -> None:
    # Ten people behind one office address; one runs a scripted browser and is caught. The
    # /24 is no crowd of one-session addresses, so the colleagues are not judged by it.
    office = [
        Viewer(
            f"of-{i}",
            ip="64.20.1.5",
            asn=7922,
            start=T0 + i * 2.0,
            challenge_error="automation_detected",
        )
        for i in range(10)
    ]
    office[0].challenges = [(40.0, False)]
    office[1].challenges = [(42.0, False)]
    final = finals(office, audience())
    for v in office[2:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, d.reasons
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_phones_behind_a_carrier_nat_are_not_read() -> None:
    # A carrier NAT pool spreads phones over its addresses, one each at times: never read.
    phones = block(prefix="100.64.3", ua=IPHONE_UA)
    final = finals(phones, audience())
    for v in phones[2:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, d.reasons
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_a_block_that_is_no_crowd_is_not_read() -> None:
    # The same six addresses on a big channel are no tenth of its audience: concentration is
    # what makes the block one operator's, so without it the verdicts stay with their owners.
    blk = block()
    final = finals(blk, audience(120))
    for v in blk[2:]:
        d = final[v.session_id]
        assert CODE not in d.reasons, d.reasons
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def test_subnet_automation_edge() -> None:
    s = new_session("s", "ch", T0)
    f = Facts(span=100.0, cdn_span=100.0, segment_s=2.0, segment_known=True)
    found: list[str] = []
    for crowd, auto, passed, fires in (
        (True, 1, 0, True),
        (True, 0, 0, False),
        (False, 3, 0, False),
        (True, 2, 1, False),
    ):
        found.clear()
        f.own_address_crowd, s.subnet_automation, s.challenge_passed = crowd, auto, passed
        challenge.collect(s, f, lambda item: found.append(item[1]))
        assert (CODE in found) is fires, (crowd, auto, passed, found)


def test_a_pass_withdraws_the_automation_verdict_from_the_block() -> None:
    # A session whose automation failure is followed by a pass showed a person after all.
    blk = block()
    blk[0].challenges = [(40.0, False), (80.0, True)]
    blk[1].challenges = []
    final = finals(blk, audience())
    for v in blk[2:]:
        d = final[v.session_id]
        assert d.features["subnet_automation_failures"] == 0.0, d.features
        assert CODE not in d.reasons, d.reasons


def test_failure_entries_written_by_earlier_rules_are_read_and_extended() -> None:
    # A worker's channel table written by 2026.11.7 holds [sessions, last failure] per /24.
    c = new_channel("ch", T0)
    c.failures["s:73.40.12.0/24"] = [2.0, T0 + 10.0]
    reader = new_session("r", "ch", T0)
    reader.reg_subnet = "s:73.40.12.0/24"
    observe_context(c, reader)
    assert (reader.subnet_failures, reader.subnet_automation) == (2, 0)
    s = new_session("s", "ch", T0)
    s.reg_subnet, s.challenge_failed, s.challenge_automation = "s:73.40.12.0/24", 1, 1
    register_failure(c, s, T0 + 30.0)
    assert c.failures["s:73.40.12.0/24"] == [3.0, T0 + 30.0, 1.0]
