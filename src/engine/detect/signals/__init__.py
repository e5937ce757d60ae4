"""The evidence rules, one module per concern. Each ``collect(s, f, add)`` reads a session's
aggregates (and the :class:`Facts` computed so far), and calls ``add((z, reason_code))`` for
every piece of evidence it finds. :mod:`engine.detect.scoring` combines them.

Order matters only through ``Facts``: ``media`` fills the media figures, ``player`` the timer
figures that ``context`` uses, ``context`` the hosting flag that ``claims`` uses.
"""

from engine.detect.signals import (
    challenge,
    churn,
    claims,
    client,
    context,
    drip2,
    media,
    network,
    player,
    realism,
    rotation,
    toolkit,
    wifi_hops,
)
from engine.detect.signals.base import Facts

COLLECTORS = (
    client.collect,
    media.collect,
    network.collect,
    rotation.collect,
    churn.collect,
    wifi_hops.collect,
    player.collect,
    context.collect,
    claims.collect,
    realism.collect,
    toolkit.collect,
    toolkit.network_beat,
    drip2.collect,
    challenge.collect,
)

__all__ = ["COLLECTORS", "Facts"]
