"""Rules of session 8 (2026.11.14), each next to the people it resembles.

* ``drip_beat``: a slow drip of one browser build whose build-wide cadence a raid of people of
  the same build broke (``client_trickle`` no longer reads it) still shows its beat when read
  robustly (``engine.detect.dripbeat``); the raid's people, people of the build arriving at
  random and a person of the build joining between two of the drip's viewers are not read,
  and the signal alone (medium) never acts.
"""

from __future__ import annotations

from detect_builders import (
    CHROME_JA4,
    DRIP_UA,
    IPHONE_UA,
    OTHER_UAS,
    SAFARI_JA4,
    T0,
    Viewer,
    assert_counted,
    beat_times,
    finals,
    poisson_times,
)
from test_rules_drip import DRIP_UA as DRIP_UA2
from test_rules_drip import people, running_drip

from engine.detect.dripbeat import beat_around, stream_beat

# ---- the robust beat itself (pure)


def test_a_jittered_beat_is_read_and_random_arrivals_are_not() -> None:
    beat = beat_times(30, 20.0, 0.5, 7, 1000.0)
    gaps, dispersion = beat_around(beat, beat[15])
    assert gaps == 29 and dispersion < 0.7
    for seed in range(20):
        people = poisson_times(30, 20.0, seed, 1000.0)
        for t in people:
            assert beat_around(people, t) == (0, 9.0), (seed, t)


def test_people_among_the_beat_do_not_hide_it_and_are_not_on_it() -> None:
    beat = beat_times(30, 20.0, 0.3, 3, 1000.0)
    raid = [beat[12] + 7.0 + 0.8 * i for i in range(6)]  # six people within five seconds
    walk_ins = [beat[5] + 9.0, beat[20] + 6.0, beat[24] + 11.0]
    joins = sorted(beat + raid + walk_ins)
    read = [t for t in beat if beat_around(joins, t)[0]]
    assert len(read) >= 20
    for t in raid + walk_ins:
        assert beat_around(joins, t) == (0, 9.0), t


def test_a_builds_joins_as_a_whole_keep_the_beat_for_viewers_already_watching() -> None:
    # (crowd) what a session whose join was not seen reads: its build's joins seen since
    beat = beat_times(30, 20.0, 0.4, 5, 1000.0)
    walk_ins = [beat[3] + 8.0, beat[17] + 12.0]
    gaps, dispersion = stream_beat(sorted(beat + walk_ins))
    assert gaps >= 16 and dispersion < 0.7
    for seed in range(30):
        assert stream_beat(poisson_times(40, 20.0, seed, 1000.0)) == (0, 9.0), seed


def test_too_few_joins_are_not_read() -> None:
    beat = beat_times(10, 20.0, 0.2, 3, 1000.0)
    assert all(beat_around(beat, t) == (0, 9.0) for t in beat)


# ---- through the detector


def audience(n: int = 24, seed: int = 5) -> list[Viewer]:
    """People arriving at random, each from its own network, of assorted builds."""
    return [
        Viewer(
            f"aud-{i}", start=t, duration=900.0, ip=f"24.{i}.1.1", asn=7000 + i, ua=OTHER_UAS[i % 5]
        )
        for i, t in enumerate(poisson_times(n, 25.0, seed, T0))
    ]


def drip(n: int = 26, gap: float = 20.0, jitter: float = 0.3, seed: int = 3) -> list[Viewer]:
    return [
        Viewer(
            f"drip-{i}",
            start=t,
            duration=1300.0 - (t - T0),
            ip=f"{80 + i % 40}.{i}.7.{10 + i}",
            asn=64600 + i,
            ua=DRIP_UA,
        )
        for i, t in enumerate(beat_times(n, gap, jitter, seed, T0 + 70.0))
    ]


def same_build_raid(at: float, n: int = 10) -> list[Viewer]:
    return [
        Viewer(
            f"raid-{i}",
            start=at + 0.8 * i,
            duration=600.0,
            ip=f"98.{i}.2.2",
            asn=30000 + i,
            ua=DRIP_UA,
            viewport=(1536 + 16 * i, 800),
        )
        for i in range(n)
    ]


def test_a_drip_whose_build_beat_a_raid_broke_keeps_its_drip_beat() -> None:
    bots = drip()
    people = same_build_raid(bots[6].start + 8.0)
    final = finals(audience(), bots, people)
    late = bots[9:-1]
    beat = [v for v in late if "drip_beat" in final[v.session_id].reasons]
    trickle = [v for v in late if "client_trickle" in final[v.session_id].reasons]
    assert len(beat) >= 12, [final[v.session_id].features["drip_beat_gaps"] for v in late]
    assert len(beat) > len(trickle)  # the running cadence lost them
    for v in people:
        assert "drip_beat" not in final[v.session_id].reasons
        assert final[v.session_id].action == "count"


def test_drip_beat_alone_is_medium() -> None:
    bots = drip()
    final = finals(audience(), bots, same_build_raid(bots[6].start + 8.0))
    # Alone: no other reason, and no toolkit reading either (with 3+ others of its family at
    # its exact window size, ``toolkit_peers``, the beat is strong by design, and so it is from
    # ``DRIP_LONG_GAPS`` gaps since 2026.11.23.3: this drip of 26 stays under). Since 2026.11.23
    # the raid's assorted windows keep this family (nearly the whole audience) from reading as
    # a fleet of one screen, so the drip's first viewers, 13 at one size, do have that reading.
    alone = [
        final[v.session_id]
        for v in bots
        if final[v.session_id].reasons == ("drip_beat",)
        and final[v.session_id].features["toolkit_peers"] == 0
    ]
    assert alone
    assert all(d.action == "count" and d.score < 0.5 for d in alone)


def test_people_of_one_build_arriving_at_random_are_not_a_drip_beat() -> None:
    people = [
        Viewer(f"p-{i}", start=t, duration=900.0, ip=f"24.{i}.3.1", asn=7000 + i, ua=DRIP_UA)
        for i, t in enumerate(poisson_times(40, 15.0, 9, T0 + 70.0))
    ]
    final = finals(audience(), people)
    assert_counted(final, people, "drip_beat")


def test_a_person_of_the_drips_build_between_two_of_its_viewers_is_not_read() -> None:
    bots = drip()
    at = bots[14].start + (bots[15].start - bots[14].start) / 3.0
    person = Viewer("same-build", start=at, duration=600.0, ip="68.4.4.4", asn=22773, ua=DRIP_UA)
    final = finals(audience(), bots, [person])
    assert_counted(final, [person], "drip_beat")


def test_a_drip_beat_at_the_toolkits_window_size_is_strong() -> None:
    bots = [
        Viewer(
            v.session_id,
            start=v.start,
            duration=v.duration,
            ip=v.ip,
            asn=v.asn,
            ua=DRIP_UA,
            viewport=(1536, 730),
        )
        for v in drip()
    ]
    phones = [
        Viewer(
            f"ph-{i}",
            start=t,
            duration=900.0,
            ip=f"24.{i}.5.1",
            asn=8000 + i,
            ua=IPHONE_UA,
            ja4=SAFARI_JA4,
            viewport=(390, 844),
        )
        for i, t in enumerate(poisson_times(30, 25.0, 4, T0))
    ]
    people = same_build_raid(bots[6].start + 8.0)
    final = finals(phones, bots, people)
    strong = [v for v in bots[9:-1] if final[v.session_id].reasons[:1] == ("drip_beat",)]
    assert len(strong) >= 12, [final[v.session_id].reasons for v in bots]
    assert all(final[v.session_id].action != "count" for v in strong)
    for v in people + phones:
        assert "drip_beat" not in final[v.session_id].reasons
        assert final[v.session_id].action == "count"


# ---- (crowd) a drip running before the log began


def later_beat(n: int = 18, size=(1280, 609), gap: float = 30.0) -> list[Viewer]:
    """The drip going on while the log runs: one join every ``gap`` s (30 % jitter), through
    the networks of its earlier viewers (``running_drip``: ASNs 7100-7102)."""
    return [
        Viewer(
            f"next-{i}",
            start=t,
            duration=800.0,
            ip=f"73.{120 + i}.8.7",
            asn=7100 + i % 3,
            ua=DRIP_UA2,
            ja4=CHROME_JA4,
            viewport=size,
            heartbeat_s=20.0,
        )
        for i, t in enumerate(beat_times(n, gap, 0.3, 4, T0 + 75.0))
    ]


def test_a_running_drip_whose_later_joins_keep_a_beat_is_suppressed_with_its_crowd() -> None:
    bots = running_drip(6)
    bystander = Viewer("bystander", start=T0 + 0.7, duration=900.0, ip="68.4.4.4", asn=20115,
                       ua=DRIP_UA2, ja4=CHROME_JA4, viewport=(1280, 609), heartbeat_s=20.0)  # fmt: skip
    final = finals(bots, later_beat(), people(62), [bystander])
    read = [v for v in bots if "drip_beat" in final[v.session_id].reasons]
    assert len(read) >= 4, [final[v.session_id].reasons for v in bots]
    assert all(final[v.session_id].action != "count" for v in read)
    # a person of the build at the size, already watching, on a network the drip never used:
    # not read here (this crowd is large enough for ``toolkit_cohort``'s strong form alone)
    assert "drip_beat" not in final[bystander.session_id].reasons
