"""Deterministic, labelled live-streaming traffic: what ``vbg-engine simulate`` generates.

The output is the four input topics of DESIGN §3 (CDN logs, player events, chat, challenge
results), built from the schema structs and merged in event-time order, plus one label per
session. The same configuration (seed included) gives byte-identical output.

Layout, one concern per module:

* ``scenario``: channels (Zipf popularity, ladders, regions), arrivals, raids, campaigns.
* ``populations.humans``: the human populations (desktop, mobile behind CGNAT, corporate NAT,
  VPN, background tabs, pausers, low bandwidth, lurkers, IPv6, raids, phones handing over
  between Wi-Fi and cellular, readers arriving steadily from an embed).
* ``families.bots``: the viewbot families, from playlist pollers to challenge evaders, rotating
  residential/mobile proxies, slow-drip campaigns and stealth (patched headless) browsers.
* ``player``: the HLS player mechanics every watching client shares.
* ``cdn``: renditions, the live edge, paths and object sizes. ``network``: ASNs, address pools.
  ``clients``: user agents, JA4 fingerprints, viewports. ``emit``: event encoding.
* ``simulation``: the streaming merge and labels. ``writer``: files, Kafka, progress.
"""

from engine.simulate.families import FAMILIES
from engine.simulate.populations import POPULATIONS
from engine.simulate.scenario import DEFAULT_START_TS, SimConfig
from engine.simulate.simulation import Label, Simulation

HUMAN_POPULATIONS: tuple[str, ...] = tuple(POPULATIONS)

__all__ = ["DEFAULT_START_TS", "FAMILIES", "HUMAN_POPULATIONS", "Label", "SimConfig", "Simulation"]
