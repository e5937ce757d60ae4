"""A sample of raw CDN log lines for ``viewbot.raw_cdn_log`` (DESIGN: "sampled or full").

Sampling is by session (a stable hash of ``session_id``), so a sampled session's lines are all
there for an investigation. The lines wait in a bounded buffer that a timer flushes to ClickHouse;
this path is best effort by design: it never slows the decision path, and when ClickHouse is
down or the buffer is full, lines are dropped and counted (``dropped``). Decisions, not raw logs,
are what the engine guarantees.
"""

from __future__ import annotations

import zlib

from engine.schemas import CdnLog

MAX_BUFFERED = 50_000


class RawCdnBuffer:
    def __init__(self, share: float, max_buffered: int = MAX_BUFFERED) -> None:
        self.share = share
        self._cut = int(share * 0x10000)
        self.max_buffered = max_buffered
        self.lines: list[CdnLog] = []
        self._picked: dict[str, bool] = {}
        self.dropped = 0
        self.written = 0

    def wants(self, session_id: str) -> bool:
        picked = self._picked.get(session_id)
        if picked is None:
            if len(self._picked) > 200_000:
                self._picked.clear()
            picked = self._picked[session_id] = (
                self._cut > 0 and (zlib.crc32(session_id.encode()) & 0xFFFF) < self._cut
            )
        return picked

    def add(self, events: list[CdnLog]) -> None:
        room = self.max_buffered - len(self.lines)
        if room < len(events):
            self.dropped += len(events) - max(room, 0)
            events = events[: max(room, 0)]
        self.lines.extend(events)

    def take(self) -> list[CdnLog]:
        lines, self.lines = self.lines, []
        return lines
