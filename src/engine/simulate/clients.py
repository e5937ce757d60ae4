"""Client software: user agents, JA4 TLS fingerprints, viewports and player builds.

A real browser's JA4 follows from its TLS stack, not from its user-agent string: every Chromium
(Chrome, Edge, Opera, Samsung Internet, and headless Chrome too) shares one fingerprint, Firefox
(NSS) has another, Apple's stack a third. Media requests do not always come from the browser:
iOS plays HLS natively, so its playlist and segment requests carry ``AppleCoreMedia`` and no
Referer; Android apps fetch with ExoPlayer over OkHttp; a Roku has its own stack. Those are
legitimate non-browser clients. Script libraries (python-requests, aiohttp, Go, curl, Node,
ffmpeg) have fingerprints of their own, whatever user agent they claim.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from engine.simulate.rng import weighted

JA4: dict[str, str] = {
    "chrome": "t13d1516h2_8daaf6152771_02713d6af862",
    "chrome_old": "t13d1515h2_8daaf6152771_de4a06bb82e3",
    "firefox": "t13d1715h2_5b57614c22b0_3d5424432f57",
    "safari": "t13d2014h2_a09f3c656075_14788d8d241b",
    "okhttp": "t13d1612h2_ab7e3b40a677_2c3a1a4e1ad7",
    "roku": "t12d1209h1_d34a8e72043a_c5d6b0b7a1f2",
    "python": "t13d1812h1_85036bcba153_b26ce05bbdaf",
    "aiohttp": "t13d1812h1_85036bcba153_375ca2c5e164",
    "go": "t13d1312h2_f57a46bbacb6_e7c285222651",
    "curl": "t13d3112h2_e8f1e7e78f70_6bebaf5329ac",
    "node": "t13d5911h1_a33745022dd6_1f22a2ca17c4",
    "ffmpeg": "t13d4907h1_0d8feac7bc37_7395dae3b2f3",
    "zscaler": "t13d1310h2_e8a523a41297_ae3a3f0e9e4b",
    "bluecoat": "t12d1108h1_c78b2bc35a9b_a3b1f6f5dd81",
}

SCRIPT_UAS: dict[str, str] = {
    "python": "python-requests/2.31.0",
    "aiohttp": "Python/3.11 aiohttp/3.9.3",
    "go": "Go-http-client/2.0",
    "curl": "curl/8.5.0",
    "node": "axios/1.6.7",
    "ffmpeg": "Lavf/60.16.100",
    "okhttp": "okhttp/4.12.0",
}

_CHROME = ((126, 0.3), (125, 0.28), (124, 0.18), (123, 0.09), (122, 0.05), (121, 0.04),
           (120, 0.03), (119, 0.015), (109, 0.015))  # fmt: skip
_FIREFOX = ((127, 0.4), (126, 0.3), (125, 0.15), (115, 0.15))
_SAFARI = (("17.5", 0.45), ("17.4.1", 0.3), ("17.3.1", 0.1), ("16.6", 0.15))
_IOS = ((("17_5_1", "21F90"), 0.4), (("17_5", "21F79"), 0.25), (("17_4_1", "21E236"), 0.2),
        (("16_7_8", "20H343"), 0.15))  # fmt: skip

_WIN = "Windows NT 10.0; Win64; x64"
CHROME_OLD_BEFORE = 110  # 109 is the last Chrome for Windows 7/8, with an older TLS extension set
_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"

# (screen w, screen h, weight); the browser viewport is the screen minus window chrome
_DESKTOP_SCREENS = ((1920, 1080, 38), (1536, 864, 12), (1366, 768, 10), (1440, 900, 8),
                    (2560, 1440, 12), (1280, 720, 4), (1680, 1050, 4), (3440, 1440, 3),
                    (1600, 900, 5), (2048, 1152, 4))  # fmt: skip
_PHONES = ((390, 844, 24), (393, 852, 14), (412, 915, 16), (360, 800, 14), (428, 926, 10),
           (375, 667, 8), (414, 896, 8), (384, 854, 6))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Device:
    """One client installation as the CDN and the player see it."""

    key: str
    cls: str  # desktop | mobile | tv | headless | script
    ua: str  # user agent on media requests
    ja4: str
    referer: bool  # media requests carry the watch page as Referer
    viewport: tuple[int, int]  # window.innerWidth/innerHeight while watching normally
    alt_viewport: tuple[int, int]  # fullscreen (desktop) or landscape (phone)
    hb_base: float  # heartbeat period of this player build, seconds
    max_height: int  # highest rendition the player picks for this screen


def _chrome_ja4(version: int) -> str:
    return JA4["chrome_old"] if version < CHROME_OLD_BEFORE else JA4["chrome"]


def _desktop_viewports(rng: random.Random) -> tuple[tuple[int, int], tuple[int, int]]:
    w, h, _ = weighted(rng, [(s, s[2]) for s in _DESKTOP_SCREENS])
    chrome_h = rng.choice((111, 119, 123, 129, 133, 87))
    inner = (w - (0 if rng.random() < 0.8 else rng.randint(100, w // 3)), h - chrome_h)
    return inner, (w, h)


def _phone_viewports(rng: random.Random) -> tuple[tuple[int, int], tuple[int, int]]:
    w, h, _ = weighted(rng, [(s, s[2]) for s in _PHONES])
    bars = rng.choice((120, 142, 160, 180))
    return (w, h - bars), (h, w)


def _web_hb(rng: random.Random, mobile: bool) -> float:
    if mobile:
        return weighted(rng, ((30.0, 0.5), (20.0, 0.5)))
    return weighted(rng, ((20.0, 0.55), (10.0, 0.25), (30.0, 0.2)))


def build_device(rng: random.Random, key: str) -> Device:
    """A concrete device of kind ``key`` with a version, screen and player build drawn from ``rng``."""
    cv = weighted(rng, _CHROME)
    if key in ("chrome_win", "chrome_mac", "chrome_linux", "edge_win", "opera_win"):
        plat = {"chrome_mac": _MAC, "chrome_linux": "X11; Linux x86_64"}.get(key, _WIN)
        if cv < CHROME_OLD_BEFORE and plat == _WIN:
            plat = "Windows NT 6.1; Win64; x64"
        ua = f"Mozilla/5.0 ({plat}) {_WEBKIT} Chrome/{cv}.0.0.0 Safari/537.36"
        if key == "edge_win":
            ua += f" Edg/{cv}.0.{rng.choice((2478, 2535, 2592))}.{rng.randint(10, 99)}"
        elif key == "opera_win":
            ua += f" OPR/{cv - 15}.0.0.0"
        vp, alt = _desktop_viewports(rng)
        ja4 = _chrome_ja4(cv)
        return Device(key, "desktop", ua, ja4, True, vp, alt, _web_hb(rng, False), 1080)
    if key in ("firefox_win", "firefox_linux"):
        fv = weighted(rng, _FIREFOX)
        plat = _WIN if key == "firefox_win" else "X11; Ubuntu; Linux x86_64"
        ua = f"Mozilla/5.0 ({plat}; rv:{fv}.0) Gecko/20100101 Firefox/{fv}.0"
        vp, alt = _desktop_viewports(rng)
        return Device(key, "desktop", ua, JA4["firefox"], True, vp, alt, _web_hb(rng, False), 1080)
    if key == "safari_mac":
        sv = weighted(rng, _SAFARI)
        ua = f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{sv} Safari/605.1.15"
        vp, alt = _desktop_viewports(rng)
        return Device(key, "desktop", ua, JA4["safari"], True, vp, alt, _web_hb(rng, False), 1080)
    if key in ("ios_safari", "ios_app", "ipad_safari"):
        ios, build = weighted(rng, _IOS)
        model = "iPad" if key == "ipad_safari" else "iPhone"
        ua = f"AppleCoreMedia/1.0.0.{build} ({model}; U; CPU OS {ios} like Mac OS X; en_us)"
        vp, alt = ((820, 1106), (1180, 820)) if model == "iPad" else _phone_viewports(rng)
        hb = 15.0 if key == "ios_app" else _web_hb(rng, True)
        return Device(key, "mobile", ua, JA4["safari"], False, vp, alt, hb, 720)
    if key in ("android_chrome", "samsung"):
        if key == "samsung":
            model = rng.choice(("SM-S918B", "SM-A546B", "SM-G991B", "SM-S911U"))
            ua = (f"Mozilla/5.0 (Linux; Android 14; SAMSUNG {model}) {_WEBKIT} SamsungBrowser/24.0 "
                  "Chrome/117.0.0.0 Mobile Safari/537.36")  # fmt: skip
        else:
            ua = f"Mozilla/5.0 (Linux; Android 10; K) {_WEBKIT} Chrome/{cv}.0.0.0 Mobile Safari/537.36"
        vp, alt = _phone_viewports(rng)
        ja4 = JA4["chrome"] if key == "samsung" else _chrome_ja4(cv)
        return Device(key, "mobile", ua, ja4, True, vp, alt, _web_hb(rng, True), 720)
    if key == "android_app":
        av = rng.choice((12, 13, 14, 14))
        ua = f"StreamTV/24.{rng.randint(1, 6)}.{rng.randint(0, 3)} (Linux;Android {av}) ExoPlayerLib/2.19.1"
        vp, alt = _phone_viewports(rng)
        return Device(key, "mobile", ua, JA4["okhttp"], False, vp, alt, 15.0, 720)
    if key == "roku":
        ua = f"Roku/DVP-13.0 (13.0.0.{rng.choice((4170, 4165, 4184))}-{rng.choice(('C3', 'A4', '46'))})"
        return Device(key, "tv", ua, JA4["roku"], False, (1920, 1080), (1920, 1080), 30.0, 1080)
    raise ValueError(f"unknown device {key!r}")


DESKTOP_MIX = (("chrome_win", 40), ("chrome_mac", 10), ("edge_win", 14), ("firefox_win", 8),
               ("firefox_linux", 2), ("chrome_linux", 3), ("opera_win", 3), ("safari_mac", 8),
               ("roku", 3))  # fmt: skip
MOBILE_MIX = (("ios_safari", 30), ("ios_app", 12), ("android_chrome", 30), ("samsung", 8),
              ("android_app", 15), ("ipad_safari", 5))  # fmt: skip


def with_own_screen(device: Device, rng: random.Random) -> Device:
    """The same managed browser build on another desk: same UA and JA4, its own screen."""
    vp, alt = _desktop_viewports(rng)
    return replace(device, viewport=vp, alt_viewport=alt)


def human_device(rng: random.Random, cls: str) -> Device:
    """A device a person watches on: ``desktop``, ``mobile`` or ``any`` (60/40)."""
    if cls == "any":
        cls = "desktop" if rng.random() < 0.6 else "mobile"
    return build_device(rng, weighted(rng, DESKTOP_MIX if cls == "desktop" else MOBILE_MIX))


def headless_device(rng: random.Random, patched: bool) -> Device:
    """Puppeteer/Playwright Chrome: the real Chromium TLS stack, a tell-tale UA unless patched."""
    cv = weighted(rng, _CHROME)
    if patched:
        ua = f"Mozilla/5.0 ({_WIN}) {_WEBKIT} Chrome/{cv}.0.0.0 Safari/537.36"
    else:
        plat = "X11; Linux x86_64" if rng.random() < 0.7 else _WIN
        ua = f"Mozilla/5.0 ({plat}) {_WEBKIT} HeadlessChrome/{cv}.0.{rng.randint(6000, 6500)}.{rng.randint(50, 180)} Safari/537.36"
    vp = weighted(rng, (((800, 600), 0.5), ((1280, 720), 0.3), ((1920, 1080), 0.2)))
    return Device("headless", "headless", ua, JA4["chrome"], True, vp, vp, 30.0, 1080)


def fake_browser_ua(rng: random.Random) -> str:
    """The user agent string scripts paste in: a common Chrome on Windows."""
    cv = rng.choice((120, 122, 124, 125, 126))
    return f"Mozilla/5.0 ({_WIN}) {_WEBKIT} Chrome/{cv}.0.0.0 Safari/537.36"


def matching_ja4(ua: str) -> str:
    """The fingerprint a real client sending ``ua`` would present."""
    if "Firefox/" in ua:
        return JA4["firefox"]
    chrome = re.search(r"Chrome/(\d+)", ua)
    if chrome:
        return _chrome_ja4(int(chrome.group(1)))
    if "Safari/" in ua or "AppleCoreMedia" in ua:
        return JA4["safari"]
    if "ExoPlayer" in ua or "okhttp" in ua:
        return JA4["okhttp"]
    return JA4["curl"]
