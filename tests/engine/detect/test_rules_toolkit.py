"""``toolkit_cohort``: a campaign's sameness, one client family at a handful of window sizes.

A stealth-browser farm (patched headless Chromes behind residential exits, one address each)
rotates Chrome versions in its user agents but sets every window to one of a few sizes, and its
players sit muted and untouched; a slow drip opens one browser build at a few sizes on a steady
join beat. People of one browser family spread over many exact window sizes, touch their
players, and arrive at random. Each test puts the bots next to the people they resemble.
"""

from __future__ import annotations

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
    poisson_times,
)

CHROME_VERSIONS = (121, 122, 123, 124, 125, 126)
FARM_SIZES = ((1920, 969), (1536, 730))


def chrome(version: int) -> str:
    return CHROME_UA.replace("Chrome/124.0.0.0", f"Chrome/{version}.0.0.0")


def farm(n: int = 16, *, prefix: str = "farm", sizes=FARM_SIZES, **kw) -> list[Viewer]:
    """``n`` stealth Chromes, rotating Chrome versions, each on a residential exit of its own
    ISP, windows of the toolkit's sizes, muted and untouched."""
    base = dict(duration=720.0, muted=True, heartbeat_s=20.0, heartbeat_jitter=0.4)
    base.update(kw)
    return [
        Viewer(
            f"{prefix}-{i}",
            start=T0 + i * 7.0,
            **{
                "ip": f"71.{40 + i}.20.5",
                "asn": 7000 + i,
                "ua": chrome(CHROME_VERSIONS[i % len(CHROME_VERSIONS)]),
                "viewport": sizes[i % len(sizes)],
                **base,
            },
        )
        for i in range(n)
    ]


def audience(n: int = 16) -> list[Viewer]:
    """People of the channel on another browser family, sound on, windows of their own."""
    return [
        Viewer(
            f"aud-{i}",
            start=T0 + i * 13.0,
            duration=720.0,
            ip=f"86.{i}.9.9",
            asn=3000 + i,
            ua=FIREFOX_UA,
            ja4=FIREFOX_JA4,
            viewport=(1400 + 17 * i, 800 + 5 * i),
            heartbeat_s=20.0,
        )
        for i in range(n)
    ]


# ---- untouched players at the toolkit's window sizes


def test_a_farm_at_a_few_window_sizes_is_read_and_suppressed() -> None:
    bots = farm()
    final = finals(bots, audience())
    for v in bots:
        d = final[v.session_id]
        assert "toolkit_cohort" in d.reasons, d.features
        assert d.action != "count", (d.score, d.reasons)
    assert_counted(final, audience(), "toolkit_cohort")


def test_a_small_untouched_crowd_at_one_size_is_medium() -> None:
    # Six untouched players of one family at one size: read, but under the strong crowd of
    # eight, so without a second behavioural signal they stay counted.
    bots = farm(6, sizes=((1920, 969),))
    final = finals(bots, audience())
    for v in bots:
        d = final[v.session_id]
        assert "toolkit_cohort" in d.reasons, d.features
        assert d.action == "count", (d.score, d.reasons)


def test_a_second_screen_viewer_of_the_farms_family_at_a_size_of_their_own_is_not_read() -> None:
    person = Viewer("second-screen", start=T0 + 20.0, duration=720.0, ip="86.210.1.1",
                    asn=3950, ua=chrome(126), muted=True, heartbeat_s=20.0,
                    viewport=(1920, 961))  # fmt: skip
    final = finals(farm(), audience(), [person])
    assert_counted(final, [person], "toolkit_cohort")


def test_a_person_at_the_farms_size_who_touches_the_player_is_not_read() -> None:
    unmuted = Viewer("unmuted", start=T0 + 30.0, duration=720.0, ip="86.200.1.1", asn=3900,
                     ua=chrome(126), muted=False, heartbeat_s=20.0, viewport=(1920, 969))  # fmt: skip
    paused = Viewer("paused", start=T0 + 40.0, duration=720.0, ip="86.201.1.1", asn=3901,
                    ua=chrome(125), muted=True, heartbeat_s=20.0, viewport=(1920, 969),
                    pauses=[(240.0, 60.0)])  # fmt: skip
    final = finals(farm(), audience(), [unmuted, paused])
    assert_counted(final, [unmuted, paused], "toolkit_cohort")


def test_a_few_second_screens_at_one_common_size_are_no_crowd() -> None:
    people = farm(3, prefix="second-screen", sizes=((1920, 969),))
    final = finals(people, audience())
    assert_counted(final, people, "toolkit_cohort")


def test_embedded_players_of_one_size_are_not_read() -> None:
    # An article's embed: a fixed 640x360 player, muted autoplay, one browser family.
    readers = farm(12, prefix="embed", sizes=((640, 360),))
    final = finals(readers, audience())
    assert_counted(final, readers, "toolkit_cohort")


def test_an_office_behind_one_address_is_not_read() -> None:
    # One managed build on identical screens behind the office's NAT address, muted.
    office = farm(12, prefix="office", ip="192.0.2.10", asn=3356, sizes=((1920, 1040),))
    final = finals(office, audience())
    for v in office:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_one_family_at_one_size_that_is_the_whole_audience_is_not_read() -> None:
    # Signage screens or kiosks of one managed family, each on a line of its own.
    screens = farm(12, prefix="screen", sizes=((1920, 1080),))
    final = finals(screens)
    for v in screens:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_signage_of_one_build_on_two_screen_models_is_not_read() -> None:
    # (2026.11.23) A managed fleet updates together: one build, whatever its screens.
    screens = farm(12, prefix="screen", sizes=((1920, 1080), (3840, 2160)), ua=DRIP_UA)
    final = finals(screens)
    for v in screens:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_a_farm_that_is_the_whole_audience_is_read() -> None:
    # (2026.11.23) Seed 1804: a stealth farm outnumbering the channel's people. Six Chrome
    # versions at two window sizes, muted and untouched: neither one screen nor one build.
    bots = farm(24)
    people = audience(2)
    final = finals(bots, people)
    for v in bots:
        assert "toolkit_cohort" in final[v.session_id].reasons, final[v.session_id].reasons
        assert final[v.session_id].action != "count"
    assert_counted(final, people, "toolkit_cohort")


def test_untouched_players_need_five_minutes() -> None:
    bots = farm(duration=240.0)
    final = finals(bots, audience())
    for v in bots:
        assert "toolkit_cohort" not in final[v.session_id].reasons


# ---- a drip's join beat at the toolkit's window sizes


def drip(n: int = 11, gap: float = 40.0, jitter: float = 0.2, seed: int = 3, sizes=FARM_SIZES,
         **kw) -> list[Viewer]:  # fmt: skip
    """A short slow drip: one viewer every ``gap`` s (uniform jitter), one browser build at the
    toolkit's window sizes, each on a network of its own, sound on, tabs never touched."""
    return [
        Viewer(
            f"drip-{i}",
            start=t,
            duration=900.0,
            ip=f"73.{60 + i}.7.7",
            asn=7100 + i,
            ua=DRIP_UA,
            viewport=sizes[i % len(sizes)],
            heartbeat_s=20.0,
            **kw,
        )
        for i, t in enumerate(beat_times(n, gap, jitter, seed, T0 + 90.0))
    ]


def random_arrivals(n: int, *, seed: int, prefix: str = "rnd", ua: str = FIREFOX_UA,
                    ja4: str = FIREFOX_JA4, viewport: tuple[int, int] | None = None,
                    ) -> list[Viewer]:  # fmt: skip
    """People arriving at random (Poisson, a mean gap of 25 s), each from its own network."""
    return [
        Viewer(
            f"{prefix}-{i}",
            start=t,
            duration=900.0,
            ip=f"24.{i}.{len(prefix)}.1",
            asn=5000 + i,
            ua=ua,
            ja4=ja4,
            heartbeat_s=20.0,
            viewport=viewport or (1300 + 11 * i, 700 + 3 * i),
        )
        for i, t in enumerate(poisson_times(n, 25.0, seed, T0))
    ]


def test_a_short_drip_on_a_tight_beat_at_few_sizes_is_suppressed() -> None:
    # Ten gaps: under the twelve ``client_trickle`` needs; the beat and the sizes tell it.
    bots = drip()
    people = random_arrivals(24, seed=5)
    final = finals(people, bots)
    caught = [v for v in bots if "toolkit_cohort" in final[v.session_id].reasons]
    # the first and the last join have no gap on one side: never on the beat; the beat is
    # read once eight gaps are in
    assert len(caught) >= 6, [final[v.session_id].features for v in bots]
    assert all(final[v.session_id].action != "count" for v in caught)
    assert_counted(final, people, "toolkit_cohort")


def test_people_of_one_build_at_one_size_arriving_at_random_are_not_a_drip() -> None:
    # Thirty people of the drip's build, all maximised at the most common window size,
    # arriving independently: the sameness is there, the beat is not.
    people = random_arrivals(30, seed=8, prefix="same", ua=DRIP_UA, ja4=CHROME_JA4,
                             viewport=(1920, 969))  # fmt: skip
    final = finals(people, random_arrivals(10, seed=9))
    assert_counted(final, people, "toolkit_cohort")


def test_a_drip_at_window_sizes_of_its_viewers_own_is_not_read() -> None:
    bots = drip()
    for i, v in enumerate(bots):
        v.viewport = (1300 + 23 * i, 700 + 7 * i)
    final = finals(random_arrivals(24, seed=5), bots)
    for v in bots:
        assert "toolkit_cohort" not in final[v.session_id].reasons


def test_a_drip_of_the_audiences_own_build_keeps_its_beat_at_its_window_size() -> None:
    # The drip runs the build most people of the channel run, so that build's joins are the
    # drip's and people's interleaved at random: no beat. At the drip's one window size (people
    # of that build keep sizes of their own) the beat is intact.
    people = random_arrivals(30, seed=5, prefix="pop", ua=DRIP_UA, ja4=CHROME_JA4)
    others = random_arrivals(12, seed=9, prefix="ff")
    bots = drip(n=12, sizes=((1280, 609),))
    final = finals(people, others, bots)
    caught = [v for v in bots if "toolkit_cohort" in final[v.session_id].reasons]
    assert len(caught) >= 5, [final[v.session_id].features for v in bots]
    assert all(final[v.session_id].action != "count" for v in caught)
    assert_counted(final, people + others, "toolkit_cohort")
