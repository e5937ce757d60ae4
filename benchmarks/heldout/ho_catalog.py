"""Static world knowledge for the held-out generator: networks, clients and their TLS fingerprints.

Written from public knowledge of how the Internet looks to a video CDN, independently of the
product's simulator. Prefixes are plausible for each operator; only internal consistency matters
(the engine sees the `asn` field, it has no IP database).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Asn:
    """One autonomous system as a CDN sees it."""

    number: int
    kind: str  # residential | mobile | hosting | vpn | tor | edu | satellite
    country: str
    v4: tuple[str, ...]
    v6: str = ""
    rtt_ms: tuple[float, float] = (12.0, 45.0)
    bw_kbps: float = 60_000.0
    _v4: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)
    _v6: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    def __post_init__(self) -> None:
        nets = tuple(ipaddress.IPv4Network(p) for p in self.v4)
        object.__setattr__(self, "_v4", tuple((int(n.network_address), n.prefixlen) for n in nets))
        if self.v6:
            n6 = ipaddress.IPv6Network(self.v6)
            object.__setattr__(self, "_v6", (int(n6.network_address), n6.prefixlen))

    def v4_subnet(self, rng: random.Random) -> int:
        """Base address of a random /24 inside one of this AS's prefixes."""
        base, plen = rng.choice(self._v4)
        return base + (rng.randrange(1 << (24 - plen)) << 8) if plen < 24 else base

    def v4_addr(self, rng: random.Random) -> str:
        return v4_in(self.v4_subnet(rng), rng)

    def v6_site(self, rng: random.Random, site_len: int = 56) -> int:
        """Base of a random customer site (/56 for homes, /48 for organisations)."""
        base, plen = self._v6
        return base + (rng.randrange(1 << (site_len - plen)) << (128 - site_len))

    def v6_addr(self, rng: random.Random, site: int | None = None) -> str:
        site = self.v6_site(rng) if site is None else site
        return v6_in(site, rng)


def v4_in(subnet24: int, rng: random.Random, lo: int = 2, hi: int = 254) -> str:
    x = subnet24 + rng.randint(lo, hi)
    return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"


def v6_in(site: int, rng: random.Random) -> str:
    """A SLAAC privacy address in the first /64 of a site."""
    return str(ipaddress.IPv6Address(site + rng.getrandbits(64)))


def _a(number, kind, cc, v4, v6="", rtt=(12.0, 45.0), bw=60_000.0) -> Asn:
    return Asn(number, kind, cc, tuple(v4), v6, rtt, bw)


RESIDENTIAL = (
    _a(7922, "residential", "US", ["73.0.0.0/10", "24.0.0.0/13"], "2601::/20", bw=180_000),
    _a(20115, "residential", "US", ["66.168.0.0/14", "97.80.0.0/13"], "2600:6c00::/24", bw=150_000),
    _a(7018, "residential", "US", ["99.0.0.0/11", "107.192.0.0/12"], "2600:1700::/28", bw=120_000),
    _a(701, "residential", "US", ["71.160.0.0/11", "108.0.0.0/14"], "2600:4040::/26", bw=250_000),
    _a(22773, "residential", "US", ["68.0.0.0/14", "72.192.0.0/13"], "2600:8800::/26", bw=90_000),
    _a(812, "residential", "CA", ["99.224.0.0/11"], "2607:fea8::/32", bw=110_000),
    _a(577, "residential", "CA", ["70.48.0.0/13", "142.112.0.0/13"], bw=60_000),
    _a(3320, "residential", "DE", ["79.192.0.0/10", "91.0.0.0/11"], "2003::/19", bw=80_000),
    _a(3209, "residential", "DE", ["88.64.0.0/12"], "2a02:8100::/27", bw=160_000),
    _a(2856, "residential", "GB", ["86.128.0.0/10", "81.128.0.0/12"], "2a00:23c0::/27", bw=70_000),
    _a(5089, "residential", "GB", ["82.0.0.0/14", "86.0.0.0/13"], "2a02:c7c::/30", bw=200_000),
    _a(3215, "residential", "FR", ["90.0.0.0/9"], "2a01:cb00::/24", bw=300_000),
    _a(12322, "residential", "FR", ["82.64.0.0/14", "78.192.0.0/12"], "2a01:e00::/26", bw=400_000),
    _a(3352, "residential", "ES", ["83.32.0.0/11"], bw=150_000),
    _a(1136, "residential", "NL", ["77.160.0.0/12"], "2a02:a400::/26", bw=180_000),
    _a(3301, "residential", "SE", ["78.64.0.0/12"], "2001:2000::/20", bw=250_000),
    _a(5617, "residential", "PL", ["83.24.0.0/13", "79.184.0.0/13"], bw=90_000),
    _a(
        28573,
        "residential",
        "BR",
        ["177.0.0.0/13", "186.200.0.0/13"],
        "2804:14c::/31",
        rtt=(18, 70),
        bw=60_000,
    ),
    _a(26599, "residential", "BR", ["179.96.0.0/12"], "2804:7f0::/30", rtt=(18, 70), bw=80_000),
    _a(8151, "residential", "MX", ["189.128.0.0/10"], rtt=(20, 80), bw=40_000),
    _a(4713, "residential", "JP", ["153.128.0.0/10", "114.160.0.0/11"], "240b:10::/28", bw=300_000),
    _a(4766, "residential", "KR", ["121.128.0.0/10", "175.192.0.0/10"], bw=400_000),
    _a(
        1221,
        "residential",
        "AU",
        ["1.120.0.0/13", "101.160.0.0/11"],
        "2001:8003::/32",
        rtt=(20, 60),
        bw=50_000,
    ),
    _a(9121, "residential", "TR", ["78.160.0.0/11"], rtt=(25, 80), bw=30_000),
)

MOBILE = (
    _a(21928, "mobile", "US", ["172.56.0.0/13"], "2607:fb90::/32", rtt=(35, 90), bw=35_000),
    _a(6167, "mobile", "US", ["174.192.0.0/10"], "2600:1000::/28", rtt=(40, 100), bw=30_000),
    _a(20057, "mobile", "US", ["166.128.0.0/10"], "2600:380::/28", rtt=(40, 110), bw=25_000),
    _a(25135, "mobile", "GB", ["148.252.0.0/16"], "2a01:4c8::/32", rtt=(35, 95), bw=25_000),
    _a(12576, "mobile", "GB", ["92.40.0.0/14"], "2a00:1028::/30", rtt=(35, 90), bw=30_000),
    _a(6805, "mobile", "DE", ["176.0.0.0/12"], "2a02:3030::/30", rtt=(40, 100), bw=20_000),
    _a(26615, "mobile", "BR", ["191.0.0.0/13"], "2804:18::/32", rtt=(45, 140), bw=15_000),
    _a(55836, "mobile", "IN", ["49.32.0.0/11"], "2409:4000::/22", rtt=(45, 150), bw=12_000),
    _a(2516, "mobile", "JP", ["106.128.0.0/11"], "2001:268::/32", rtt=(30, 70), bw=40_000),
)

HOSTING = (
    _a(
        16509,
        "hosting",
        "US",
        ["3.80.0.0/12", "52.0.0.0/11", "54.144.0.0/12"],
        "2600:1f18::/33",
        rtt=(1, 6),
        bw=900_000,
    ),
    _a(
        396982,
        "hosting",
        "US",
        ["34.64.0.0/10", "35.184.0.0/13"],
        "2600:1900::/28",
        rtt=(1, 6),
        bw=900_000,
    ),
    _a(8075, "hosting", "US", ["20.0.0.0/11", "40.64.0.0/10"], rtt=(1, 8), bw=800_000),
    _a(
        14061,
        "hosting",
        "US",
        ["159.203.0.0/16", "164.90.0.0/16", "138.197.0.0/16"],
        "2604:a880::/32",
        rtt=(2, 10),
        bw=700_000,
    ),
    _a(
        24940,
        "hosting",
        "DE",
        ["95.216.0.0/15", "49.12.0.0/16", "65.108.0.0/15"],
        "2a01:4f8::/29",
        rtt=(3, 15),
        bw=800_000,
    ),
    _a(
        16276,
        "hosting",
        "FR",
        ["51.68.0.0/14", "54.36.0.0/14"],
        "2001:41d0::/32",
        rtt=(3, 15),
        bw=700_000,
    ),
    _a(
        63949,
        "hosting",
        "US",
        ["172.104.0.0/15", "45.79.0.0/16"],
        "2600:3c00::/27",
        rtt=(2, 10),
        bw=600_000,
    ),
    _a(
        20473,
        "hosting",
        "US",
        ["45.32.0.0/16", "149.28.0.0/16"],
        "2001:19f0::/32",
        rtt=(2, 12),
        bw=600_000,
    ),
)

VPN = (
    _a(9009, "vpn", "GB", ["89.238.128.0/18", "185.253.96.0/22"], rtt=(25, 60), bw=90_000),
    _a(60068, "vpn", "NL", ["89.187.160.0/19", "185.59.220.0/22"], rtt=(25, 70), bw=90_000),
    _a(39351, "vpn", "SE", ["193.138.218.0/24", "185.213.152.0/22"], rtt=(25, 60), bw=80_000),
    _a(62371, "vpn", "CH", ["185.159.156.0/22"], rtt=(30, 70), bw=70_000),
    _a(212238, "vpn", "US", ["156.146.32.0/19", "138.199.32.0/19"], rtt=(25, 70), bw=90_000),
)

TOR = (
    _a(60729, "tor", "DE", ["185.220.100.0/22"], rtt=(250, 650), bw=5_000),
    _a(53667, "tor", "US", ["209.141.32.0/19", "107.189.0.0/20"], rtt=(280, 700), bw=4_000),
    _a(4224, "tor", "US", ["162.247.72.0/22"], rtt=(260, 650), bw=5_000),
    _a(208323, "tor", "AT", ["109.70.100.0/24"], rtt=(250, 600), bw=6_000),
    _a(205100, "tor", "NL", ["192.42.116.0/22"], rtt=(240, 620), bw=6_000),
)

EDU = (
    _a(
        87,
        "edu",
        "US",
        ["149.159.0.0/16", "156.56.0.0/16"],
        "2001:18e8::/32",
        rtt=(8, 25),
        bw=40_000,
    ),
    _a(
        25,
        "edu",
        "US",
        ["136.152.0.0/16", "169.229.0.0/16"],
        "2607:f140::/32",
        rtt=(8, 25),
        bw=40_000,
    ),
    _a(
        786,
        "edu",
        "GB",
        ["128.40.0.0/16", "144.82.0.0/16"],
        "2001:630::/32",
        rtt=(8, 25),
        bw=35_000,
    ),
    _a(
        680,
        "edu",
        "DE",
        ["141.20.0.0/16", "130.149.0.0/16"],
        "2001:638::/32",
        rtt=(8, 25),
        bw=35_000,
    ),
)

SATELLITE = (
    _a(6621, "satellite", "US", ["66.82.0.0/15", "98.96.0.0/16"], rtt=(590, 760), bw=12_000),
    _a(7155, "satellite", "US", ["8.44.0.0/16", "65.37.0.0/16"], rtt=(600, 800), bw=18_000),
    _a(
        14593,
        "satellite",
        "US",
        ["98.97.0.0/16", "129.222.0.0/16"],
        "2605:59c8::/32",
        rtt=(30, 90),
        bw=80_000,
    ),
)

RESIDENTIAL_BY_CC: dict[str, list[Asn]] = {}
for _asn in RESIDENTIAL:
    RESIDENTIAL_BY_CC.setdefault(_asn.country, []).append(_asn)
MOBILE_BY_CC: dict[str, list[Asn]] = {}
for _asn in MOBILE:
    MOBILE_BY_CC.setdefault(_asn.country, []).append(_asn)

# Audience geographies a channel can have (country, weight).
MARKETS: dict[str, tuple[tuple[str, float], ...]] = {
    "en": (
        ("US", 50),
        ("GB", 12),
        ("CA", 9),
        ("AU", 5),
        ("DE", 6),
        ("NL", 3),
        ("SE", 3),
        ("PL", 3),
        ("FR", 3),
        ("BR", 3),
        ("MX", 2),
        ("TR", 1),
    ),
    "de": (("DE", 80), ("NL", 5), ("PL", 5), ("TR", 4), ("GB", 3), ("US", 3)),
    "fr": (("FR", 85), ("CA", 8), ("ES", 3), ("DE", 2), ("GB", 2)),
    "es": (("ES", 40), ("MX", 40), ("US", 15), ("BR", 5)),
    "pt": (("BR", 95), ("US", 5)),
    "ja": (("JP", 95), ("US", 5)),
    "ko": (("KR", 93), ("JP", 4), ("US", 3)),
}
MARKET_WEIGHTS = (("en", 55), ("de", 10), ("fr", 8), ("es", 10), ("pt", 8), ("ja", 5), ("ko", 4))

# ---------------------------------------------------------------- TLS client hellos (JA4)
JA4_CHROME = "t13d1516h2_8daaf6152771_02713d6af862"
JA4_CHROME_ALT = "t13d1516h2_8daaf6152771_e5627efa2ab1"
JA4_CHROME_QUIC = "q13d0312h3_55b375c5d22e_06cda9e17597"
JA4_CHROMIUM_OLD = "t13d1515h2_8daaf6152771_de4a06bb82e3"
JA4_FIREFOX = "t13d1715h2_5b57614c22b0_3d5424432f57"
JA4_FIREFOX_ESR = "t13d1714h2_5b57614c22b0_7121afd63204"
JA4_SAFARI = "t13d2014h2_a09f3c656075_14788d8d241b"
JA4_SAFARI_IOS = "t13d2013h2_a09f3c656075_7f0f34a4126d"
JA4_APPLE_MEDIA = "t13d2014h2_a09f3c656075_e42f34c56612"
JA4_OKHTTP = "t13d1614h2_46e7e9700bed_45f260be83e2"
JA4_ROKU = "t13d1909h1_2b729b4bf6f3_8b7f57b4f1ed"
JA4_PLAYSTATION = "t13d1713h2_5e1d4bd8a5b2_1a5c3b0a2e6d"
JA4_CURL = "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6"
JA4_REQUESTS = "t13d1812h1_85036bcba153_375ca2c5e164"
JA4_AIOHTTP = "t13d1811h1_85036bcba153_d25fac2a6b31"
JA4_GO = "t13d1311h2_f57a46bbacb6_e7c285222651"
JA4_NODE = "t13d5911h1_a33745022dd6_1f22a2ca17c4"
JA4_WGET = "t13d291000_b0da82dd1658_d1e8c1b7b8a2"
JA4_UTLS_CHROME = "t13d1516h2_8daaf6152771_4b22cbed5bed"

CHROME_VERSIONS = (124, 125, 126, 127, 128, 129, 130, 131)
FIREFOX_VERSIONS = (126, 127, 128, 129, 130, 131, 132)


def chrome_ua(rng: random.Random, platform: str = "") -> str:
    v = rng.choice(CHROME_VERSIONS)
    platform = platform or rng.choices(("win", "mac", "linux", "cros"), (70, 20, 6, 4))[0]
    os_part = {
        "win": "Windows NT 10.0; Win64; x64",
        "mac": "Macintosh; Intel Mac OS X 10_15_7",
        "linux": "X11; Linux x86_64",
        "cros": "X11; CrOS x86_64 14541.0.0",
    }[platform]
    ua = f"Mozilla/5.0 ({os_part}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
    if platform == "win" and rng.random() < 0.25:
        ua += f" Edg/{v}.0.{rng.randint(2000, 2900)}.{rng.randint(40, 120)}"
    return ua


def firefox_ua(rng: random.Random, platform: str = "", version: int = 0) -> str:
    v = version or rng.choice(FIREFOX_VERSIONS)
    platform = platform or rng.choices(("win", "mac", "linux"), (65, 15, 20))[0]
    os_part = {
        "win": "Windows NT 10.0; Win64; x64",
        "mac": "Macintosh; Intel Mac OS X 10.15",
        "linux": "X11; Ubuntu; Linux x86_64",
    }[platform]
    return f"Mozilla/5.0 ({os_part}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"


def safari_mac_ua(rng: random.Random) -> str:
    minor = rng.choice(("17.4.1", "17.5", "17.6", "18.0", "18.1"))
    return (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{minor} Safari/605.1.15"
    )


def iphone_safari_ua(rng: random.Random) -> str:
    os_v = rng.choice(("17_4_1", "17_5_1", "17_6", "18_0", "18_1"))
    short = os_v.split("_")[0] + "." + os_v.split("_")[1]
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {os_v} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{short} Mobile/15E148 Safari/604.1"
    )


def apple_coremedia_ua(rng: random.Random, device: str = "iPhone") -> str:
    build = rng.choice(("21E236", "21F90", "21G93", "22A3354", "22B83"))
    os_v = rng.choice(("17_4_1", "17_5_1", "17_6_1", "18_0", "18_1"))
    return f"AppleCoreMedia/1.0.0.{build} ({device}; U; CPU OS {os_v} like Mac OS X; en_us)"


def android_chrome_ua(rng: random.Random) -> str:
    v = rng.choice(CHROME_VERSIONS)
    if rng.random() < 0.2:
        model = rng.choice(("SM-S918B", "SM-A546B", "SM-G991B"))
        return (
            f"Mozilla/5.0 (Linux; Android 14; SAMSUNG {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
        )
    return (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{v}.0.0.0 Mobile Safari/537.36"
    )


def android_app_ua(rng: random.Random) -> str:
    app_v = rng.choice(("24.5.2", "24.6.0", "24.7.1"))
    android = rng.choice(("12", "13", "14"))
    return f"Lumastream/{app_v} (Linux;Android {android}) ExoPlayerLib/2.19.1"


# Living-room devices: (user agent factory, JA4, viewport choices, native HLS stack)
TV_CLIENTS: tuple[tuple[str, str, tuple[tuple[int, int], ...]], ...] = (
    ("Roku/DVP-14.0 (14.0.4.5210-46)", JA4_ROKU, ((1920, 1080), (1280, 720))),
    ("Roku/DVP-13.1 (13.1.4.4107-C6)", JA4_ROKU, ((1920, 1080), (1280, 720))),
    (
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "94.0.4606.31/7.0 TV Safari/537.36",
        JA4_CHROMIUM_OLD,
        ((1920, 1080),),
    ),
    (
        "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
        JA4_CHROMIUM_OLD,
        ((1920, 1080), (1280, 720)),
    ),
    (
        "AppleCoreMedia/1.0.0.21M71 (Apple TV; U; CPU OS 17_5 like Mac OS X; en_us)",
        JA4_APPLE_MEDIA,
        ((1920, 1080), (3840, 2160)),
    ),
    ("Dalvik/2.1.0 (Linux; U; Android 9; AFTMM Build/PS7624)", JA4_OKHTTP, ((1920, 1080),)),
    (
        "Lumastream/24.6.0 (Linux;Android 12; SHIELD Android TV) ExoPlayerLib/2.19.1",
        JA4_OKHTTP,
        ((1920, 1080), (3840, 2160)),
    ),
    (
        "Mozilla/5.0 (PlayStation; PlayStation 5/8.20) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        JA4_PLAYSTATION,
        ((1920, 1080), (3840, 2160)),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edge/44.18363.8131",
        JA4_CHROME_ALT,
        ((1920, 1080), (3840, 2160)),
    ),
)
TV_WEIGHTS = (18, 8, 14, 10, 16, 10, 6, 9, 9)

# Scripted clients: (user agent, JA4)
SCRIPTED = (
    ("python-requests/2.31.0", JA4_REQUESTS),
    ("python-requests/2.32.3", JA4_REQUESTS),
    ("curl/8.5.0", JA4_CURL),
    ("curl/7.88.1", JA4_CURL),
    ("Go-http-client/2.0", JA4_GO),
    ("Go-http-client/1.1", JA4_GO),
    ("aiohttp/3.9.5 Python/3.11", JA4_AIOHTTP),
    ("Wget/1.21.4", JA4_WGET),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", JA4_NODE),
    ("okhttp/4.12.0", JA4_OKHTTP),
    ("Mozilla/5.0", JA4_REQUESTS),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.6099.109 Safari/537.36",
        JA4_CHROME,
    ),
)

DESKTOP_VIEWPORTS = (
    (1920, 969),
    (1536, 730),
    (1366, 657),
    (2560, 1305),
    (1440, 789),
    (1280, 632),
    (1680, 939),
    (1920, 1080),
)
DESKTOP_VP_WEIGHTS = (30, 18, 12, 8, 10, 6, 6, 10)
MOBILE_VIEWPORTS = (
    (390, 664),
    (393, 727),
    (412, 839),
    (360, 668),
    (428, 746),
    (844, 390),
    (915, 412),
)
EMBED_VIEWPORTS = ((640, 360), (560, 315), (400, 225), (854, 480), (320, 180))
LETTERBOX_VIEWPORTS = ((1000, 900), (1000, 800), (1400, 900), (1200, 800), (800, 600), (1600, 900))

SITE = "https://www.lumastream.tv"
EMBED_SITE = "https://player.lumastream.tv/"

CHAT_NAME_A = (
    "pixel",
    "moss",
    "neon",
    "quiet",
    "lunar",
    "rusty",
    "salty",
    "cozy",
    "tiny",
    "mega",
    "sleepy",
    "crispy",
    "void",
    "amber",
    "frost",
    "turbo",
    "mellow",
    "glitch",
    "honey",
    "orbit",
)
CHAT_NAME_B = (
    "otter",
    "falcon",
    "gnome",
    "taco",
    "panda",
    "wizard",
    "kraken",
    "noodle",
    "badger",
    "comet",
    "pilot",
    "ferret",
    "lobster",
    "yeti",
    "moth",
    "bard",
    "toast",
    "raven",
    "mango",
    "golem",
)


def chat_user(rng: random.Random) -> str:
    """A plausible human chat handle."""
    style = rng.random()
    a, b = rng.choice(CHAT_NAME_A), rng.choice(CHAT_NAME_B)
    if style < 0.4:
        return f"{a}{b}{rng.randint(1, 999)}"
    if style < 0.7:
        return f"{a}_{b}"
    return f"{b.capitalize()}{a.capitalize()}{rng.choice(('', 'TV', 'x', '_', 'GG'))}"
