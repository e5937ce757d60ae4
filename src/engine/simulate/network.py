"""Where traffic comes from: ASNs, IP addresses and the shared address pools of the real world.

The catalogue holds residential ISPs, mobile carriers, business and education networks, cloud
and hosting providers, and the hosting networks commercial VPNs exit from. Prefixes are close to
the ones the networks really announce, so /24 and /64 structure looks like production logs.

Shared pools are what makes address-based signals hard:

* ``CgnatPool``: a mobile carrier puts thousands of phones behind a few dozen public IPv4
  addresses, so unrelated people share an IP (and its /24) within minutes of each other.
* ``Office``: a company or campus behind one NAT address, often with one managed browser build,
  and sometimes a TLS-intercepting proxy whose fingerprint replaces the browser's.
* VPN exits: a handful of hosting-ASN addresses shared by many paying VPN customers.
* ``ProxyPool``: residential proxy networks sell exits on the same ISPs (and carrier NATs) that
  real viewers use, weighted to the countries where such exits are cheap.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from engine.simulate.rng import weighted

# One ASN per header line: number, kind, country, IPv6 allocation ("-": none), name; the indented
# line below lists its IPv4 prefixes ("=CC": a prefix announced from another country).
# kind: residential | mobile | business | education | hosting | vpn
_ASN_TABLE = """
# residential ISPs
7922 residential US 2601::/20 Comcast Cable
    73.0.0.0/8 98.192.0.0/10 24.0.0.0/12
20115 residential US 2603:6000::/20 Charter Communications
    24.24.0.0/14 75.80.0.0/13 66.74.0.0/16
7018 residential US 2600:1700::/28 AT&T Internet
    99.0.0.0/10 107.192.0.0/11 76.192.0.0/10
701 residential US 2600:4040::/29 Verizon Fios
    71.160.0.0/12 96.224.0.0/12 108.0.0.0/13
22773 residential US 2600:8800::/28 Cox Communications
    68.96.0.0/13 70.160.0.0/12
2856 residential GB 2a00:23c0::/26 BT
    81.128.0.0/11 86.128.0.0/11 109.144.0.0/12
5607 residential GB 2a02:c7c::/30 Sky UK
    2.96.0.0/12 90.192.0.0/11 5.64.0.0/13
5089 residential GB 2a02:8010::/29 Virgin Media
    82.0.0.0/14 86.0.0.0/12 92.232.0.0/13
3320 residential DE 2003::/19 Deutsche Telekom
    79.192.0.0/10 84.128.0.0/10 93.192.0.0/10
3209 residential DE 2a02:8100::/27 Vodafone Germany
    88.64.0.0/12 94.134.0.0/15 178.0.0.0/13
8881 residential DE 2001:16b8::/32 1&1 Versatel
    87.122.0.0/15 94.220.0.0/14
3215 residential FR 2a01:cb00::/24 Orange France
    90.0.0.0/9 86.192.0.0/10 92.128.0.0/10
12322 residential FR 2a01:e00::/26 Free SAS
    78.192.0.0/10 82.64.0.0/10 88.160.0.0/11
5410 residential FR 2a01:e0a::/32 Bouygues Telecom
    89.80.0.0/12 176.128.0.0/10
3352 residential ES 2a0c:5a80::/29 Telefonica de Espana
    80.24.0.0/13 83.32.0.0/11 88.0.0.0/11
12479 residential ES 2a01:c50::/28 Orange Espagne
    90.160.0.0/11 95.60.0.0/14
33915 residential NL 2001:1c00::/24 Ziggo
    84.24.0.0/13 86.80.0.0/12 217.120.0.0/13
1136 residential NL 2a02:a400::/26 KPN
    77.160.0.0/11 145.128.0.0/11
3301 residential SE 2001:2000::/20 Telia Sverige
    78.64.0.0/12 90.224.0.0/11
5617 residential PL 2a01:110::/32 Orange Polska
    83.0.0.0/11 79.184.0.0/13 31.0.0.0/12
812 residential CA 2607:fea8::/32 Rogers
    99.224.0.0/11 174.112.0.0/12
577 residential CA 2607:fa48::/32 Bell Canada
    70.24.0.0/13 142.112.0.0/12
1221 residential AU 2001:8003::/32 Telstra
    101.160.0.0/11 120.144.0.0/12 58.160.0.0/12
4713 residential JP 2400:4050::/28 NTT OCN
    114.144.0.0/12 153.128.0.0/10 180.0.0.0/11
2516 residential JP 240b:10::/28 KDDI
    106.128.0.0/10 111.96.0.0/11
4766 residential KR 2001:e60::/32 Korea Telecom
    121.128.0.0/10 175.192.0.0/10 211.104.0.0/13
9318 residential KR 2001:2d8::/32 SK Broadband
    1.224.0.0/12 39.112.0.0/12
27699 residential BR 2804:14c::/32 Vivo Telefonica Brasil
    177.32.0.0/12 179.96.0.0/12 187.64.0.0/11
28573 residential BR 2804:14d::/32 Claro NET
    177.96.0.0/12 189.32.0.0/11 201.80.0.0/12
7738 residential BR 2804:7f0::/32 Oi Fibra
    187.0.0.0/11 189.64.0.0/11
8151 residential MX 2806:2f0::/32 Telmex Uninet
    187.128.0.0/10 189.128.0.0/10 201.96.0.0/11
7303 residential AR 2800:810::/32 Telecom Argentina
    181.0.0.0/12 186.16.0.0/12 190.16.0.0/12
24560 residential IN 2401:4900::/32 Airtel Broadband
    122.160.0.0/12 182.64.0.0/12
7552 residential VN 2402:800::/32 Viettel
    27.64.0.0/12 116.96.0.0/12 171.224.0.0/11
45899 residential VN 2405:4800::/32 VNPT
    113.160.0.0/11 14.160.0.0/11
7713 residential ID 2001:448a::/32 Telkom Indonesia
    36.64.0.0/11 110.136.0.0/13 180.240.0.0/13
9121 residential TR 2a02:ff0::/32 Turk Telekom
    78.160.0.0/11 85.96.0.0/12 88.224.0.0/11
9299 residential PH 2001:4450::/32 PLDT
    112.198.0.0/16 119.92.0.0/14 122.52.0.0/14
7470 residential TH 2403:6200::/32 True Internet
    110.168.0.0/13 124.120.0.0/13 171.96.0.0/13
8452 residential EG - TE Data
    41.32.0.0/12 156.192.0.0/11 197.32.0.0/12
# mobile carriers (IPv4 behind carrier-grade NAT, IPv6 per device)
21928 mobile US 2607:fb90::/28 T-Mobile USA
    172.56.0.0/14 208.54.0.0/17
6167 mobile US 2600:1000::/24 Verizon Wireless
    174.192.0.0/10 97.128.0.0/9
20057 mobile US 2600:380::/28 AT&T Mobility
    166.128.0.0/10 107.64.0.0/10
12576 mobile GB 2a00:23e0::/28 EE
    31.94.0.0/16 148.252.0.0/16
25135 mobile GB 2a01:4c8::/29 Vodafone UK
    82.132.0.0/16 89.197.0.0/16
6805 mobile DE 2a02:3030::/28 Telefonica Germany
    176.0.0.0/14 89.204.128.0/17 46.114.0.0/15
51207 mobile FR 2a04:cec0::/29 Free Mobile
    37.160.0.0/12 37.168.0.0/14
12430 mobile ES 2a02:9000::/23 Vodafone Spain
    77.208.0.0/12 31.4.128.0/17
26615 mobile BR 2804:18::/32 TIM Brasil
    177.192.0.0/12 191.32.0.0/12
55836 mobile IN 2409:4000::/22 Reliance Jio
    49.32.0.0/12 49.44.0.0/14 157.32.0.0/12
45609 mobile IN 2401:4900:1000::/36 Bharti Airtel Mobile
    106.192.0.0/11 223.176.0.0/12
23693 mobile ID 2400:9800::/32 Telkomsel
    114.120.0.0/13 182.0.0.0/14
17676 mobile JP 240d:1a::/31 SoftBank
    126.0.0.0/8
28403 mobile MX 2806:230::/31 Radiomovil Dipsa (Telcel)
    189.200.0.0/13 200.68.128.0/17
# business transit and enterprise networks
174 business US 2001:550::/32 Cogent
    38.96.0.0/12 154.48.0.0/12
3356 business US 2001:1900::/32 Lumen
    4.0.0.0/9 8.0.0.0/12 63.208.0.0/12
6461 business US 2001:438::/32 Zayo
    64.125.0.0/16 208.185.0.0/16
8220 business GB 2a02:1b8::/32 Colt
    212.36.0.0/18 213.86.0.0/16
3257 business DE 2001:668::/32 GTT
    77.67.0.0/17 89.149.128.0/17
1299 business SE 2001:2000:3000::/36 Arelion
    62.115.0.0/16 213.248.64.0/18
# research and education
3 education US 2603:4000::/24 MIT
    18.0.0.0/11
88 education US 2620:c4::/48 Princeton University
    128.112.0.0/16 140.180.0.0/16
786 education GB 2001:630::/32 Jisc (JANET)
    128.40.0.0/14 131.111.0.0/16 144.32.0.0/16
680 education DE 2001:638::/32 DFN
    129.69.0.0/16 130.149.0.0/16 141.20.0.0/16
2200 education FR 2001:660::/32 RENATER
    129.175.0.0/16 134.157.0.0/16 193.48.0.0/14
# cloud and hosting
16509 hosting US 2600:1f00::/24 Amazon AWS
    3.80.0.0/12 52.0.0.0/11 54.144.0.0/12 18.184.0.0/15=DE 13.40.0.0/14=GB
14618 hosting US 2600:1f10::/28 Amazon AES
    34.192.0.0/12 44.192.0.0/11
396982 hosting US 2600:1900::/28 Google Cloud
    34.64.0.0/10 35.184.0.0/13 35.198.0.0/16=DE
8075 hosting US 2603:1000::/24 Microsoft Azure
    20.0.0.0/11 40.64.0.0/10 51.104.0.0/15=GB
14061 hosting US 2604:a880::/32 DigitalOcean
    159.203.0.0/16 167.99.0.0/16 134.209.0.0/16=NL 64.225.0.0/16=DE 128.199.0.0/16=SG
16276 hosting FR 2001:41d0::/32 OVH
    51.38.0.0/16 54.36.0.0/16 145.239.0.0/16 51.75.0.0/16 15.235.0.0/16=CA
24940 hosting DE 2a01:4f8::/29 Hetzner Online
    95.216.0.0/15=FI 135.181.0.0/16=FI 65.108.0.0/15=FI 5.9.0.0/16 88.198.0.0/16
63949 hosting US 2600:3c00::/27 Akamai Linode
    172.104.0.0/15 139.162.0.0/16=GB 45.33.0.0/17
20473 hosting US 2001:19f0::/32 Vultr
    45.76.0.0/15 149.28.0.0/16 207.148.0.0/17=JP 95.179.128.0/17=NL
51167 hosting DE 2a02:c207::/32 Contabo
    161.97.0.0/16 173.249.0.0/18 207.180.192.0/18 62.171.128.0/17=GB
45102 hosting SG 2408:4000::/22 Alibaba Cloud
    47.74.0.0/15 8.208.0.0/12=US 47.88.0.0/14=US
132203 hosting SG 2402:4e00::/32 Tencent Cloud
    43.128.0.0/14 129.226.0.0/16=HK 43.153.0.0/16=US
60781 hosting NL 2a00:c98::/32 Leaseweb
    37.48.64.0/18 85.17.0.0/16 95.211.0.0/16
# hosting networks that mostly carry commercial VPN exits
9009 vpn RO 2a0d:5600::/29 M247
    185.236.200.0/22 89.38.96.0/19=GB 146.70.0.0/16=NL 37.120.128.0/17=DE 193.27.12.0/22=US
60068 vpn GB 2a02:6ea0::/29 Datacamp (CDN77)
    89.187.160.0/19 143.244.32.0/19=US 185.59.220.0/22=DE 212.102.32.0/19=FR
62240 vpn GB 2a0e:1d80::/29 Clouvider
    45.92.32.0/22 185.245.80.0/22 5.181.232.0/22=US
147049 vpn US 2a0d:3180::/29 PacketHub
    185.180.12.0/22 37.19.192.0/19=GB 181.215.176.0/20=CA
39351 vpn SE 2a03:1b20::/32 31173 Services (Mullvad)
    193.138.218.0/24 185.213.154.0/24 185.65.134.0/24=DE
136787 vpn PA 2a0b:4580::/29 TEFINCOM (NordVPN)
    185.156.173.0/24=US 194.127.172.0/24=GB 185.202.220.0/24=DE
"""


@dataclass(frozen=True, slots=True)
class Prefix:
    base: int
    size: int
    country: str


@dataclass(frozen=True, slots=True)
class Asn:
    number: int
    name: str
    kind: str
    country: str
    v4: tuple[Prefix, ...]
    v6: tuple[int, int] | None  # (network int, prefix length)


@dataclass(frozen=True, slots=True)
class Client:
    """One network vantage point: what the CDN log records about the connection."""

    ip: str
    asn: int
    country: str


def _parse(table: str) -> tuple[Asn, ...]:
    asns = []
    lines = [line for line in table.splitlines() if line.strip() and not line.startswith("#")]
    for header, prefixes in zip(lines[::2], lines[1::2], strict=True):
        number, kind, country, v6, name = header.split(maxsplit=4)
        v4 = []
        for spec in prefixes.split():
            cidr, _, cc = spec.partition("=")
            net = ipaddress.IPv4Network(cidr)
            v4.append(Prefix(int(net.network_address), net.num_addresses, cc or country))
        six = None
        if v6 != "-":
            net6 = ipaddress.IPv6Network(v6)
            six = (int(net6.network_address), net6.prefixlen)
        asns.append(Asn(int(number), name, kind, country, tuple(v4), six))
    return tuple(asns)


ASNS: tuple[Asn, ...] = _parse(_ASN_TABLE)
ASN_BY_NUMBER: dict[int, Asn] = {a.number: a for a in ASNS}


def asns_of(kind: str, country: str | None = None) -> tuple[Asn, ...]:
    return tuple(a for a in ASNS if a.kind == kind and (country is None or a.country == country))


def v4_text(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def random_v4(rng: random.Random, asn: Asn) -> tuple[str, str]:
    """A host address (never .0 or .255) inside one of the ASN's prefixes, and its country."""
    prefix = asn.v4[int(rng.random() * len(asn.v4))]
    value = prefix.base + rng.randrange(prefix.size)
    value = (value & ~255) | rng.randint(1, 254)
    return v4_text(value), prefix.country


def v4_in_block(rng: random.Random, block: int) -> str:
    """A host address in the /24 whose network address is ``block``."""
    return v4_text(block | rng.randint(2, 254))


def random_block(rng: random.Random, asn: Asn) -> tuple[int, str]:
    """A random /24 inside the ASN, as (network int, country)."""
    prefix = asn.v4[int(rng.random() * len(asn.v4))]
    return (prefix.base + rng.randrange(prefix.size)) & ~255, prefix.country


def random_v6_net(rng: random.Random, asn: Asn, plen: int = 64) -> int:
    """A random /``plen`` network (a household /56, a server /64) inside the ASN's allocation."""
    assert asn.v6 is not None
    base, length = asn.v6
    host_bits = 128 - length
    net = base | (rng.getrandbits(host_bits) & ((1 << host_bits) - 1))
    return net & ~((1 << (128 - plen)) - 1)


def v6_text(net: int, rng: random.Random) -> str:
    """A privacy (random interface id) address inside the /64 ``net``."""
    return ipaddress.IPv6Address(net | rng.getrandbits(64)).compressed


def residential_client(rng: random.Random, asn: Asn, ipv6: bool = False) -> Client:
    if ipv6 and asn.v6:
        return Client(
            v6_text(random_v6_net(rng, asn, 56) | (rng.getrandbits(8) << 64), rng),
            asn.number,
            asn.country,
        )
    ip, country = random_v4(rng, asn)
    return Client(ip, asn.number, country)


@dataclass(slots=True)
class CgnatPool:
    """The few public IPv4 addresses a mobile carrier NATs its subscribers behind."""

    asn: Asn
    clients: tuple[Client, ...]

    @classmethod
    def build(cls, rng: random.Random, asn: Asn) -> CgnatPool:
        blocks = [random_block(rng, asn) for _ in range(rng.randint(2, 4))]
        clients = []
        for _ in range(rng.randint(4, 14)):
            block, country = blocks[int(rng.random() * len(blocks))]
            clients.append(Client(v4_in_block(rng, block), asn.number, country))
        return cls(asn, tuple(dict.fromkeys(clients)))

    def pick(self, rng: random.Random) -> Client:
        # NAT port-block allocation is skewed: a few addresses carry most subscribers
        n = len(self.clients)
        return self.clients[min(n - 1, int(n * rng.random() ** 1.6))]


@dataclass(frozen=True, slots=True)
class Office:
    """A company or campus network: one NAT address, a managed browser fleet, maybe TLS interception."""

    client: Client
    fleet: str  # device key every managed machine runs
    intercept_ja4: str  # non-empty: the proxy terminates TLS and the CDN sees its fingerprint
    weight: float
    campus: bool


@dataclass(slots=True)
class ProxyPool:
    """A residential proxy network: exits on consumer ISPs and carrier NATs in many countries."""

    countries: tuple[tuple[str, float], ...]
    cgnat: dict[int, CgnatPool] = field(default_factory=dict)

    def pick(self, rng: random.Random, ipv6_share: float = 0.08, country: str = "") -> Client:
        """An exit; ``country`` set: a geo-targeted exit (operators buy the audience's country)."""
        country = country or weighted(rng, self.countries)
        if rng.random() < 0.22:
            mobiles = [p for asn, p in self.cgnat.items() if ASN_BY_NUMBER[asn].country == country]
            if mobiles:
                return mobiles[int(rng.random() * len(mobiles))].pick(rng)
        isps = asns_of("residential", country) or asns_of("residential")
        asn = isps[int(rng.random() * len(isps))]
        return residential_client(rng, asn, ipv6=rng.random() < ipv6_share)


PROXY_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("US", 18),
    ("BR", 14),
    ("IN", 10),
    ("VN", 8),
    ("ID", 7),
    ("TR", 5),
    ("MX", 5),
    ("PH", 5),
    ("TH", 4),
    ("EG", 4),
    ("AR", 4),
    ("GB", 4),
    ("DE", 3),
    ("FR", 3),
    ("ES", 2),
    ("PL", 2),
    ("CA", 2),
)


def hosting_block(
    rng: random.Random, kinds: tuple[str, ...] = ("hosting",)
) -> tuple[Asn, int, str]:
    """A /24 rented from one cloud or hosting provider: where bot servers live."""
    pool = [a for a in ASNS if a.kind in kinds]
    asn = pool[int(rng.random() * len(pool))]
    block, country = random_block(rng, asn)
    return asn, block, country
