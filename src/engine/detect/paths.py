"""CDN request paths: playlist, media segment (with its sequence number) or something else.

DESIGN §3 names ``/live/{channel}/index.m3u8`` (master), ``/live/{channel}/{rendition}/index.m3u8``
(media playlist) and ``/live/{channel}/{rendition}/seg_{n}.ts|.m4s`` (segment). The parser is
deliberately lenient about file names so other packagers (``chunk-12.m4s``, ``12.ts``, DASH
``.mpd``) still classify; a media object without a number is a segment with ``n = -1``.
"""

from __future__ import annotations

from functools import lru_cache

OTHER = 0
MASTER = 1
MEDIA_PLAYLIST = 2
SEGMENT = 3

_PLAYLIST_EXT = frozenset({".m3u8", ".mpd"})
_MEDIA_EXT = frozenset(
    {".ts", ".m4s", ".mp4", ".aac", ".m4a", ".m4v", ".cmfv", ".cmfa", ".webm", ".mp3"}
)


# Every viewer of a rendition requests the same segment names, so most paths were seen moments
# ago: a bounded memo of the parse (a dict lookup against ~1 µs of string work per request).
_SEEN: dict[str, tuple[int, int, int]] = {}
_SEEN_MAX = 50_000


def classify_path(path: str) -> tuple[int, int]:
    """``(kind, sequence number)``; the number is -1 unless the path is a numbered segment."""
    kind, n, _ = parse_path(path)
    return kind, n


def parse_path(path: str) -> tuple[int, int, int]:
    """``(kind, sequence number, rendition height)`` in one memoized lookup (the hot path's
    form of :func:`classify_path` and :func:`segment_rendition`); the height is 0 unless the
    path is a segment."""
    found = _SEEN.get(path)
    if found is not None:
        return found
    query = path.find("?")  # (a signed URL's token would make every path new)
    if query >= 0:
        kind, n, _ = parse_path(path[:query])
        return kind, n, segment_rendition(path) if kind == SEGMENT else 0
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    kind, n = _classify(path)
    found = _SEEN[path] = (kind, n, segment_rendition(path) if kind == SEGMENT else 0)
    return found


def _classify(path: str) -> tuple[int, int]:
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


@lru_cache(maxsize=4096)
def rendition_height(name: str) -> int:
    """The picture height a rendition name states ("1080p60" -> 1080, "720p" -> 720), or 0.

    Lenient on purpose: any run of 3-4 digits followed by ``p`` counts, so both the player's
    label and the CDN path's rendition directory give comparable numbers; names without one
    (``audio_only``, ``chunked``, ``v3``) give 0 and are never compared.
    """
    text = name.lower()
    i = text.find("p")
    while i >= 0:
        j = i
        while j > 0 and text[j - 1].isdigit():
            j -= 1
        if 3 <= i - j <= 4:
            return int(text[j:i])
        i = text.find("p", i + 1)
    return 0


def segment_rendition(path: str) -> int:
    """The height of the rendition directory a segment path sits in (0 if it names none)."""
    end = path.rfind("/")
    start = path.rfind("/", 0, end)
    if start < 0:
        return 0
    return rendition_height(path[start + 1 : end])
