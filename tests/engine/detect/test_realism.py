"""Rules 2026.11.3: does the client behave like a real browser and a real adaptive player, and
does a network change cost what a real handover costs? Each rule on a bot built by hand, and the
people who share the trait it reads."""

from __future__ import annotations

from detect_builders import (
    CHROME_UA,
    FIREFOX_JA4,
    FIREFOX_UA,
    IPHONE_UA,
    ROKU_UA,
    SAFARI_JA4,
    T0,
    Viewer,
    merge,
    run,
)

from engine.schemas import Decision

LOW = dict(rendition="160p30", segment_bytes=80_000)  # the ladder's lowest rung, fetched fast


def audience(n: int = 3) -> list[Viewer]:
    # Ordinary viewers on 720p: they teach the channel its segment duration and its ladder.
    return [
        Viewer(f"aud-{i}", start=T0 - 60.0 + i * 5.0, duration=700.0, ip=f"86.{i}.9.9")
        for i in range(n)
    ]


def final_of(*viewers: Viewer) -> dict[str, Decision]:
    return run(merge(*viewers, *audience()))


def exact_timer(sid: str, **kw) -> Viewer:
    base = dict(heartbeat_s=30.0, heartbeat_jitter=0.0, duration=420.0)
    base.update(kw)
    return Viewer(sid, **base)


# --- browser_timer_exact ------------------------------------------------------------------------


def test_browser_heartbeat_exact_to_the_millisecond_is_medium() -> None:
    # Uniform +-1.2 ms: a spread of 0.7 ms, under a millisecond but measured, not written.
    d = final_of(exact_timer("b", heartbeat_jitter=0.0012))["b"]
    assert "browser_timer_exact" in d.reasons
    assert d.action == "count", (d.score, d.reasons)  # medium: never alone


def test_browser_timer_with_millisecond_jitter_is_not_exact() -> None:
    d = final_of(exact_timer("h", heartbeat_jitter=0.02))["h"]
    assert "browser_timer_exact" not in d.reasons


def test_metronomic_tv_apps_and_clamped_or_hidden_browsers_are_not_read() -> None:
    final = final_of(
        exact_timer("tv", ua=ROKU_UA, ja4="", referer="", viewport=(1920, 1080)),
        exact_timer("gecko", ua=FIREFOX_UA, ja4=FIREFOX_JA4),  # resistFingerprinting clamps
        exact_timer("switcher", ua=CHROME_UA, ja4=FIREFOX_JA4),  # UA switcher over Firefox
        exact_timer("hidden", visible=False),  # hidden tabs wake on whole seconds
    )
    for sid in ("tv", "gecko", "switcher", "hidden"):
        assert "browser_timer_exact" not in final[sid].reasons, (sid, final[sid].reasons)
        assert final[sid].action == "count"


# --- abr_stuck_lowest -----------------------------------------------------------------------------


def test_full_size_player_on_the_lowest_rung_with_an_idle_link() -> None:
    d = final_of(Viewer("b", duration=420.0, muted=True, **LOW))["b"]
    assert "abr_stuck_lowest" in d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_stealth_browser_exact_timer_on_the_lowest_rung_is_flagged() -> None:
    d = final_of(exact_timer("b", muted=True, **LOW))["b"]
    assert {"browser_timer_exact", "abr_stuck_lowest"} <= set(d.reasons)
    assert d.action != "count", (d.score, d.reasons)


def test_people_on_the_lowest_rung_for_a_reason_are_not_read() -> None:
    final = final_of(
        # a slow link: each download takes a large part of the segment
        Viewer("slow", duration=420.0, rendition="160p30", segment_bytes=1_500_000),
        # a small embedded player, capped to the lowest rung by its size
        Viewer("embed", duration=420.0, viewport=(400, 225), **LOW),
        # a background tab
        Viewer("hidden", duration=420.0, visible=False, **LOW),
        # a player that stalled: its ABR stepped down for a reason
        Viewer("stalled", duration=420.0, stalls=3, **LOW),
        # a preview: too short to tell
        Viewer("preview", duration=40.0, muted=True, **LOW),
    )
    for sid in ("slow", "embed", "hidden", "stalled", "preview"):
        assert "abr_stuck_lowest" not in final[sid].reasons, (sid, final[sid].reasons)
        assert final[sid].action == "count"


def test_a_channel_with_one_rung_has_no_lowest_rung_to_be_stuck_on() -> None:
    viewers = [Viewer(f"v-{i}", ip=f"86.{i}.1.1", duration=420.0, **LOW) for i in range(4)]
    final = run(merge(*viewers))
    assert all("abr_stuck_lowest" not in d.reasons for d in final.values())


# --- abr_pinned_low (2026.11.23) ----------------------------------------------------------------

MID = dict(rendition="480p30", segment_bytes=250_000)  # a middle rung, fetched fast
WIDE = (1536, 730)  # a maximised browser window's player


def small_embed() -> Viewer:
    return Viewer(
        "lad-160", start=T0 - 50.0, duration=700.0, ip="86.7.9.9", viewport=(400, 225), **LOW
    )


def ladder_final(*viewers: Viewer) -> dict[str, Decision]:
    # The channel's ladder runs from 160p (a small embed) to 720p (the audience).
    return run(merge(*viewers, small_embed(), *audience()))


def test_a_full_size_player_pinned_to_a_middle_rung_is_medium() -> None:
    d = ladder_final(Viewer("pin", duration=420.0, muted=True, viewport=WIDE, **MID))["pin"]
    assert "abr_pinned_low" in d.reasons, (d.reasons, d.features)
    assert "abr_stuck_lowest" not in d.reasons  # that is the lowest rung's
    assert d.action == "count", (d.score, d.reasons)


def test_pinned_with_an_exact_timer_is_flagged() -> None:
    d = ladder_final(exact_timer("pin", muted=True, viewport=WIDE, **MID))["pin"]
    assert {"browser_timer_exact", "abr_pinned_low"} <= set(d.reasons)
    assert d.action != "count", (d.score, d.reasons)


def test_people_on_a_middle_rung_for_a_reason_are_not_read() -> None:
    final = ladder_final(
        # a player smaller than 1280x720: capped to its size
        Viewer("small", duration=420.0, viewport=(854, 480), **MID),
        # a slow link: each download takes a large part of the segment
        Viewer("slow", duration=420.0, rendition="480p30", segment_bytes=2_500_000, viewport=WIDE),
        # a player that stalled, a background tab, a preview
        Viewer("stalled", duration=420.0, stalls=2, viewport=WIDE, **MID),
        Viewer("hidden", duration=420.0, visible=False, viewport=WIDE, **MID),
        Viewer("preview", duration=40.0, viewport=WIDE, **MID),
        # the channel's top rung: nothing to climb to
        Viewer("top", duration=420.0, viewport=WIDE),
    )
    for sid in ("small", "slow", "stalled", "hidden", "preview", "top"):
        assert "abr_pinned_low" not in final[sid].reasons, (sid, final[sid].reasons)
        assert final[sid].action == "count"


def test_a_ladder_topping_at_480p_has_no_rung_to_climb_to() -> None:
    pinned = Viewer("pin", duration=420.0, muted=True, viewport=WIDE, **MID)
    d = run(merge(pinned, small_embed()))["pin"]
    assert "abr_pinned_low" not in d.reasons, d.reasons


# --- seamless_network_change (single) and seamless_change_cohort ----------------------------------


def rotator(i: int, **kw) -> Viewer:
    # A residential proxy's sticky session: the exit moves to another operator once, and the
    # fetch rhythm does not miss a beat.
    base = dict(
        ip=f"71.{i}.3.4",
        asn=701,
        start=T0 + i * 7.0,
        duration=500.0,
        moves=[(200.0 + 20 * i, f"99.{i}.5.6", 7018, "US")],
    )
    base.update(kw)
    return Viewer(f"rot-{i}", **base)


def test_one_seamless_operator_change_is_medium() -> None:
    d = final_of(rotator(0))["rot-0"]
    assert "seamless_network_change" in d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_a_cohort_of_seamless_changes_is_flagged() -> None:
    final = final_of(*(rotator(i) for i in range(4)))
    for i in range(4):
        d = final[f"rot-{i}"]
        assert {"seamless_network_change", "seamless_change_cohort"} <= set(d.reasons)
        assert d.action != "count", (d.score, d.reasons)


def test_handovers_with_a_gap_phones_and_border_crossings_are_not_seamless() -> None:
    final = final_of(
        # desktops whose change took a real handover's pause
        *(rotator(i, move_gap=4.0) for i in range(3)),
        # phones: Wi-Fi to cellular can be seamless with connection migration
        *(rotator(10 + i, ua=IPHONE_UA, ja4=SAFARI_JA4) for i in range(3)),
        # a new Tor circuit: another exit in another country
        rotator(20, ua=FIREFOX_UA, ja4=FIREFOX_JA4, moves=[(300.0, "171.25.193.9", 198093, "SE")]),
    )
    for sid in [f"rot-{i}" for i in (0, 1, 2, 10, 11, 12, 20)]:
        d = final[sid]
        assert "seamless_network_change" not in d.reasons, (sid, d.reasons)
        assert "seamless_change_cohort" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)
