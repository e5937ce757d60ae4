"""One session, many networks: a session token replayed from several places at once.

Phones hand over between networks and dual-stack clients alternate IPv4 and IPv6, so only
switching *back and forth* within one IP family, three or more networks, or a change of
country counts.
"""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    n_asns = len(s.asns)
    if n_asns >= 3 or s.asn_returns >= 3:
        z = 0.9 + 0.25 * (min(n_asns, 6) - 3) if n_asns >= 3 else 0.0
        if s.asn_returns >= 3:
            z = max(z, 1.0 + 0.1 * min(s.asn_returns - 3, 6))
        add((z, "session_multi_network"))
    elif s.ip_returns >= 3 and s.ip_count >= 3:
        # Alternating addresses within one network: carrier NAT can do it per connection.
        add((0.6 if len(s.nets) >= 3 else 0.4, "ip_churn"))
    if s.country_switches:
        # Phones change networks, rarely countries in the middle of a stream.
        add((0.5 if s.country_switches == 1 else 0.9, "country_hopping"))
