"""Rules 2026.11.12: ``inert_cohort``, stealth browsers behind residential exits.

A farm of patched headless Chromes on residential or ISP proxy exits (one address each, many
ISPs) plays the stream muted, in a visible window, and does nothing else for minutes. Alone,
each looks like a person with a muted stream on a second monitor; together, a crowd of one
client build doing nothing on one channel is one operator's. The rule is medium: it needs a
second behavioural signal (here a failed challenge), so the person of the farm's build with
the same muted, untouched player on the same channel is never suppressed by it alone; people
who touch their player (a pause, chat), people of other builds, a few untouched players, and
rented networks (read by ``inert_player`` instead) are not read at all.
"""

from __future__ import annotations

from detect_builders import CHROME_UA, OTHER_UAS, T0, Viewer, assert_counted, finals

FARM_UA = CHROME_UA.replace("Chrome/124.0.0.0", "Chrome/126.0.0.0")


def farm(n: int = 10, *, prefix: str = "farm", **kw) -> list[Viewer]:
    """``n`` stealth Chromes of one build, each on a residential exit of its own ISP."""
    base = dict(duration=720.0, ua=FARM_UA, muted=True, heartbeat_s=20.0, heartbeat_jitter=0.4)
    base.update(kw)
    return [
        Viewer(
            f"{prefix}-{i}",
            start=T0 + i * 7.0,
            **{"ip": f"71.{40 + i}.20.5", "asn": 7000 + i, **base},
        )
        for i in range(n)
    ]


def audience(n: int = 16) -> list[Viewer]:
    """People of the channel on other builds, sound on."""
    return [
        Viewer(
            f"aud-{i}",
            start=T0 + i * 13.0,
            duration=720.0,
            ip=f"86.{i}.9.9",
            asn=3000 + i,
            ua=OTHER_UAS[i % 5],
            heartbeat_s=20.0,
        )
        for i in range(n)
    ]


def test_a_farm_of_one_build_doing_nothing_is_a_cohort_and_a_failed_challenge_suppresses() -> None:
    bots = farm(10)
    failing = farm(2, prefix="farm-failed", challenges=[(200.0, False)])
    final = finals(bots, failing, audience())
    for v in bots + failing:
        assert "inert_cohort" in final[v.session_id].reasons, final[v.session_id].features
    for v in failing:
        d = final[v.session_id]
        assert d.action != "count", (d.score, d.reasons)


def test_inert_cohort_is_medium_and_never_suppresses_alone() -> None:
    bots = farm(10)
    final = finals(bots, audience())
    for v in bots:
        d = final[v.session_id]
        assert "inert_cohort" in d.reasons
        assert d.action == "count", (d.score, d.reasons)


def test_a_person_of_the_farms_build_who_touches_the_player_is_not_read() -> None:
    # Same build, same channel, muted and visible: one paused for a minute, one chats.
    paused = Viewer("paused", start=T0 + 30.0, duration=720.0, ip="86.200.1.1", asn=3900,
                    ua=FARM_UA, muted=True, heartbeat_s=20.0, pauses=[(240.0, 60.0)])  # fmt: skip
    chatting = Viewer("chatting", start=T0 + 40.0, duration=720.0, ip="86.201.1.1", asn=3901,
                      ua=FARM_UA, muted=True, heartbeat_s=20.0, chat_every=90.0)  # fmt: skip
    final = finals(farm(10), audience(), [paused, chatting])
    assert_counted(final, [paused, chatting], "inert_cohort")


def test_a_second_screen_viewer_of_another_build_is_not_read() -> None:
    person = Viewer("second-screen", start=T0 + 20.0, duration=720.0, ip="86.210.1.1",
                    asn=3950, ua=OTHER_UAS[0], muted=True, heartbeat_s=20.0)  # fmt: skip
    final = finals(farm(10), audience(), [person])
    assert_counted(final, [person], "inert_cohort")


def test_a_few_untouched_players_are_no_crowd() -> None:
    # Five people of one common build leaving the stream muted on a second screen: under the
    # eight untouched players a channel needs before a build's share is read.
    people = farm(5, prefix="second-screen")
    final = finals(people, audience())
    assert_counted(final, people, "inert_cohort")


def test_untouched_players_need_five_minutes() -> None:
    bots = farm(10, duration=240.0)
    final = finals(bots, audience())
    for v in bots:
        assert "inert_cohort" not in final[v.session_id].reasons


def test_rented_networks_are_left_to_inert_player() -> None:
    bots = farm(10, ip="159.203.44.7", asn=14061)
    final = finals(bots, audience())
    for v in bots:
        d = final[v.session_id]
        assert "inert_cohort" not in d.reasons
        assert "inert_player" in d.reasons


def test_a_build_that_is_the_whole_audience_is_not_a_farm() -> None:
    # Signage screens or kiosks of one managed build, each on a line of its own, showing the
    # stream muted: one build is the whole audience, so its untouched players say nothing.
    screens = farm(12, prefix="screen")
    final = finals(screens)
    for v in screens:
        assert "inert_cohort" not in final[v.session_id].reasons
