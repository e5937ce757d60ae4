"""CDN request paths: playlist, media segment (with its sequence number) or something else.

DESIGN §3 names ``/live/{channel}/index.m3u8`` (master), ``/live/{channel}/{rendition}/index.m3u8``
(media playlist) and ``/live/{channel}/{rendition}/seg_{n}.ts|.m4s`` (segment). The parser is
deliberately lenient about file names so other packagers (``chunk-12.m4s``, ``12.ts``, DASH
``.mpd``) still classify; a media object without a number is a segment with ``n = -1``.
"""

from __future__ import annotations

OTHER = 0
MASTER = 1
MEDIA_PLAYLIST = 2
SEGMENT = 3

_PLAYLIST_EXT = frozenset({".m3u8", ".mpd"})
_MEDIA_EXT = frozenset(
    {".ts", ".m4s", ".mp4", ".aac", ".m4a", ".m4v", ".cmfv", ".cmfa", ".webm", ".mp3"}
)


def classify_path(path: str) -> tuple[int, int]:
    """``(kind, sequence number)``; the number is -1 unless the path is a numbered segment."""
    query = path.find("?")
    if query >= 0:
        path = path[:query]
    dot = path.rfind(".")
    slash = path.rfind("/")
    if dot <= slash:
        return OTHER, -1
    ext = path[dot:]
    if ext in _PLAYLIST_EXT:
        return (MASTER if path.count("/") <= 3 else MEDIA_PLAYLIST), -1
    if ext not in _MEDIA_EXT:
        return OTHER, -1
    name = path[slash + 1 : dot]
    if name.startswith("init"):
        return OTHER, -1  # fMP4/CMAF initialisation segment: headers, no media time
    if name.startswith("seg_") and name[4:].isdigit():
        return SEGMENT, int(name[4:])
    end = len(name)
    start = end
    while start > 0 and name[start - 1].isdigit():
        start -= 1
    if start == end:
        return SEGMENT, -1
    return SEGMENT, int(name[start:end])
