"""CDN request paths: playlist, numbered segment or other; the memo answers like the parser."""

from __future__ import annotations

import pytest

from engine.detect import paths
from engine.detect.paths import (
    MASTER,
    MEDIA_PLAYLIST,
    OTHER,
    SEGMENT,
    classify_path,
    segment_rendition,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/live/ch/index.m3u8", (MASTER, -1)),
        ("/live/ch/720p60/index.m3u8", (MEDIA_PLAYLIST, -1)),
        ("/live/ch/720p60/seg_1234.ts", (SEGMENT, 1234)),
        ("/live/ch/720p60/seg_77.m4s?token=abc.def", (SEGMENT, 77)),
        ("/live/ch/1080p/chunk-12.m4s", (SEGMENT, 12)),
        ("/live/ch/1080p/segment.ts", (SEGMENT, -1)),
        ("/live/ch/1080p/init.mp4", (OTHER, -1)),
        ("/live/ch/manifest.mpd", (MASTER, -1)),
        ("/favicon.ico", (OTHER, -1)),
        ("/live/ch.v2/720p/playlist", (OTHER, -1)),
        ("/live/ch/720p/index.m3u8?seg_9.ts", (MEDIA_PLAYLIST, -1)),
    ],
)
def test_paths_classify(path: str, expected: tuple[int, int]) -> None:
    paths._SEEN.clear()
    assert classify_path(path) == expected  # parsed
    assert classify_path(path) == expected  # from the memo


def test_signed_urls_share_one_memo_entry() -> None:
    paths._SEEN.clear()
    for token in range(100):
        assert classify_path(f"/live/ch/720p/seg_5.ts?token={token}") == (SEGMENT, 5)
    assert list(paths._SEEN) == ["/live/ch/720p/seg_5.ts"]


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "_SEEN_MAX", 10)
    paths._SEEN.clear()
    for n in range(35):
        assert classify_path(f"/live/ch/720p/seg_{n}.ts") == (SEGMENT, n)
        assert len(paths._SEEN) <= 10


def test_segment_rendition() -> None:
    assert segment_rendition("/live/ch/720p60/seg_1.ts") == 720
    assert segment_rendition("/live/ch/audio_only/seg_1.ts") == 0
    assert segment_rendition("seg_1.ts") == 0
