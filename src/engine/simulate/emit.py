"""Event encoding for one session: schema structs built once, refreshed per event, encoded by msgspec.

Each session keeps one template struct per topic (constructing a ``CdnLog`` validates its IP
address, which is the slow part) and overwrites the per-event fields before encoding. A
generator never has more than one event outstanding, so reusing the template is safe.
Timestamps are rounded to milliseconds (the precision CDN and player logs have) by integer
arithmetic, which is monotonic, so a session's rounded times stay in order.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import msgspec

from engine.schemas import CdnLog, ChallengeResult, ChatEvent, PlayerEvent
from engine.simulate.network import Client

TOPICS: tuple[str, ...] = ("cdn-logs", "player-events", "chat-events", "challenge-results")
CDN, PLAYER, CHAT, CHALLENGE = 0, 1, 2, 3

Emitted = tuple[float, int, bytes]  # (ts, topic index, JSON value)

_encode = msgspec.json.Encoder().encode


class SessionEmitter:
    """Builds the events of one session (or of one client when several share a session id)."""

    __slots__ = ("_bits", "_cdn", "_challenge", "_chat", "_player", "channel_id", "session_id")

    def __init__(
        self,
        rng: random.Random,
        session_id: str,
        channel_id: str,
        client: Client,
        user_agent: str,
        tls_fingerprint: str,
        referer: str,
    ) -> None:
        self._bits = rng.getrandbits
        self.session_id = session_id
        self.channel_id = channel_id
        self._cdn = CdnLog(
            event_id="-",
            ts=0.0,
            session_id=session_id,
            channel_id=channel_id,
            client_ip=client.ip,
            asn=client.asn,
            country=client.country,
            user_agent=user_agent,
            method="GET",
            path="/",
            status=200,
            bytes_sent=0,
            object_size=0,
            duration_ms=0,
            referer=referer,
            tls_fingerprint=tls_fingerprint,
        )
        self._player: PlayerEvent | None = None
        self._chat: ChatEvent | None = None
        self._challenge: ChallengeResult | None = None

    def set_client(self, client: Client) -> None:
        """Move to another address (NAT rebinding, network handover, proxy rotation)."""
        self._cdn = msgspec.structs.replace(
            self._cdn, client_ip=client.ip, asn=client.asn, country=client.country
        )

    def cdn(
        self,
        t: float,
        path: str,
        status: int,
        bytes_sent: int,
        object_size: int,
        seconds: float,
        method: str = "GET",
    ) -> Emitted:
        c = self._cdn
        ts = int(t * 1000.0 + 0.5) / 1000.0
        c.event_id = f"{self._bits(128):032x}"
        c.ts = ts
        if c.method != method:
            c.method = method
        c.path = path
        c.status = status
        c.bytes_sent = bytes_sent
        c.object_size = object_size
        c.duration_ms = int(seconds * 1000.0)
        return ts, CDN, _encode(c)

    def player(
        self,
        t: float,
        kind: str,
        position: float,
        visible: bool,
        muted: bool,
        rendition: str,
        viewport: tuple[int, int],
    ) -> Emitted:
        p = self._player
        ts = int(t * 1000.0 + 0.5) / 1000.0
        if p is None:
            p = self._player = PlayerEvent(
                event_id="-",
                ts=ts,
                session_id=self.session_id,
                channel_id=self.channel_id,
                type="start",
                position_s=0.0,
                visible=True,
                muted=False,
                rendition="",
                viewport_w=0,
                viewport_h=0,
            )
        p.event_id = f"{self._bits(128):032x}"
        p.ts = ts
        p.type = kind
        p.position_s = round(position, 3) if position > 0 else 0.0
        p.visible = visible
        p.muted = muted
        p.rendition = rendition
        p.viewport_w, p.viewport_h = viewport
        return ts, PLAYER, _encode(p)

    def chat(self, t: float, user_id: str, kind: str, text_len: int = 0) -> Emitted:
        ts = int(t * 1000.0 + 0.5) / 1000.0
        if self._chat is None:
            self._chat = ChatEvent(
                event_id="-",
                ts=ts,
                session_id=self.session_id,
                channel_id=self.channel_id,
                user_id=user_id,
                type="join",
            )
        c = self._chat
        c.event_id = f"{self._bits(128):032x}"
        c.ts = ts
        c.user_id = user_id
        c.type = kind
        c.text_len = text_len
        return ts, CHAT, _encode(c)

    def challenge(self, t: float, passed: bool, error: str) -> Emitted:
        return challenge_event(self._bits, self.session_id, self.channel_id, t, passed, error)


def challenge_event(
    bits: Callable[[int], int], session_id: str, channel_id: str, t: float, passed: bool, error: str
) -> Emitted:
    """The challenge service's verdict on a session (no connection details involved)."""
    ts = int(t * 1000.0 + 0.5) / 1000.0
    event = ChallengeResult(
        event_id=f"{bits(128):032x}",
        ts=ts,
        session_id=session_id,
        channel_id=channel_id,
        passed=passed,
        error="" if passed else error,
    )
    return ts, CHALLENGE, _encode(event)
