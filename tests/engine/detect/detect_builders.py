"""Hand-built viewing sessions: a real HLS player's traffic, and the ways bots and people deviate.

A ``Viewer`` describes one session; ``events(viewer)`` turns it into the CDN, player, chat and
challenge events a live player at the live edge would cause: master and media playlist, then one
segment per segment duration (plus a start-up burst), heartbeats with the playhead, pauses with
no media, and so on. Every knob is one behaviour a test wants to isolate.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from engine.detect import Detector, Policy
from engine.schemas import BaseEvent, CdnLog, ChallengeResult, ChatEvent, Decision, PlayerEvent

T0 = 1_700_000_000.0
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
# A drip's one browser build, and other Chrome versions an audience runs (the rule tests').
DRIP_UA = CHROME_UA.replace("Chrome/124.0.0.0", "Chrome/125.0.6422.142")
OTHER_UAS = [CHROME_UA.replace("124.0.0.0", f"{v}.0.0.0") for v in (118, 119, 120, 121, 122)]
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ROKU_UA = "Roku/DVP-14.0 (14.0.4.5210-46)"
HEADLESS_UA = CHROME_UA.replace("Chrome/", "HeadlessChrome/")
CHROME_JA4 = "t13d1516h2_8daaf6152771_02713d6af862"
FIREFOX_JA4 = "t13d1715h2_5b57614c22b0_3d5424432f57"
SAFARI_JA4 = "t13d2014h2_a09f3c656075_14788d8d241b"
PYTHON_JA4 = "t13d1812h1_85036bcba153_375ca2c5e164"
PROXY_JA4 = "t12d3112h1_e8f1e7e78f70_6bebaf5329ac"  # a TLS-intercepting office proxy

_ids = itertools.count()


@dataclass
class Viewer:
    session_id: str
    channel_id: str = "ch-1"
    start: float = T0
    duration: float = 300.0
    ip: str = "73.12.34.56"
    asn: int = 7922
    country: str = "US"
    ua: str = CHROME_UA
    ja4: str = CHROME_JA4
    referer: str = "https://watch.example.tv/ch-1"
    segment_s: float = 2.0
    segment_bytes: int = 700_000
    rendition: str = "720p30"
    claimed_rendition: str = ""  # what the player reports, if not the rendition it fetches
    seed: int = 0
    jitter: float = 0.25  # request timing noise, as a fraction of the segment duration
    # media behaviour
    playlists: bool = True
    segments: bool = True
    fetch_every: int = 1  # fetch only every k-th segment
    read_fraction: float = 1.0  # share of each segment's bytes actually read
    abort_share: float = 0.0  # share of segments aborted half-way (ABR switching)
    fixed_segment: bool = False  # keep requesting the same segment number
    error_share: float = 0.0  # share of requests refused with 403
    ua_rotation: tuple[str, ...] = ()  # a different user agent per request, round robin
    pauses: list[tuple[float, float]] = field(default_factory=list)  # (offset, length)
    rewind: tuple[float, int] | None = None  # (offset, segments): jump back in a DVR window
    pause_events: bool = True  # False: the browser freezes the player without it saying so
    # player telemetry
    telemetry: bool = True
    heartbeat_s: float = 10.0
    heartbeat_jitter: float = 0.3  # seconds
    heartbeat_grid: float | None = None  # phase (s) of an absolute timer grid shared by a cohort
    playhead_rate: float = 1.0
    visible: bool = True
    muted: bool = False
    viewport: tuple[int, int] = (1280, 720)
    stalls: int = 0
    # network over time: (offset, ip, asn, country); the session's address changes at offset
    moves: list[tuple[float, str, int, str]] = field(default_factory=list)
    move_gap: float = 0.0  # seconds without any request after each move (a real handover)
    chat_every: float | None = None
    challenges: list[tuple[float, bool]] = field(default_factory=list)  # (offset, passed)
    challenge_error: str = "timeout"  # the error a failed challenge reports


def _eid() -> str:
    return f"e{next(_ids)}"


def _network_at(v: Viewer, offset: float) -> tuple[str, int, str]:
    ip, asn, country = v.ip, v.asn, v.country
    for at, m_ip, m_asn, m_country in v.moves:
        if offset >= at:
            ip, asn, country = m_ip, m_asn, m_country
    return ip, asn, country


def _paused(v: Viewer, offset: float) -> bool:
    return any(at <= offset < at + length for at, length in v.pauses)


def events(v: Viewer) -> list[BaseEvent]:
    rng = random.Random(f"{v.session_id}:{v.seed}")
    out: list[BaseEvent] = []
    base = dict(session_id=v.session_id, channel_id=v.channel_id)

    def cdn(offset: float, path: str, size: int, sent: int, status: int = 200) -> None:
        if v.move_gap and any(at <= offset < at + v.move_gap for at, *_ in v.moves):
            return  # the radio link or lease is being re-established: nothing gets through
        ip, asn, country = _network_at(v, offset)
        ua = v.ua_rotation[len(out) % len(v.ua_rotation)] if v.ua_rotation else v.ua
        if v.error_share and rng.random() < v.error_share:
            status, sent = 403, 0
        out.append(
            CdnLog(
                event_id=_eid(),
                ts=v.start + offset,
                client_ip=ip,
                asn=asn,
                country=country,
                user_agent=ua,
                method="GET",
                path=path,
                status=status,
                bytes_sent=sent,
                object_size=size,
                duration_ms=max(1, int(sent / 2000)),
                referer=v.referer,
                tls_fingerprint=v.ja4,
                **base,
            )
        )

    live0 = int(v.start // v.segment_s)
    prefix = f"/live/{v.channel_id}"
    cdn(0.0, f"{prefix}/index.m3u8", 900, 900)
    offset = 0.3
    first_seg = live0 - 3
    n = first_seg
    rewound = False
    if v.segments:
        for _ in range(3):  # start-up burst: three segments behind the live edge
            _segment(v, rng, cdn, offset, prefix, n)
            n += 1
            offset += 0.2
    while offset < v.duration:
        step = v.segment_s * (1.0 + v.jitter * (rng.random() - 0.5))
        offset += step
        if offset >= v.duration:
            break
        if v.playlists:
            cdn(offset, f"{prefix}/{v.rendition}/index.m3u8", 600, 600)
        live = int((v.start + offset) // v.segment_s)
        if v.rewind and offset >= v.rewind[0]:
            if not rewound:
                rewound = True
                n = live - 1 - v.rewind[1]
            live -= v.rewind[1]
        if not v.segments or _paused(v, offset):
            n = live  # a live player resumes at the live edge
            continue
        while n <= live - 1:
            if (n - first_seg) % v.fetch_every == 0:
                _segment(v, rng, cdn, offset + 0.05, prefix, first_seg if v.fixed_segment else n)
            n += 1

    if v.telemetry:
        _player(v, rng, out, base)
    if v.chat_every:
        t = v.chat_every
        while t < v.duration:
            out.append(
                ChatEvent(
                    event_id=_eid(),
                    ts=v.start + t,
                    user_id=f"u-{v.session_id}",
                    type="message",
                    text_len=20,
                    **base,
                )
            )
            t += v.chat_every
    for at, passed in v.challenges:
        out.append(
            ChallengeResult(
                event_id=_eid(),
                ts=v.start + at,
                passed=passed,
                error="" if passed else v.challenge_error,
                **base,
            )
        )
    out.sort(key=lambda e: e.ts)
    return out


def _segment(v, rng, cdn, offset, prefix, n) -> None:
    size = int(v.segment_bytes * (0.9 + 0.2 * rng.random()))
    sent = int(size * v.read_fraction)
    if v.abort_share and rng.random() < v.abort_share:
        sent = size // 3
    cdn(offset, f"{prefix}/{v.rendition}/seg_{n}.ts", size, sent)


def _player(v: Viewer, rng: random.Random, out: list[BaseEvent], base: dict) -> None:
    w, h = v.viewport
    position = 0.0

    def player(offset: float, kind: str) -> None:
        out.append(
            PlayerEvent(
                event_id=_eid(),
                ts=v.start + offset,
                type=kind,
                position_s=position,
                visible=v.visible,
                muted=v.muted,
                rendition=v.claimed_rendition or v.rendition,
                viewport_w=w,
                viewport_h=h,
                **base,
            )
        )

    player(0.8, "start")
    offset, last = 0.8, 0.8
    stalls_left = v.stalls
    paused = False
    if v.heartbeat_grid is not None:  # first tick of the shared grid after the start
        k = (v.start + offset - v.heartbeat_grid) // v.heartbeat_s + 1
        offset = k * v.heartbeat_s + v.heartbeat_grid - v.start - v.heartbeat_s
    while True:
        if v.heartbeat_grid is not None:
            offset += v.heartbeat_s
        else:
            offset += v.heartbeat_s + v.heartbeat_jitter * (rng.random() - 0.5) * 2
        if offset >= v.duration:
            break
        now_paused = _paused(v, offset)
        if not paused:
            position += (offset - last) * v.playhead_rate
        if v.rewind and last < v.rewind[0] <= offset:
            position = max(0.0, position - v.rewind[1] * v.segment_s)
        last = offset
        if now_paused and not paused and v.pause_events:
            player(offset, "pause")
        elif paused and not now_paused and v.pause_events:
            player(offset, "resume")
        else:
            player(offset, "heartbeat")
        paused = now_paused
        if stalls_left and rng.random() < 0.2:
            player(offset + 1.0, "stall")
            stalls_left -= 1
    player(v.duration, "end")


def merge(*viewers: Viewer) -> list[BaseEvent]:
    """Several sessions' events in event-time order, as a file of a channel would hold them."""
    out: list[BaseEvent] = []
    for v in viewers:
        out.extend(events(v))
    out.sort(key=lambda e: e.ts)
    return out


def run(event_list) -> dict[str, Decision]:
    """Replay ``event_list`` through a default-policy detector: each session's last decision."""
    detector = Detector(Policy())
    final: dict[str, Decision] = {}
    for event in event_list:
        decision = detector.process(event)
        if decision is not None:
            final[decision.session_id] = decision
    return final


def finals(*groups: list[Viewer]) -> dict[str, Decision]:
    """Each session's last decision when the groups' viewers watch one channel together."""
    return run(merge(*(v for g in groups for v in g)))


def one_per_network(n: int, *, start: float = T0 - 120.0, duration: float = 420.0) -> list[Viewer]:
    """An everyday audience: ``n`` viewers arriving 0.5 s apart, each from its own network."""
    return [
        Viewer(f"aud-{i}", start=start + i * 0.5, duration=duration, ip=f"86.{i}.9.9", asn=3000 + i)
        for i in range(n)
    ]


def assert_counted(final: dict[str, Decision], viewers: list[Viewer], code: str) -> None:
    """Every one of ``viewers`` ends counted, and ``code`` is not among its reasons."""
    for v in viewers:
        d = final[v.session_id]
        assert code not in d.reasons, (v.session_id, d.features)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


def raid(starts: list[float], duration: float = 120.0) -> list[Viewer]:
    """People redirected by a raid: each from its own network, a 15 s heartbeat with 10 ms of
    jitter, players starting at ``starts``."""
    return [
        Viewer(
            f"raid-{i}",
            start=at,
            duration=duration,
            ip=f"98.{i}.2.2",
            asn=30000 + i,
            heartbeat_s=15.0,
            heartbeat_jitter=0.01,
        )
        for i, at in enumerate(starts)
    ]


def beat_times(n: int, gap: float, jitter: float, seed: int, start: float) -> list[float]:
    """Join times of a scheduler: one every ``gap`` s, each gap jittered uniformly by
    ``jitter`` (a share of ``gap``) either way."""
    rng = random.Random(seed)
    out = []
    t = start
    for _ in range(n):
        out.append(t)
        t += gap * (1.0 - jitter + 2.0 * jitter * rng.random())
    return out


def poisson_times(n: int, mean_gap: float, seed: int, start: float) -> list[float]:
    """Join times of people arriving at random (exponential gaps, the first one too)."""
    rng = random.Random(seed)
    out = []
    t = start
    for _ in range(n):
        t += rng.expovariate(1 / mean_gap)
        out.append(t)
    return out


def stall_at(v: Viewer, offset: float, viewport: tuple[int, int] = (1280, 720)) -> PlayerEvent:
    """A player stall report of ``v`` at ``offset`` seconds into its session."""
    return PlayerEvent(
        event_id=f"stall-{v.session_id}-{offset}",
        ts=v.start + offset,
        session_id=v.session_id,
        channel_id=v.channel_id,
        type="stall",
        position_s=offset,
        visible=True,
        muted=False,
        rendition=v.rendition,
        viewport_w=viewport[0],
        viewport_h=viewport[1],
    )


def teaching_audience(n: int = 4, duration: float = 1500.0) -> list[Viewer]:
    """Ordinary viewers, one network each: they teach the channel its segment duration and
    are the baseline the arrival rules compare with."""
    return [
        Viewer(
            f"aud-{i}",
            start=T0 - 400.0 + i * 40.0,
            duration=duration,
            ip=f"86.{i}.9.9",
            asn=3000 + i,
        )
        for i in range(n)
    ]


def final_with_audience(*viewers: Viewer, extra=(), duration: float = 1500.0) -> dict:
    """Final decisions of ``viewers`` (and ``extra`` events) next to a teaching audience."""
    events = [*merge(*viewers, *teaching_audience(duration=duration)), *extra]
    return run(sorted(events, key=lambda e: e.ts))
