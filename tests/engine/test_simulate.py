"""The traffic simulator: schema-valid, ordered, labelled, and each population and family behaves
the way its docstring says (asserted on observable properties of the events)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import msgspec
import pytest

from engine.schemas import DlqRecord, decode_event
from engine.simulate import FAMILIES, HUMAN_POPULATIONS, SimConfig, Simulation
from engine.simulate.cdn import RENDITIONS, SEGMENT_SECONDS
from engine.simulate.clients import JA4, matching_ja4
from engine.simulate.emit import TOPICS
from engine.simulate.network import ASN_BY_NUMBER

CFG = SimConfig(seed=7, channels=8, duration=900.0, viewers=220, attack_share=0.3)
BROWSER_JA4 = {JA4["chrome"], JA4["firefox"], JA4["safari"]}
SCRIPT_JA4 = {JA4[k] for k in ("python", "aiohttp", "go", "curl", "node", "ffmpeg")}


@dataclass
class Sess:
    label: str
    family: str
    first_ts: float
    last_ts: float
    cdn: list[dict] = field(default_factory=list)
    player: list[dict] = field(default_factory=list)
    chat: list[dict] = field(default_factory=list)
    challenge: list[dict] = field(default_factory=list)

    def segments(self) -> list[dict]:
        return [e for e in self.cdn if "/seg_" in e["path"]]

    def heartbeat_gaps(self) -> list[float]:
        ts = [e["ts"] for e in self.player if e["type"] == "heartbeat"]
        return [b - a for a, b in itertools.pairwise(ts)]


@dataclass
class Data:
    raw: list[tuple[float, int, str, bytes]]
    labels: list[dict]
    sessions: dict[str, Sess]

    def by_family(self, family: str) -> list[Sess]:
        found = [s for s in self.sessions.values() if s.family == family]
        assert found, f"no {family} sessions"
        return found


@pytest.fixture(scope="module")
def data() -> Data:
    labels: list[dict] = []
    sim = Simulation(CFG, on_label=lambda lab: labels.append(msgspec.structs.asdict(lab)))
    raw = list(sim.events())
    sessions = {
        lab["session_id"]: Sess(lab["label"], lab["family"], lab["first_ts"], lab["last_ts"])
        for lab in labels
    }
    dec = msgspec.json.Decoder()
    for _, topic, key, value in raw:
        v = dec.decode(value)
        getattr(sessions[key], ("cdn", "player", "chat", "challenge")[topic]).append(v)
    return Data(raw, labels, sessions)


# ---- contract


def test_every_event_validates_against_its_schema(data: Data) -> None:
    bad = [decode_event(TOPICS[t], v) for _, t, _, v in data.raw]
    assert not [b for b in bad if isinstance(b, DlqRecord)]
    assert len(data.raw) > 100_000


def test_events_are_in_global_event_time_order_within_the_window(data: Data) -> None:
    ts = [e[0] for e in data.raw]
    assert all(a <= b for a, b in itertools.pairwise(ts))
    assert ts[0] >= CFG.start_ts and ts[-1] < CFG.start_ts + CFG.duration


def test_the_key_is_the_session_id_of_the_value(data: Data) -> None:
    for _, _, key, value in data.raw[:20_000]:
        assert msgspec.json.decode(value)["session_id"] == key


def test_event_ids_are_unique(data: Data) -> None:
    ids = [
        e["event_id"]
        for s in data.sessions.values()
        for e in s.cdn + s.player + s.chat + s.challenge
    ]
    assert len(ids) == len(set(ids)) == len(data.raw)


def test_labels_cover_exactly_the_sessions_in_the_events(data: Data) -> None:
    in_events = {key for _, _, key, _ in data.raw}
    labelled = [lab["session_id"] for lab in data.labels]
    assert len(labelled) == len(set(labelled))
    assert set(labelled) == in_events
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for ts, _, key, _ in data.raw:
        first.setdefault(key, ts)
        last[key] = ts
    for lab in data.labels:
        assert list(lab) == ["session_id", "label", "family", "first_ts", "last_ts"]
        assert (lab["first_ts"], lab["last_ts"]) == (
            first[lab["session_id"]],
            last[lab["session_id"]],
        )
        assert lab["label"] in ("human", "bot")
        assert lab["family"] in (HUMAN_POPULATIONS if lab["label"] == "human" else FAMILIES)


def test_every_population_and_family_appears(data: Data) -> None:
    families = Counter(s.family for s in data.sessions.values())
    assert set(families) == set(HUMAN_POPULATIONS) | set(FAMILIES)
    bots = sum(1 for s in data.sessions.values() if s.label == "bot")
    assert 0.15 < bots / len(data.sessions) < 0.5


def test_labels_never_leak_into_events(data: Data) -> None:
    blob = b"".join(v for _, _, _, v in data.raw[:50_000])
    for word in (b'"label"', b'"family"', b"human", b"playlist_poller", b"residential_swarm"):
        assert word not in blob


# ---- HLS mechanics


def test_segments_follow_the_live_edge_with_consistent_object_sizes(data: Data) -> None:
    sizes: dict[str, int] = {}
    for s in data.sessions.values():
        for e in s.segments():
            if e["status"] in (200, 206) and e["method"] == "GET":
                assert sizes.setdefault(e["path"], e["object_size"]) == e["object_size"]
    assert len(sizes) > 1000
    per_rendition: dict[str, list[int]] = defaultdict(list)
    for path, size in sizes.items():
        per_rendition[path.split("/")[3]].append(size)
    for name, values in per_rendition.items():
        expected = RENDITIONS[name].kbps * 1000 * SEGMENT_SECONDS / 8
        assert 0.6 * expected < statistics.median(values) < 1.4 * expected


def test_watching_humans_fetch_about_one_segment_per_segment_duration(data: Data) -> None:
    rates = []
    for s in data.by_family("desktop"):
        span = s.last_ts - s.first_ts
        if span > 300:
            rates.append(len(s.segments()) / span)
    assert 0.4 < statistics.median(rates) < 0.6
    seqs = [
        int(e["path"].rsplit("_", 1)[1].split(".")[0])
        for e in data.by_family("desktop")[0].segments()
    ]
    assert seqs == sorted(seqs)


def test_full_reads_send_the_whole_object_and_durations_follow_bandwidth(data: Data) -> None:
    full = partial = 0
    for s in data.by_family("desktop"):
        for e in s.segments():
            if e["status"] == 200:
                full += e["bytes_sent"] == e["object_size"]
                partial += e["bytes_sent"] < e["object_size"]
                assert e["duration_ms"] > 0
    assert partial / (full + partial) < 0.01
    slow = [
        e["duration_ms"]
        for s in data.by_family("low_bandwidth")
        for e in s.segments()
        if e["status"] == 200
    ]
    fast = [
        e["duration_ms"]
        for s in data.by_family("desktop")
        for e in s.segments()
        if e["status"] == 200
    ]
    assert statistics.median(slow) > 2 * statistics.median(fast)


def test_status_codes_include_occasional_errors(data: Data) -> None:
    statuses = Counter(
        e["status"] for s in data.sessions.values() if s.label == "human" for e in s.cdn
    )
    errors = sum(n for code, n in statuses.items() if code >= 400)
    assert 0 < errors / sum(statuses.values()) < 0.02
    assert any(400 <= c < 500 for c in statuses) and any(c >= 500 for c in statuses)


def test_playhead_advances_with_real_time_while_playing(data: Data) -> None:
    ratios = []
    for s in data.by_family("desktop"):
        beats = [e for e in s.player if e["type"] == "heartbeat"]
        if len(beats) >= 5 and not any(e["type"] in ("pause", "stall") for e in s.player):
            ratios.append(
                (beats[-1]["position_s"] - beats[0]["position_s"])
                / (beats[-1]["ts"] - beats[0]["ts"])
            )
    assert ratios and all(0.95 < r < 1.05 for r in ratios)


# ---- human populations


def _hb_sd(sessions: list[Sess]) -> float:
    sds = [statistics.pstdev(g) for s in sessions if len(g := s.heartbeat_gaps()) >= 4]
    return statistics.median(sds)


def test_humans_heartbeat_with_jitter_and_mostly_pass_challenges(data: Data) -> None:
    humans = [
        s for s in data.sessions.values() if s.label == "human" and s.family != "background_tab"
    ]
    assert _hb_sd(humans) > 0.05
    results = [
        c["passed"] for s in data.sessions.values() if s.label == "human" for c in s.challenge
    ]
    assert results and sum(results) / len(results) > 0.9


def test_mobile_cgnat_sessions_share_addresses(data: Data) -> None:
    mobile = data.by_family("mobile_cgnat")
    ips = Counter(s.cdn[0]["client_ip"] for s in mobile if s.cdn)
    assert len(ips) < 0.6 * len(mobile)
    assert max(ips.values()) >= 3
    assert all(ASN_BY_NUMBER[s.cdn[0]["asn"]].kind in ("mobile", "residential") for s in mobile)
    assert any(
        "AppleCoreMedia" in s.cdn[0]["user_agent"] and s.cdn[0]["referer"] == "" for s in mobile
    )


def test_corporate_nat_puts_many_sessions_behind_one_address(data: Data) -> None:
    office = data.by_family("corporate_nat")
    ips = Counter(s.cdn[0]["client_ip"] for s in office)
    assert max(ips.values()) >= 5
    assert all(ASN_BY_NUMBER[s.cdn[0]["asn"]].kind in ("business", "education") for s in office)


def test_vpn_users_come_from_hosting_asns_with_real_browsers(data: Data) -> None:
    vpn = data.by_family("vpn")
    assert all(ASN_BY_NUMBER[s.cdn[0]["asn"]].kind in ("vpn", "hosting") for s in vpn)
    # (a few "desktop" devices are Roku TVs: a router-level VPN carries them too)
    real = BROWSER_JA4 | {JA4["okhttp"], JA4["roku"], ""}
    assert all(s.cdn[0]["tls_fingerprint"] in real for s in vpn)


def test_background_tabs_are_hidden_and_muted_but_keep_fetching(data: Data) -> None:
    tabs = [s for s in data.by_family("background_tab") if s.last_ts - s.first_ts > 300]
    with_telemetry = [s for s in tabs if s.player]
    assert len(with_telemetry) > 0.7 * len(tabs)
    for s in with_telemetry:
        late = [e for e in s.player if e["ts"] > s.first_ts + 100]
        assert late and all(not e["visible"] and e["muted"] for e in late)
    for s in tabs:
        assert len(s.segments()) / (s.last_ts - s.first_ts) > 0.4


def test_pausers_stop_segments_but_keep_polling_playlists_while_paused(data: Data) -> None:
    checked = 0
    for s in data.by_family("pauser"):
        events = [e for e in s.player if e["type"] in ("pause", "resume")]
        for p, r in itertools.pairwise(events):
            if p["type"] == "pause" and r["type"] == "resume" and r["ts"] - p["ts"] > 90:
                quiet = (p["ts"] + 60, r["ts"])
                inside = [e for e in s.cdn if quiet[0] < e["ts"] < quiet[1]]
                assert inside and all("/seg_" not in e["path"] for e in inside)
                checked += 1
    assert checked >= 3


def test_low_bandwidth_viewers_stall_and_switch_down(data: Data) -> None:
    low = data.by_family("low_bandwidth")
    kinds = Counter(e["type"] for s in low for e in s.player)
    assert kinds["stall"] > 0 and kinds["rendition_change"] > 0
    rendition_kbps = [RENDITIONS[e["path"].split("/")[3]].kbps for s in low for e in s.segments()]
    desktop_kbps = [
        RENDITIONS[e["path"].split("/")[3]].kbps
        for s in data.by_family("desktop")
        for e in s.segments()
    ]
    assert statistics.mean(rendition_kbps) < 0.6 * statistics.mean(desktop_kbps)


def test_lurkers_never_write_in_chat(data: Data) -> None:
    assert not [e for s in data.by_family("lurker") for e in s.chat if e["type"] == "message"]
    writers = [s for s in data.by_family("desktop") if any(e["type"] == "message" for e in s.chat)]
    assert writers


def test_ipv6_users_have_ipv6_addresses(data: Data) -> None:
    v6 = data.by_family("ipv6")
    assert all(":" in s.cdn[0]["client_ip"] for s in v6)


def test_raids_are_a_burst_of_real_viewers_with_a_raid_referer(data: Data) -> None:
    raid = data.by_family("raid")
    by_channel: dict[str, list[float]] = defaultdict(list)
    for s in raid:
        by_channel[s.cdn[0]["channel_id"]].append(s.first_ts)
    for firsts in by_channel.values():
        firsts.sort()
        assert firsts[int(0.7 * len(firsts))] - firsts[0] < 60
    with_ref = [e["referer"] for s in raid for e in s.cdn[:1] if e["referer"]]
    assert with_ref and all("referrer=raid" in r for r in with_ref)
    assert sum(1 for s in raid if any(e["type"] == "message" for e in s.chat)) > 0.2 * len(raid)


# ---- bot families


def test_playlist_pollers_never_fetch_segments_nor_send_player_events(data: Data) -> None:
    for s in data.by_family("playlist_poller"):
        assert s.cdn and all(e["path"].endswith(".m3u8") for e in s.cdn)
        assert not s.player and not s.chat


def test_headless_browsers_beat_like_clockwork(data: Data) -> None:
    headless = data.by_family("headless_browser")
    assert _hb_sd(headless) < 0.01
    assert all(e["muted"] and e["visible"] for s in headless for e in s.player)
    assert all(s.cdn[0]["tls_fingerprint"] == JA4["chrome"] for s in headless)
    assert any("HeadlessChrome" in s.cdn[0]["user_agent"] for s in headless)
    assert all(ASN_BY_NUMBER[s.cdn[0]["asn"]].kind == "hosting" for s in headless)


def test_segment_skimmers_read_only_part_of_each_segment(data: Data) -> None:
    for s in data.by_family("segment_skimmer"):
        segs = s.segments()
        assert segs and all(e["bytes_sent"] < e["object_size"] for e in segs)


def test_token_replayers_use_one_session_from_many_networks(data: Data) -> None:
    for s in data.by_family("token_replayer"):
        assert len({e["client_ip"] for e in s.cdn}) >= 2
    replay = data.by_family("token_replayer")
    assert statistics.median(len({e["asn"] for e in s.cdn}) for s in replay) >= 2
    dup = [
        Counter(e["path"] for e in s.segments()).most_common(1)[0][1]
        for s in replay
        if s.segments()
    ]
    assert max(dup) >= 2


def test_hosting_farms_claim_a_browser_over_a_script_tls_stack(data: Data) -> None:
    for s in data.by_family("hosting_farm"):
        first = s.cdn[0]
        assert "Mozilla/5.0" in first["user_agent"] and first["tls_fingerprint"] in SCRIPT_JA4
        assert ASN_BY_NUMBER[first["asn"]].kind == "hosting"
        # full reads, except the download a session leaving (or ended by the run) cut short
        full = s.segments()[:-1]
        assert all(e["bytes_sent"] == e["object_size"] for e in full if e["status"] == 200)


def test_residential_swarms_churn_addresses_and_beat_in_step(data: Data) -> None:
    swarm = data.by_family("residential_swarm")
    assert all(
        ASN_BY_NUMBER[e["asn"]].kind in ("residential", "mobile") for s in swarm for e in s.cdn
    )
    long = [s for s in swarm if s.last_ts - s.first_ts > 300]
    assert long and sum(1 for s in long if len({e["client_ip"] for e in s.cdn}) > 1) > 0.5 * len(
        long
    )
    assert all(
        e["visible"] and e["type"] not in ("pause", "resume") for s in swarm for e in s.player
    )
    phases = Counter(
        round(e["ts"] % 20.0) for s in swarm for e in s.player if e["type"] == "heartbeat"
    )
    assert phases.most_common(3)[-1][1] > 0.1 * sum(phases.values())


def test_challenge_evaders_look_human_but_fail_challenges(data: Data) -> None:
    evaders = data.by_family("challenge_evader")
    results = [c["passed"] for s in evaders for c in s.challenge]
    assert len(results) > 0.6 * len(evaders)
    assert sum(results) / len(results) < 0.3
    assert all(ASN_BY_NUMBER[s.cdn[0]["asn"]].kind == "residential" for s in evaders)
    assert _hb_sd(evaders) > 0.05
    assert sum(
        matching_ja4(s.cdn[0]["user_agent"]) == s.cdn[0]["tls_fingerprint"] for s in evaders
    ) > 0.5 * len(evaders)


def test_attacks_start_part_way_in_bursts(data: Data) -> None:
    humans_first: dict[str, float] = {}
    bots_first: dict[str, list[float]] = defaultdict(list)
    for s in data.sessions.values():
        channel = (s.cdn or s.player)[0]["channel_id"]
        if s.label == "human":
            humans_first[channel] = min(humans_first.get(channel, s.first_ts), s.first_ts)
        else:
            bots_first[channel].append(s.first_ts)
    partway = [c for c, ts in bots_first.items() if min(ts) > humans_first[c] + 0.05 * CFG.duration]
    assert partway
    for s_family in ("residential_swarm", "headless_browser"):
        firsts = sorted(s.first_ts for s in data.by_family(s_family))
        burst = max(sum(1 for t in firsts if a <= t < a + 60) for a in firsts)
        assert burst >= 0.3 * len(firsts)


def _address_changes(s: Sess) -> list[tuple[float, dict, dict]]:
    """(request gap, request before, request after) at each change of client address."""
    out = []
    for a, b in itertools.pairwise(s.cdn):
        if a["client_ip"] != b["client_ip"]:
            out.append((b["ts"] - a["ts"], a, b))
    return out


def test_rotating_proxies_change_exit_between_two_requests(data: Data) -> None:
    rot = data.by_family("rotating_proxy")
    changes = [c for s in rot for c in _address_changes(s)]
    assert changes  # sticky sessions of minutes: short sessions may keep one exit
    # the gateway swaps exits between two requests of the player's rhythm: no gap
    assert statistics.median(gap for gap, _, _ in changes) < 2.1
    assert sum(a["asn"] != b["asn"] for _, a, b in changes) > 0.5 * len(changes)
    assert all(
        ASN_BY_NUMBER[e["asn"]].kind in ("residential", "mobile") for s in rot for e in s.cdn
    )
    assert all(matching_ja4(s.cdn[0]["user_agent"]) == s.cdn[0]["tls_fingerprint"] for s in rot)
    assert all(e["visible"] for s in rot for e in s.player)


def test_drip_feeds_add_one_viewer_at_a_time_on_one_build(data: Data) -> None:
    drip = data.by_family("drip_feed")
    by_channel: dict[str, list[Sess]] = defaultdict(list)
    for s in drip:
        by_channel[s.cdn[0]["channel_id"]].append(s)
    for sessions in by_channel.values():
        assert len({s.cdn[0]["user_agent"] for s in sessions}) == 1  # one toolkit build
        firsts = sorted(s.first_ts for s in sessions if s.first_ts > CFG.start_ts + 5.0)
        gaps = [b - a for a, b in itertools.pairwise(firsts)]
        if len(gaps) >= 4:
            assert min(gaps) > 2.0  # never a wave
            mean = statistics.mean(gaps)
            assert statistics.pstdev(gaps) / mean < 0.6  # the scheduler's beat
    assert _hb_sd(drip) > 0.05


def test_stealth_browsers_look_like_desktop_chrome_and_never_hide_or_pause(data: Data) -> None:
    stealth = data.by_family("stealth_browser")
    for s in stealth:
        ua = s.cdn[0]["user_agent"]
        assert "HeadlessChrome" not in ua and "Chrome/" in ua and "Mobile" not in ua
        assert s.cdn[0]["tls_fingerprint"] == JA4["chrome"]
        assert all(e["visible"] and e["type"] not in ("pause", "resume") for e in s.player)
    assert _hb_sd(stealth) > 0.01  # randomized timers, not a machine clock
    assert sum(1 for s in stealth for e in s.segments() if e["bytes_sent"] == e["object_size"])


def test_mobile_handovers_lose_the_link_for_seconds(data: Data) -> None:
    phones = data.by_family("mobile_handover")
    changes = [c for s in phones for c in _address_changes(s)]
    assert changes
    asn_changes = [gap for gap, a, b in changes if a["asn"] != b["asn"]]
    assert asn_changes and statistics.median(asn_changes) > 2.5
    assert all(c["country"] == b["country"] for _, c, b in changes)


def test_embed_viewers_arrive_from_the_embedding_page_muted_and_small(data: Data) -> None:
    embed = data.by_family("embed_viewer")
    referers = {e["referer"] for s in embed for e in s.cdn if e["referer"]}
    assert referers and all("streamhub.tv" not in r for r in referers)
    assert all(s.player[0]["muted"] for s in embed if s.player)
    assert all(e["viewport_w"] <= 854 for s in embed for e in s.player)
    assert not [e for s in embed for e in s.chat]
