"""Slow drips (2026.11.13): the first join of a build's beat at a toolkit's window size, and a
drip spread over two operators (``network_beat``).

A drip scheduler adds one viewer at a time on a timer. Its first join at a window size opened
the run; a drip that spreads its viewers over two operators' networks, each with a user agent
of its own, keeps its beat in the merged joins of the two networks. People arrive at random or
in waves; each test puts the bots next to the people they resemble.
"""

from __future__ import annotations

import random

from detect_builders import (
    CHROME_JA4,
    CHROME_UA,
    DRIP_UA,
    FIREFOX_JA4,
    FIREFOX_UA,
    T0,
    Viewer,
    assert_counted,
    beat_times,
    finals,
)


def people(n: int, *, prefix: str = "aud", ua: str = FIREFOX_UA, ja4: str = FIREFOX_JA4,
           seed: int = 1) -> list[Viewer]:  # fmt: skip
    """People of the channel, already watching or arriving at random, windows of their own."""
    rng = random.Random(seed)
    return [
        Viewer(
            f"{prefix}-{i}",
            start=T0 + (0.0 if i % 2 else rng.random() * 300.0),
            duration=900.0,
            ip=f"86.{i}.{9 + len(prefix)}.9",
            asn=3000 + i,
            ua=ua,
            ja4=ja4,
            heartbeat_s=20.0,
            viewport=(1300 + 11 * i, 700 + 3 * i),
        )
        for i in range(n)
    ]


# ---- the first join of a beat


def beat_drip(n: int = 11, gap: float = 40.0, jitter: float = 0.2, seed: int = 3) -> list[Viewer]:
    """A short drip: one viewer every ``gap`` s (uniform jitter), one build at one size."""
    return [
        Viewer(
            f"drip-{i}",
            start=t,
            duration=900.0,
            ip=f"73.{60 + i}.7.7",
            asn=7100 + i,
            ua=DRIP_UA,
            ja4=CHROME_JA4,
            viewport=(1536, 730),
            heartbeat_s=20.0,
        )
        for i, t in enumerate(beat_times(n, gap, jitter, seed, T0 + 90.0))
    ]


def test_the_first_join_of_a_drip_keeps_its_beat() -> None:
    # The build's joins at its size are counted from the second drip viewer on (the first
    # had no one at its size yet). Nothing of the build at that size came for five minutes
    # before it and the next two gaps are on the beat: it opened the run (before, the run's
    # first join was never on the beat).
    # The drip runs the audience's own build (people of it arrive at random at sizes of their
    # own), so only its size keeps the beat.
    bots = beat_drip(n=12)
    same = people(30, prefix="pop", ua=DRIP_UA, ja4=CHROME_JA4, seed=5)
    for i, v in enumerate(same):
        v.start = T0 + 60.0 + 25.0 * i + 11.0 * (i % 3)
    final = finals(bots, same, people(12, seed=9))
    opener = final[bots[1].session_id]
    assert "toolkit_cohort" in opener.reasons, opener.features
    assert opener.action != "count", (opener.score, opener.reasons)


def test_a_person_of_the_build_arriving_long_before_the_drip_is_not_its_first_join() -> None:
    # The same build six minutes before the drip's first join: another episode, not on it.
    early = Viewer("early", start=T0 + 90.0 - 360.0 + 400.0, duration=900.0, ip="24.1.1.1",
                   asn=5001, ua=DRIP_UA, ja4=CHROME_JA4, viewport=(1440, 789),
                   heartbeat_s=20.0)  # fmt: skip
    bots = beat_drip()
    for v in bots:
        v.start += 400.0
    final = finals([early], bots, people(24, seed=5))
    assert_counted(final, [early], "toolkit_cohort")


# ---- a drip already running when the log begins (2026.11.13, crowd)


def running_drip(n: int, size=(1280, 609), prefix: str = "warm") -> list[Viewer]:
    """``n`` drip viewers already watching when the log begins (their joins are not seen): one
    browser build at one toolkit size, each on a home line of its own, sound on."""
    return [
        Viewer(f"{prefix}-{i}", start=T0 + i * 0.1, duration=900.0, ip=f"73.{60 + i}.{7 + i % 3}.7",
               asn=7100 + i % 3, ua=DRIP_UA, ja4=CHROME_JA4, viewport=size, heartbeat_s=20.0)
        for i in range(n)
    ]  # fmt: skip


def next_joins(n: int = 6, size=(1280, 609), gap: float = 45.0, one_network: bool = False,
               seed: int = 2) -> list[Viewer]:  # fmt: skip
    """Joins of the same build at that size while the log runs, one every ``gap`` s (20 %
    jitter): the drip going on through its pool's exits, or (``one_network``) one ISP's."""
    rng = random.Random(seed)
    t = T0 + 90.0
    out = []
    for i in range(n):
        asn = 7922 if one_network else 7200 + i
        out.append(Viewer(f"next-{i}", start=t, duration=800.0, ip=f"73.{120 + i}.8.7", asn=asn,
                          ua=DRIP_UA, ja4=CHROME_JA4, viewport=size, heartbeat_s=20.0))  # fmt: skip
        t += gap * (0.8 + 0.4 * rng.random())
    return out


def test_a_drip_running_before_the_log_is_read_by_its_crowd_and_its_later_beat() -> None:
    bots = running_drip(14)
    audience = people(40)
    final = finals(bots, next_joins(), audience)
    for v in bots:
        d = final[v.session_id]
        assert "toolkit_cohort" in d.reasons, d.features
        assert d.action != "count", (d.score, d.reasons)
    assert_counted(final, audience, "toolkit_cohort")


def test_a_small_running_crowd_is_medium_only() -> None:
    # Six watching when the log began and five joins since: eleven at one size, under the
    # strong crowd of twelve; without a second behavioural signal they stay counted.
    bots = running_drip(6)
    final = finals(bots, next_joins(5), people(62))
    for v in bots:
        d = final[v.session_id]
        assert "toolkit_cohort" in d.reasons, d.features
        assert d.action == "count", (d.score, d.reasons)


def test_a_crowd_of_one_build_at_one_size_without_a_later_beat_is_not_read() -> None:
    # People of one build at one size (as a hand-built audience is) watching when the log
    # began; later joins of that build and size arrive at random.
    crowd = running_drip(14, prefix="crowd")
    later = next_joins(7)
    for v, t in zip(later, (0.0, 8.0, 95.0, 101.0, 260.0, 270.0, 400.0), strict=True):
        v.start = T0 + 80.0 + t
    final = finals(crowd, later, people(40))
    assert_counted(final, crowd + later, "toolkit_cohort")


def test_a_crowd_whose_later_beat_comes_from_one_network_is_not_read() -> None:
    # One ISP's people (a campus handing out public addresses) arriving steadily between
    # classes at the crowd's build and size: one network's beat, not a pool's.
    crowd = running_drip(14, prefix="crowd")
    final = finals(crowd, next_joins(8, one_network=True), people(40))
    for v in crowd:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_a_crowd_followed_by_an_evenly_spaced_raid_is_not_read() -> None:
    crowd = running_drip(14, prefix="crowd")
    raiders = next_joins(30, gap=0.3)
    final = finals(crowd, raiders, people(40))
    for v in crowd:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_a_lab_of_identical_machines_in_one_school_block_is_not_read() -> None:
    lab = running_drip(14, prefix="lab", size=(1920, 1017))
    for i, v in enumerate(lab):
        v.ip = f"128.112.40.{10 + i}"
        v.asn = 88
    final = finals(lab, next_joins(6, size=(1920, 1017)), people(40))
    for v in lab:  # (``proxy_pool`` reads such a block on its own: not this rule's business)
        assert "toolkit_cohort" not in final[v.session_id].reasons


# ---- a drip spread over two operators, each viewer with a user agent of its own


UA_LIST = ((CHROME_UA, CHROME_JA4), (DRIP_UA, CHROME_JA4), (FIREFOX_UA, FIREFOX_JA4))


def two_network_drip(n: int = 40, seed: int = 11, start: float = T0 + 120.0) -> list[Viewer]:
    """One join every 3-12 s (uniform), each viewer on an address of its own in one of two
    operators' networks at random, its user agent drawn from a list, windows of its own."""
    rng = random.Random(seed)
    t = start
    out = []
    for i in range(n):
        ua, ja4 = UA_LIST[int(rng.random() * len(UA_LIST))]
        asn = (9009, 9010)[int(rng.random() * 2)]
        out.append(
            Viewer(
                f"pair-{i}",
                start=t,
                duration=600.0,
                ip=f"45.{asn % 100}.{i}.{10 + i}",
                asn=asn,
                ua=ua,
                ja4=ja4,
                heartbeat_s=20.0,
                viewport=(1250 + 13 * i, 690 + 5 * i),
            )
        )
        t += 3.0 + 9.0 * rng.random()
    return out


def random_people(n: int, *, seed: int, asns=None, mean_gap: float = 20.0,
                  start: float = T0, prefix: str = "rnd") -> list[Viewer]:  # fmt: skip
    """People arriving at random (Poisson), from ``asns`` at random or each from its own."""
    rng = random.Random(seed)
    t = start
    out = []
    for i in range(n):
        t += rng.expovariate(1 / mean_gap)
        asn = asns[int(rng.random() * len(asns))] if asns else 4000 + i
        out.append(
            Viewer(
                f"{prefix}-{i}",
                start=t,
                duration=600.0,
                ip=f"81.{i}.{asn % 200}.3",
                asn=asn,
                ua=FIREFOX_UA,
                ja4=FIREFOX_JA4,
                heartbeat_s=20.0,
                viewport=(1300 + 7 * i, 720 + 3 * i),
            )
        )
    return out


def test_a_drip_split_over_two_networks_keeps_its_beat_and_is_suppressed() -> None:
    bots = two_network_drip()
    audience = random_people(30, seed=4)
    final = finals(bots, audience)
    # The first and last joins, and joins with a gap off the beat (under half the mean: a
    # 3-3.7 s gap of the 3-12 s draw) are not read; early readings (under 17 joins) are medium.
    read = [v for v in bots if "network_beat" in final[v.session_id].reasons]
    caught = [v for v in read if final[v.session_id].action != "count"]
    assert len(read) >= 0.7 * len(bots), [final[v.session_id].features for v in bots[:3]]
    assert len(caught) >= 0.6 * len(bots), [final[v.session_id].reasons for v in read]
    assert_counted(final, audience, "network_beat")


def test_people_of_a_channels_two_big_networks_arriving_at_random_are_no_beat() -> None:
    # Sixty people from the two ISPs most of the channel's audience uses, a join every 8 s on
    # average, at random: each gap drawn anew (CV ~1).
    locals_ = random_people(60, seed=6, asns=(3320, 3209), mean_gap=8.0, start=T0 + 60.0)
    final = finals(locals_, random_people(20, seed=7, prefix="far"))
    assert_counted(final, locals_, "network_beat")


def test_a_raid_from_two_networks_is_no_beat() -> None:
    # Forty raiders from two ISPs landing within twenty seconds, after a quiet channel.
    rng = random.Random(3)
    raiders = [
        Viewer(
            f"raid-{i}",
            start=T0 + 200.0 + 20.0 * rng.random(),
            duration=400.0,
            ip=f"93.{i}.1.1",
            asn=(3320, 3209)[i % 2],
            ua=FIREFOX_UA,
            ja4=FIREFOX_JA4,
            heartbeat_s=20.0,
            viewport=(1300 + 7 * i, 720),
        )
        for i in range(40)
    ]
    final = finals(raiders, random_people(20, seed=8, prefix="aud"))
    for v in raiders:
        assert "network_beat" not in final[v.session_id].reasons


def test_a_network_with_a_couple_of_joins_does_not_borrow_a_one_network_drips_beat() -> None:
    # (2026.11.23.2, seed 2105) A drip from one operator's network keeps a beat of its own; two
    # people of another network whose joins land on it are not a second operator of it.
    rng = random.Random(5)
    t, bots = T0 + 120.0, []
    for i in range(30):
        bots.append(
            Viewer(
                f"one-{i}",
                start=t,
                duration=600.0,
                ip=f"84.24.{i}.{10 + i}",
                asn=33915,
                ua=UA_LIST[i % 3][0],
                ja4=UA_LIST[i % 3][1],
                heartbeat_s=20.0,
                viewport=(1250 + 13 * i, 690 + 5 * i),
            )
        )
        t += 9.0 + 6.0 * rng.random()
    pair = [
        Viewer(
            f"tr-{i}",
            start=bots[12 + 5 * i].start + 0.5 * (bots[13 + 5 * i].start - bots[12 + 5 * i].start),
            duration=300.0,
            ip=f"88.247.{53 + i}.110",
            asn=9121,
            ua=FIREFOX_UA,
            ja4=FIREFOX_JA4,
            heartbeat_s=20.0,
            viewport=(420, 236),
        )
        for i in range(2)
    ]
    final = finals(bots, pair, random_people(20, seed=9))
    assert_counted(final, pair, "network_beat")
