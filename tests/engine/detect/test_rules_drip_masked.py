"""Rules 2026.11.23.3: a caught farm of the drip's own build does not hide the drip's beat.

A farm of rented servers running the drip's exact browser build (user agent and JA4) arrives
in a wave while the drip runs: its joins, a few seconds apart, break the beat of the build's
joins with a run of short gaps. The farm is flagged on its own evidence (many sessions per
server address, a hosting network), so its joins are left out of the reading
(``dripbeat.note_flagged``) and the drip's viewers read ``drip_beat`` again. Only runs of
flagged joins are left out: a lone one may be one of the drip's own, caught on a challenge,
and a person joining in its hole must not look on the beat. People of the build arriving at
random stay unread, with or without such a farm next to them.
"""

from __future__ import annotations

from dataclasses import replace

from detect_builders import (
    DRIP_UA,
    T0,
    Viewer,
    assert_counted,
    beat_times,
    finals,
    poisson_times,
)
from test_rules_s8 import audience, drip, same_build_raid

from engine.detect.dripbeat import TIMING_CODES, note_flagged, read_drip
from engine.detect.state import new_channel, new_session

SIZES = ((1920, 969), (1536, 730), (1366, 657), (1440, 789))


def farm(at: float, n: int = 16) -> list[Viewer]:
    """Headless browsers of the drip's build on four cloud servers, at four common window
    sizes, joining at random a few seconds apart."""
    return [
        Viewer(
            f"farm-{i}",
            start=t,
            duration=700.0,
            ip=f"3.80.1.{10 + i % 4}",
            asn=16509,
            ua=DRIP_UA,
            muted=True,
            heartbeat_s=20.0,
            heartbeat_jitter=0.0,
            viewport=SIZES[i % 4],
        )
        for i, t in enumerate(poisson_times(n, 3.5, 4, at))
    ]


def test_a_caught_farm_of_the_drips_build_does_not_hide_its_beat() -> None:
    bots = drip()
    servers = farm(bots[5].start + 4.0)
    final = finals(audience(), bots, servers)
    assert all(final[v.session_id].action != "count" for v in servers)
    late = bots[9:-1]
    beat = [v for v in late if "drip_beat" in final[v.session_id].reasons]
    assert len(beat) >= 12, [final[v.session_id].features["drip_beat_gaps"] for v in late]
    for v in servers:
        assert "drip_beat" not in final[v.session_id].reasons


def test_people_of_the_build_next_to_a_caught_farm_are_not_a_drip_beat() -> None:
    people = [
        Viewer(f"p-{i}", start=t, duration=900.0, ip=f"24.{i}.3.1", asn=7000 + i, ua=DRIP_UA)
        for i, t in enumerate(poisson_times(40, 15.0, 9, T0 + 70.0))
    ]
    final = finals(audience(), people, farm(T0 + 200.0))
    assert_counted(final, people, "drip_beat")


def test_a_session_flagged_on_its_arrival_stays_in_its_builds_beat() -> None:
    c = new_channel("ch-1", T0)
    for i, reasons in enumerate((("hosting_ip_crowd",), ("drip_beat", "proxy_pool"))):
        s = new_session(f"s-{i}", "ch-1", T0 + i)
        s.reg_client, s.reg_client_ts = "k:00c0ffee", T0 + i
        s.action, s.reasons = "suppress", reasons
        note_flagged(c, s)
        assert s.flag_seen
    assert c.build_flagged == {"k:00c0ffee": [T0]}
    assert "drip_beat" in TIMING_CODES


def test_a_person_in_the_hole_of_a_lone_flagged_drip_viewer_is_not_on_the_beat() -> None:
    # (seed 1603) One of the drip's viewers was caught on a challenge of its own; a person of
    # the build who joined just after it would sit on the beat if its join were left out.
    beat = beat_times(30, 10.0, 0.2, 3, T0 + 100.0)
    person_ts = beat[15] + 4.0
    c = new_channel("ch-1", T0)
    key = "k:00c0ffee"
    c.build_joins[key] = sorted([*beat, person_ts])
    c.build_flagged[key] = [beat[15]]
    person = new_session("person", "ch-1", person_ts)
    person.reg_client, person.reg_client_ts = key, person_ts
    read_drip(c, person)
    assert person.drip_gaps == 0
    # a run of flagged joins (a caught wave) is left out; a lone one is not
    wave = [beat[20] + 1.0 + 2.5 * i for i in range(3)]
    c.build_joins[key] = sorted(beat + wave)
    c.build_flagged[key] = wave
    viewer = new_session("drip-21", "ch-1", beat[21])
    viewer.reg_client, viewer.reg_client_ts = key, beat[21]
    read_drip(c, viewer)
    assert viewer.drip_gaps >= 16


def long_drip(n: int = 44) -> list[Viewer]:
    """A drip of one build, each viewer at a window size of its own (no toolkit reading)."""
    return [replace(v, viewport=(1280 + 8 * i, 720 + 4 * i)) for i, v in enumerate(drip(n))]


def test_a_long_beat_is_strong_at_any_window_size() -> None:
    bots = long_drip()
    # a raid of the build breaks its running cadence (``client_trickle``): the beat reads alone
    final = finals(audience(), bots, same_build_raid(bots[6].start + 8.0))
    long_read = [
        final[v.session_id]
        for v in bots
        if final[v.session_id].features["drip_beat_gaps"] >= 32
        and final[v.session_id].features["toolkit_peers"] == 0
    ]
    assert len(long_read) >= 10, [final[v.session_id].features["drip_beat_gaps"] for v in bots]
    assert all(d.action != "count" and d.reasons[0] == "drip_beat" for d in long_read)
    alone = [d for d in long_read if d.reasons == ("drip_beat",)]
    assert len(alone) >= 5 and all(d.action == "suppress" for d in alone)
    short = [
        final[v.session_id]
        for v in bots
        if 16 <= final[v.session_id].features["drip_beat_gaps"] < 32
        and final[v.session_id].reasons == ("drip_beat",)
    ]
    assert all(d.action == "count" for d in short)  # medium alone, as before


def test_a_person_joining_with_one_of_the_drips_viewers_is_not_read() -> None:
    # (seed 1203) A person of the drip's build joined 1.9 s before one of its viewers: merged
    # into one join, the person's took the viewer's place on the beat.
    bots = long_drip()
    person = Viewer(
        "with-a-viewer", start=bots[22].start - 1.5, duration=600.0, ip="68.4.4.4", asn=22773,
        ua=DRIP_UA, viewport=(1131, 657),
    )  # fmt: skip
    final = finals(audience(), bots, [person])
    assert_counted(final, [person], "drip_beat")
