"""Address churn (2026.11.23): a residential proxy pool sold with ISP targeting gives every
connection a new exit of one operator, so the session walks through block after block of it
between two requests, next to the people whose address changes within their ISP too: a lease
renewal, a carrier NAT that picks from its pool, a reconnect."""

from __future__ import annotations

from detect_builders import IPHONE_UA, SAFARI_JA4, Viewer, final_with_audience

from engine.detect.signals.churn import CHURN_HOPS, churn_hops
from engine.detect.state import SessionState

COMCAST = 7922  # a consumer ISP, not a listed carrier

# Eighteen exits of Comcast, each in a new /24 spread over its three prefixes, 20 s apart.
WALK = [
    (20.0 * (i + 1), f"{(73, 98, 24)[i % 3]}.{(10, 200, 5)[i % 3] + i}.{i}.{i + 1}", COMCAST, "US")
    for i in range(18)
]

final_of = final_with_audience


def walker(sid: str, moves=WALK, **kw) -> Viewer:
    base = dict(ip="73.12.34.56", asn=COMCAST, duration=480.0, muted=True)
    base.update(kw)
    return Viewer(sid, moves=moves, **base)


def test_a_desktop_walking_through_an_isps_blocks_is_suppressed() -> None:
    d = final_of(walker("walk"))["walk"]
    assert "address_churn" in d.reasons, (d.reasons, d.features)
    assert d.action != "count", (d.score, d.reasons)


def test_a_phone_walking_through_an_isps_blocks_is_suppressed() -> None:
    # Phones are read too: ``isp_rotation`` leaves them, this walk no NAT pool makes.
    d = final_of(walker("phone", ua=IPHONE_UA, ja4=SAFARI_JA4, viewport=(390, 844)))["phone"]
    assert "address_churn" in d.reasons, (d.reasons, d.features)
    assert d.action != "count", (d.score, d.reasons)


def test_a_walk_with_reconnects_is_not_read() -> None:
    # Every move costs seconds without a request: a new lease, a new association.
    d = final_of(walker("gaps", move_gap=6.0))["gaps"]
    assert "address_churn" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_a_carrier_nat_pool_is_not_read() -> None:
    # A carrier the mobile list does not know, its NAT choosing from a few addresses per
    # connection: back to blocks and addresses the session had.
    pool = ("73.10.1.1", "98.200.3.3", "24.5.4.4")
    moves = [(40.0 * (i + 1), pool[i % 3], COMCAST, "US") for i in range(10)]
    d = final_of(walker("nat", moves, ua=IPHONE_UA, ja4=SAFARI_JA4))["nat"]
    assert "address_churn" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_moves_within_a_few_networks_are_not_read() -> None:
    # Eighteen new blocks, all within three /16s: a NAT pool's range.
    moves = [(20.0 * (i + 1), f"73.{12 + i % 3}.{i}.9", COMCAST, "US") for i in range(18)]
    d = final_of(walker("near", moves))["near"]
    assert d.features["isp_moves"] >= 5, d.features  # the moves themselves are recorded
    assert "address_churn" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_a_few_moves_are_not_read() -> None:
    # Six addresses in six /16s, as the isp-nat trap of ``test_rules_rotation``.
    d = final_of(walker("few", WALK[:5]))["few"]
    assert "address_churn" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_churn_hops_edges() -> None:
    s = SessionState(session_id="x", channel_id="c", first_ts=0.0, last_ts=0.0)
    s.isp_hop_gaps = [2.0] * CHURN_HOPS
    s.move_gaps = [2.0] * CHURN_HOPS
    assert churn_hops(s, 2.0) == CHURN_HOPS
    s.move_gaps.append(2.0)  # one move went back to a block the session used
    assert churn_hops(s, 2.0) == 0
    s.move_gaps.pop()
    s.isp_hop_gaps[2] = 99.0  # a stall came near one move: the fetch rhythm noticed
    assert churn_hops(s, 2.0) == 0
    s.isp_hop_gaps[2] = 2.0
    s.ip_returns = 1
    assert churn_hops(s, 2.0) == 0
