"""What kind of client sent a request: user-agent class, TLS stack (JA4) and network (ASN).

Everything here is a pure, cached function of one string or number, so the hot path pays for
each distinct user agent or fingerprint once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

# --- user agents -----------------------------------------------------------------------------

# Browser automation: no person drives these (a person never runs HeadlessChrome to watch).
_AUTOMATION = (
    "headlesschrome",
    "headless",
    "phantomjs",
    "selenium",
    "webdriver",
    "puppeteer",
    "playwright",
    "slimerjs",
    "htmlunit",
    "zombie.js",
    "cypress",
    "splash",
)
# HTTP libraries and command-line tools: scripts, not players.
_SCRIPT = (
    "python-requests",
    "python-urllib",
    "python-httpx",
    "python/",
    "aiohttp",
    "httpx/",
    "urllib3",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "apache-httpclient",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "undici",
    "got (",
    "reqwest",
    "scrapy",
    "httpie",
    "powershell",
    "winhttp",
    "bot",
    "crawler",
    "spider",
)
# Native players, set-top boxes and apps: legitimate viewers that are not browsers.
_APP = (
    "applecoremedia",
    "exoplayer",
    "stagefright",
    "okhttp",
    "dalvik",
    "cfnetwork",
    "vlc",
    "lavf",
    "mpv",
    "streamlink",
    "roku",
    "appletv",
    "tvos",
    "smarttv",
    "smart-tv",
    "tizen",
    "webos",
    "web0s",
    "playstation",
    "xbox",
    "nintendo",
    "crkey",
    "; aft",
    "bravia",
    "android tv",
    "googletv",
    "firetv",
    "kodi",
    "shield",
)


# Living-room devices: they sit in homes, behind consumer ISPs, not in data centres.
_TV = (
    "roku",
    "appletv",
    "apple tv",
    "tvos",
    "smarttv",
    "smart-tv",
    "tizen",
    "webos",
    "web0s",
    "playstation",
    "xbox",
    "nintendo",
    "crkey",
    "; aft",
    "bravia",
    "android tv",
    "googletv",
    "firetv",
    "shield",
    "hbbtv",
)

_MOBILE = ("mobile", "android", "iphone", "ipad", "ipod", "cpu os", "windows phone")


class UaInfo(NamedTuple):
    kind: str  # browser | app | automation | script | empty | unknown
    engine: str  # chromium | gecko | webkit | other
    mobile: bool = False  # a phone or tablet: the devices carrier-grade NAT pools serve


@lru_cache(maxsize=16384)
def classify_ua(ua: str) -> UaInfo:
    text = ua.strip().lower()
    if not text:
        return UaInfo("empty", "other")
    engine = _engine(text)
    mobile = any(marker in text for marker in _MOBILE)
    if any(marker in text for marker in _AUTOMATION):
        return UaInfo("automation", engine, mobile)
    if any(marker in text for marker in _APP):
        return UaInfo("app", engine, mobile)
    if text.startswith("mozilla/") and engine != "other":
        return UaInfo("browser", engine, mobile)
    if any(marker in text for marker in _SCRIPT):
        return UaInfo("script", "other")
    if text.startswith("mozilla/") or text.startswith("opera/"):
        return UaInfo("browser", engine, mobile)
    return UaInfo("unknown", engine, mobile)


@lru_cache(maxsize=4096)
def is_tv_device(ua: str) -> bool:
    """True for a smart-TV, streaming-stick or console user agent."""
    text = ua.lower()
    return any(marker in text for marker in _TV)


def _engine(text: str) -> str:
    # Every iOS browser is WebKit whatever brand it names.
    if "iphone" in text or "ipad" in text or "crios" in text or "fxios" in text:
        return "webkit"
    if "firefox/" in text or "gecko/20" in text:
        return "gecko"
    if "chrome/" in text or "chromium/" in text or "edg/" in text or "opr/" in text:
        return "chromium"
    if "applewebkit" in text or "safari/" in text or "applecoremedia" in text:
        return "webkit"
    return "other"


# --- TLS fingerprints (JA4) ------------------------------------------------------------------

# JA4 part b (hash of the sorted cipher list) of the major browser TLS stacks.
_CIPHER_HASH_ENGINES: dict[str, frozenset[str]] = {
    "8daaf6152771": frozenset({"chromium"}),  # BoringSSL: Chrome, Edge, Opera, Brave, WebView
    "a09f3c656075": frozenset({"webkit"}),  # Apple network stack: Safari, iOS apps
    "5b57614c22b0": frozenset({"gecko", "other"}),  # NSS (Firefox); OpenSSL defaults share it
    "f57a46bbacb6": frozenset({"other"}),  # Go crypto/tls defaults
    "e8f1e7e78f70": frozenset({"other"}),  # curl on OpenSSL
}


@lru_cache(maxsize=16384)
def ja4_mismatch(ja4: str, ua_kind: str, ua_engine: str) -> bool:
    """True when a browser user agent arrives over a TLS stack no such browser has.

    Only checks structure that every mainstream browser shares (TLS 1.2+, SNI on, HTTP/2 or
    HTTP/3 offered by ALPN, a browser-sized cipher list) and the cipher hashes of the big
    three engines and of common HTTP libraries. Unknown or unparsable fingerprints never count
    as a mismatch.
    """
    if ua_kind != "browser" or not ja4:
        return False
    parts = ja4.split("_")
    head = parts[0]
    if len(head) != 10 or head[0] not in "tqd":
        return False
    version, sni, alpn = head[1:3], head[3], head[8:10]
    try:
        ciphers = int(head[4:6])
    except ValueError:
        return False
    if version in ("s3", "10", "11") or sni == "i":
        return True
    if alpn not in ("h2", "h3"):
        return True
    # Chrome offers 15-16 ciphers, Firefox 17, Safari 20-21 (JA4 leaves GREASE out); Go's
    # default stack offers 13, OpenSSL builds such as curl's 30 or more.
    if ciphers < 14 or ciphers > 25:
        return True
    if len(parts) >= 2:
        engines = _CIPHER_HASH_ENGINES.get(parts[1])
        if engines is not None and ua_engine != "other" and ua_engine not in engines:
            return True
    return False


# --- networks ---------------------------------------------------------------------------------

# Cloud, hosting and colocation networks. Viewers rarely live here, but VPN exits do, so this is
# context, never a verdict on its own.
HOSTING_ASNS: frozenset[int] = frozenset(
    {
        16509,  # Amazon AWS
        14618,  # Amazon AWS
        8987,  # Amazon
        15169,  # Google
        396982,  # Google Cloud
        19527,  # Google
        8075,  # Microsoft Azure
        8068,  # Microsoft
        14061,  # DigitalOcean
        16276,  # OVH
        24940,  # Hetzner
        213230,  # Hetzner Cloud
        63949,  # Linode / Akamai
        20473,  # Vultr / Choopa
        51167,  # Contabo
        12876,  # Scaleway
        45102,  # Alibaba Cloud
        37963,  # Alibaba
        132203,  # Tencent Cloud
        45090,  # Tencent
        31898,  # Oracle Cloud
        60781,  # Leaseweb NL
        28753,  # Leaseweb DE
        30633,  # Leaseweb US
        9009,  # M247
        60068,  # Datacamp / CDN77
        212238,  # Datacamp
        36352,  # ColoCrossing
        55286,  # ServerMania / B2 Net
        62567,  # DigitalOcean
        46606,  # Unified Layer
        26496,  # GoDaddy
        398101,  # GoDaddy
        7941,  # Internet Archive
        35540,  # OVH Telecom
        197540,  # netcup
        47583,  # Hostinger
        40065,  # Cnservers
        3223,  # Voxility
        49981,  # WorldStream
        43350,  # NForce
        50673,  # Serverius
        206092,  # IPXO
        141995,  # Contabo Asia
        8100,  # QuadraNet
        25820,  # IT7 Networks
        53667,  # FranTech / BuyVM
        399629,  # BL Networks
        202425,  # IP Volume
        44477,  # Stark Industries
        136907,  # Huawei Cloud
        55990,  # Huawei Cloud
        21859,  # Zenlayer
        4785,  # xTom
        23470,  # ReliableSite
        32097,  # WholeSale Internet
        11878,  # tzulo
        15003,  # Nobis
        393406,  # Digital Ocean
        19318,  # Interserver
        29802,  # HIVELOCITY
        33387,  # DataShack
        62904,  # Eonix
        62240,  # Clouvider
        147049,  # PacketHub
        39351,  # 31173 Services (Mullvad)
        136787,  # TEFINCOM (NordVPN)
        200651,  # Flokinet
        51852,  # Private Layer
        8560,  # IONOS
        16125,  # Cherry Servers
        35916,  # MULTA-ASN1
    }
)


def is_hosting_asn(asn: int) -> bool:
    return asn in HOSTING_ASNS


# (2026.11.11) Mobile carriers whose ASN carries (almost) only cellular data. Operators that
# announce home broadband and cellular from one ASN are left out on purpose: a phone moving
# between Wi-Fi and cellular can keep its connections (QUIC or MPTCP migration) only across
# this line, so a seamless change counts for a phone when it does not cross it.
MOBILE_ASNS: frozenset[int] = frozenset(
    {
        21928,  # T-Mobile USA
        6167,  # Verizon Wireless
        22394,  # Verizon Wireless
        20057,  # AT&T Mobility
        10507,  # Sprint
        12576,  # EE
        25135,  # Vodafone UK
        35228,  # O2 UK
        206067,  # Three UK
        6805,  # Telefonica Germany
        51207,  # Free Mobile
        12430,  # Vodafone Spain
        26615,  # TIM Brasil
        26599,  # Vivo (mobile)
        55836,  # Reliance Jio
        45609,  # Bharti Airtel mobile
        38266,  # Vodafone Idea
        23693,  # Telkomsel
        4761,  # Indosat
        24203,  # XL Axiata
        17676,  # SoftBank mobile
        9605,  # NTT Docomo
        28403,  # Telcel
        132199,  # Globe Telecom
        10139,  # Smart Communications
        16135,  # Turkcell
        15897,  # Vodafone Turkey
    }
)
