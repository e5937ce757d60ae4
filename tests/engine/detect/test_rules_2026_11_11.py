"""Rules 2026.11.11: bot families the rules had not seen, each next to the people it resembles.

* ``client_trickle``: a slow drip (one viewer every half minute, each from a network of its
  own) is caught by the steady beat of its client build's arrivals; people of that build who
  arrive at random, an embed's steady but independent stream of one build, and a person of
  the drip's build joining between two of its viewers are not.
* ``seamless_change_cohort`` for phones: phone-dressed exits of a rotating proxy pool that
  move between two home networks without a beat, together; phones moving seamlessly between
  Wi-Fi and cellular (connection migration) are never members.
* ``seamless_network_change`` after an earlier stall: a proxy's slow exit stalls now and then;
  only a stall near the change protects it (a real handover's), not any stall of the session.
* ``seamless_network_change`` for a phone reaching new networks twice without a beat; a phone
  flapping between its Wi-Fi and its carrier is not read.
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

# ---- client_trickle


def audience(n: int = 24, *, seed: int = 5, ua_of=lambda i: OTHER_UAS[i % 5]) -> list[Viewer]:
    """People arriving at random (Poisson, a mean gap of 25 s), each from its own network."""
    return [
        Viewer(f"aud-{i}", start=t, duration=900.0, ip=f"24.{i}.1.1", asn=7000 + i, ua=ua_of(i))
        for i, t in enumerate(poisson_times(n, 25.0, seed, T0))
    ]


def drip(n: int = 18, gap: float = 30.0, jitter: float = 0.2, seed: int = 3) -> list[Viewer]:
    """One viewer every ``gap`` s (uniform jitter), one browser build, each its own network."""
    return [
        Viewer(
            f"drip-{i}",
            start=t,
            duration=1200.0 - (t - T0),
            ip=f"{80 + i % 40}.{i}.7.{10 + i}",
            asn=64600 + i,
            ua=DRIP_UA,
            muted=True,
        )
        for i, t in enumerate(beat_times(n, gap, jitter, seed, T0 + 20.0))
    ]


def test_a_slow_drip_of_one_build_is_caught_by_its_beat() -> None:
    bots = drip()
    people = audience()
    final = finals(people, bots)
    caught = [v for v in bots if "client_trickle" in final[v.session_id].reasons]
    # the last joins' cadence is read once 12 gaps are in; the first and the last join have
    # no gap on one side, so they are never on the beat
    assert len(caught) >= 12, [final[v.session_id].features for v in bots]
    assert all(final[v.session_id].action != "count" for v in caught)
    assert_counted(final, people, "client_trickle")


def test_a_loose_beat_is_medium_and_does_not_suppress_alone() -> None:
    bots = drip(jitter=0.75, seed=11)
    final = finals(audience(), bots)
    read = [final[v.session_id] for v in bots if "client_trickle" in final[v.session_id].reasons]
    for d in read:
        if d.features["client_trickle_joins"] and d.score < 0.5:
            assert d.action == "count"


def test_people_of_one_build_arriving_steadily_from_an_embed_are_not_a_drip() -> None:
    # An article embedding the channel: 30 readers over 12 minutes, all on the same browser
    # build (the embed's audience is one newsroom's readers on one Chrome release), arriving
    # independently: a steady stream, not a metronome.
    people = audience(30, seed=8, ua_of=lambda i: DRIP_UA)
    final = finals(people)
    assert_counted(final, people, "client_trickle")


def test_a_person_of_the_drips_build_joining_between_two_of_its_viewers_is_not_read() -> None:
    bots = drip()
    # a third of the way into the gap between the 8th and the 9th join
    at = bots[8].start + (bots[9].start - bots[8].start) / 3.0
    person = Viewer("same-build", start=at, duration=600.0, ip="68.4.4.4", asn=22773, ua=DRIP_UA)
    final = finals(audience(), bots, [person])
    assert_counted(final, [person], "client_trickle")
    caught = [v for v in bots if "client_trickle" in final[v.session_id].reasons]
    assert len(caught) >= 10


def test_too_few_joins_for_a_cadence_are_not_read() -> None:
    bots = drip(n=10)
    final = finals(audience(), bots)
    for v in bots:
        assert "client_trickle" not in final[v.session_id].reasons


def test_one_networks_people_of_one_build_arriving_steadily_are_left_to_join_trickle() -> None:
    # A campus handing every desktop a public address of its ISP, one managed browser build,
    # students arriving every 13 s between classes: the network's beat (join_trickle, context)
    # tells it, and their common build adds nothing.
    campus = [
        Viewer(f"cam-{i}", ip=f"24.{i}.1.1", asn=7922, start=T0 + 90.0 + i * 13.0, ua=DRIP_UA)
        for i in range(30)
    ]
    final = finals(audience(), campus)
    assert any("join_trickle" in final[v.session_id].reasons for v in campus)
    assert_counted(final, campus, "client_trickle")


def test_a_build_that_is_the_whole_audience_is_at_most_medium() -> None:
    # Every join of the channel is one build on one beat: the beat is the audience's own, not
    # a stream inside it, so it is medium (never suppresses alone).
    bots = drip(n=24)
    final = finals(bots)
    read = [final[v.session_id] for v in bots if "client_trickle" in final[v.session_id].reasons]
    assert read
    assert all(d.action == "count" for d in read), [(d.score, d.reasons) for d in read]


def test_sessions_of_a_channels_first_minute_of_log_are_no_arrivals() -> None:
    # A replay (or a fresh worker) starting mid-drip: the viewers already watching show up
    # within the first minute; their first events are not joins, so no beat is read there.
    warm = [
        Viewer(f"warm-{i}", start=T0 + i * 2.5, duration=600.0, ip=f"90.{i}.1.1", asn=9500 + i)
        for i in range(20)
    ]
    final = finals(warm)
    for v in warm:
        assert final[v.session_id].features["client_trickle_joins"] == 0


# ---- phones in a rotating pool


def phones(
    n: int, to_asn: int, to_country: str, *, prefix: str = "ph", at: float = 200.0
) -> list[Viewer]:
    """Phones on home networks (Comcast, US) moving at ``at`` s to ``to_asn`` without a gap."""
    return [
        Viewer(
            f"{prefix}-{i}",
            start=T0 + i * 7.0,
            duration=600.0,
            ip=f"73.{i}.40.9",
            asn=7922,
            country="US",
            ua=IPHONE_UA,
            ja4=SAFARI_JA4,
            moves=[(at - i * 7.0 + i * 4.0, f"177.{i}.3.3", to_asn, to_country)],
        )
        for i in range(n)
    ]


def test_phone_dressed_exits_moving_between_home_networks_together_are_a_cohort() -> None:
    # A rotating pool's exits: home lines of Comcast, then of Vivo in Brazil, between two
    # requests, four "phones" in the same minute.
    bots = phones(4, 27699, "BR")
    final = finals(bots)
    for v in bots:
        d = final[v.session_id]
        assert "seamless_change_cohort" in d.reasons, d.features
        assert d.action != "count", (d.score, d.reasons)


def test_phones_migrating_from_wifi_to_cellular_together_are_not_a_cohort() -> None:
    # Four phones leaving one café's Wi-Fi for T-Mobile (connection migration keeps their
    # connections: no gap), and four travellers' phones leaving hotel Wi-Fi for their roaming
    # carrier (EE, routed home to the UK) the same way.
    local = phones(4, 21928, "US", prefix="cafe")
    roaming = phones(4, 12576, "GB", prefix="hotel")
    final = finals(local, roaming)
    for v in local + roaming:
        assert "seamless_change_cohort" not in final[v.session_id].reasons
    assert_counted(final, local + roaming, "seamless_change_cohort")


# ---- a seamless change after an earlier stall


def desktop(sid: str, *, stall_at_move: bool, gap: float) -> Viewer:
    return Viewer(
        sid,
        duration=600.0,
        ip="73.5.5.5",
        asn=7922,
        stalls=1,
        seed=2,
        moves=[(400.0 if not stall_at_move else 0.0, "99.8.8.8", 7018, "US")],
        move_gap=gap,
    )


def _first_stall(v: Viewer) -> float:
    from detect_builders import events

    return min(e.ts for e in events(v) if getattr(e, "type", "") == "stall") - v.start


def test_a_seamless_change_minutes_after_a_stall_is_read() -> None:
    v = desktop("proxy-exit", stall_at_move=False, gap=0.0)
    assert _first_stall(v) < 380.0  # the stall came long before the change
    d = finals([v])[v.session_id]
    assert "seamless_network_change" in d.reasons, d.features
    assert d.action == "count"  # medium: never suppresses alone


def test_a_real_handover_after_a_stall_is_not_read() -> None:
    v = desktop("laptop", stall_at_move=False, gap=5.0)
    d = finals([v])[v.session_id]
    assert "seamless_network_change" not in d.reasons
    assert d.action == "count"


# ---- a phone reaching new networks again and again without a beat


def test_a_phone_reaching_new_networks_twice_without_a_beat_is_read() -> None:
    v = Viewer(
        "phone-exit",
        duration=1200.0,
        ip="73.1.1.1",
        asn=7922,
        ua=IPHONE_UA,
        ja4=SAFARI_JA4,
        moves=[(300.0, "99.2.2.2", 7018, "US"), (800.0, "71.3.3.3", 701, "US")],
    )
    d = finals([v])[v.session_id]
    assert "seamless_network_change" in d.reasons, d.features
    assert d.action == "count"  # medium (0.6): never suppresses alone


def test_a_phone_flapping_between_its_wifi_and_its_carrier_is_not_read() -> None:
    v = Viewer(
        "phone-edge",
        duration=1200.0,
        ip="73.1.1.1",
        asn=7922,
        ua=IPHONE_UA,
        ja4=SAFARI_JA4,
        moves=[
            (300.0, "172.56.2.2", 21928, "US"),
            (800.0, "73.1.1.1", 7922, "US"),
        ],
    )
    d = finals([v])[v.session_id]
    assert "seamless_network_change" not in d.reasons
    assert d.action == "count"


def test_chrome_ja4_is_the_drip_builds_fingerprint() -> None:
    # the drip and the audience share the TLS stack: only the build string tells them apart
    assert drip()[0].ja4 == CHROME_JA4 == audience()[0].ja4


# ---- inert_player: a driven browser in a data centre does nothing for minutes


def rented(n: int, *, prefix: str = "vm", **kw) -> list[Viewer]:
    """``n`` desktop Chromes of this channel on one rented address (DigitalOcean)."""
    base = dict(duration=600.0, ip="159.203.44.7", asn=14061, muted=True, heartbeat_s=20.0)
    base.update(kw)
    return [Viewer(f"{prefix}-{i}", start=T0 + i * 11.0, **base) for i in range(n)]


def test_stealth_browsers_on_a_rented_address_are_caught_by_doing_nothing() -> None:
    bots = rented(7)
    final = finals(bots)
    for v in bots:
        d = final[v.session_id]
        assert "inert_player" in d.reasons, d.features
        assert "hosting_ip_crowd" in d.reasons
        assert d.action != "count", (d.score, d.reasons)


def test_vpn_users_who_unmute_switch_tabs_or_chat_are_not_inert() -> None:
    # Seven people of the channel on one VPN exit (M247): one group listening, one with the
    # player in a background tab for a while (never visible: hidden the whole time), one
    # chatting while muted.
    listening = rented(3, prefix="vpn-sound", ip="185.236.200.9", asn=9009, muted=False)
    away = rented(2, prefix="vpn-away", ip="185.236.200.9", asn=9009, visible=False)
    chatting = rented(2, prefix="vpn-chat", ip="185.236.200.9", asn=9009, chat_every=60.0)
    people = listening + away + chatting
    final = finals(people)
    assert_counted(final, people, "inert_player")


def test_a_muted_player_left_visible_at_home_is_not_read() -> None:
    # Five minutes and more, muted, visible, no gesture, on a second screen at home: only
    # rented networks are read.
    person = Viewer("second-screen", duration=900.0, muted=True, heartbeat_s=20.0)
    final = finals([person])
    assert_counted(final, [person], "inert_player")


def test_inert_player_needs_five_minutes() -> None:
    bots = rented(7, duration=240.0)
    final = finals(bots)
    for v in bots:
        assert "inert_player" not in final[v.session_id].reasons
