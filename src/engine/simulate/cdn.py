"""HLS on the CDN: renditions, the live edge, paths and object sizes of one live channel.

A live channel publishes one segment every ``SEGMENT_SECONDS`` per rendition, numbered from the
moment the stream started; the media playlist lists the newest few. Sizes are a deterministic
function of (channel, rendition, segment number): every viewer who fetches segment 812345 of
720p60 gets the same ``object_size``, as on a real CDN, and sizes follow the rendition bitrate
with scene-dependent variation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SEGMENT_SECONDS = 2.0
PLAYLIST_WINDOW = 6  # segments listed in a live media playlist


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    kbps: int
    height: int


RENDITIONS: dict[str, Rendition] = {
    r.name: r
    for r in (
        Rendition("1080p60", 6000, 1080),
        Rendition("720p60", 3500, 720),
        Rendition("720p30", 2500, 720),
        Rendition("480p30", 1400, 480),
        Rendition("360p30", 750, 360),
        Rendition("160p30", 280, 160),
    )
}

LADDERS: dict[str, tuple[str, ...]] = {
    "full": ("1080p60", "720p60", "720p30", "480p30", "360p30", "160p30"),
    "mid": ("1080p60", "720p30", "480p30", "160p30"),
    "source": ("1080p60",),  # small channels without transcodes get only the source
    "source720": ("720p30",),
}


class Channel:
    """The CDN-visible facts of one live stream."""

    __slots__ = (
        "_phase",
        "channel_id",
        "epoch",
        "ext",
        "init_path",
        "ladder",
        "master_path",
        "master_size",
        "media_path",
        "page_url",
        "pkg_delay",
        "salt",
        "seg_prefix",
    )

    def __init__(
        self,
        channel_id: str,
        ladder: tuple[Rendition, ...],
        ext: str,
        epoch: float,
        pkg_delay: float,
        salt: int,
        page_url: str,
    ) -> None:
        self.channel_id = channel_id
        self.ladder = ladder
        self.ext = ext
        self.epoch = epoch
        self.pkg_delay = pkg_delay
        self.salt = salt
        self.page_url = page_url
        self._phase = (salt % 1000) / 159.0
        base = f"/live/{channel_id}"
        self.master_path = f"{base}/index.m3u8"
        self.media_path = {r.name: f"{base}/{r.name}/index.m3u8" for r in ladder}
        self.seg_prefix = {r.name: f"{base}/{r.name}/seg_" for r in ladder}
        self.init_path = {r.name: f"{base}/{r.name}/init.mp4" for r in ladder}
        self.master_size = 210 + sum(150 + len(r.name) * 2 for r in ladder)

    def live_edge(self, t: float) -> int:
        """Newest segment number published at time ``t``."""
        return int((t - self.epoch - self.pkg_delay) / SEGMENT_SECONDS) - 1

    def segment_size(self, rendition: Rendition, n: int) -> int:
        """Bytes of segment ``n``: bitrate x duration, shaped by slowly changing scene complexity."""
        scene = 1.0 + 0.22 * math.sin(n * 0.0371 + self._phase) + 0.08 * math.sin(n * 0.61)
        jitter = (((n * 2654435761) ^ self.salt) & 1023) / 1023.0 - 0.5
        return int(rendition.kbps * 250 * (scene + 0.18 * jitter)) + 188

    def playlist_size(self, n: int) -> int:
        """Bytes of a media playlist whose newest segment is ``n``."""
        digits = len(str(n))
        extra = 26 if self.ext == "m4s" else 0
        return 182 + extra + PLAYLIST_WINDOW * (71 + digits) + (n * 7919) % 23

    def init_size(self, rendition: Rendition) -> int:
        return 720 + rendition.height // 2 + self.salt % 97
