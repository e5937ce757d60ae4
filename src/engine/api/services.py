"""The interface between the HTTP API and the running engine (no aiohttp or Faust here).

The runtime implements :class:`EngineServices` (``engine.runtime.services``); the API handlers
only ever talk to this protocol, so they can be tested against any implementation and the
runtime can change without touching HTTP code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from engine.api.subscriptions import DecisionHub, DecisionSubscription

if TYPE_CHECKING:
    from engine.detect import Override, Thresholds
    from engine.schemas import BaseEvent, Decision

Status = Literal["ok", "degraded", "down"]
STATUSES: tuple[str, ...] = ("ok", "degraded", "down")
COMPONENTS: tuple[str, ...] = ("kafka", "clickhouse", "redis", "worker")
# Without these the engine cannot consume or decide at all; anything else only degrades it.
CRITICAL_COMPONENTS: frozenset[str] = frozenset({"kafka", "worker"})


@dataclass(frozen=True)
class ComponentHealth:
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class HealthReport:
    """Per-component health; the overall status is derived so every caller agrees on it.

    ``down`` if a critical component (kafka, worker) is down; ``degraded`` if any component is
    not ``ok`` (Redis down: decisions still flow to Kafka and ClickHouse); else ``ok``.
    """

    components: Mapping[str, ComponentHealth] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        states = {name: c.status for name, c in self.components.items()}
        if any(states.get(name) == "down" for name in CRITICAL_COMPONENTS):
            return "down"
        if any(s != "ok" for s in states.values()):
            return "degraded"
        return "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "components": {
                name: {"status": c.status, "detail": c.detail}
                for name, c in self.components.items()
            },
        }


class EngineServices(Protocol):
    """What the HTTP API needs from the engine. All I/O is async; nothing blocks the loop."""

    async def health(self) -> HealthReport:
        """Status of kafka, clickhouse, redis and worker."""
        ...

    def stats(self) -> dict[str, Any]:
        """The figures of /metrics as JSON for the cockpit (see ``engine.metrics.snapshot``)."""
        ...

    async def get_thresholds(self) -> Thresholds: ...

    async def set_thresholds(self, thresholds: Thresholds, actor: str) -> Thresholds:
        """Make ``thresholds`` live on every worker (already validated); audited with ``actor``."""
        ...

    async def list_overrides(self) -> list[Override]:
        """Overrides in force (expired ones may be omitted)."""
        ...

    async def add_override(self, override: Override, actor: str) -> Override:
        """Store an override (id, created_at, expires_at already filled in); audited."""
        ...

    async def remove_override(self, override_id: str, actor: str) -> bool:
        """Remove an override; False if no override has that id."""
        ...

    async def session(self, session_id: str) -> dict[str, Any] | None:
        """Features, score, action, reasons and recent decisions; None if the session is unknown."""
        ...

    def subscribe_decisions(self) -> DecisionSubscription:
        """A new live subscription (use ``DecisionHub.subscribe``); the API closes it."""
        ...

    async def analytics(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run catalog query ``name`` with already-validated ``params``, in a thread."""
        ...

    async def score(self, events: list[BaseEvent]) -> Decision | None:
        """Score one session's events with the live policy and no side effects."""
        ...

    async def replay_dlq(self, limit: int) -> dict[str, int]:
        """Re-publish up to ``limit`` DLQ records to their source topics; counts per topic."""
        ...


__all__ = [
    "COMPONENTS",
    "CRITICAL_COMPONENTS",
    "STATUSES",
    "ComponentHealth",
    "DecisionHub",
    "DecisionSubscription",
    "EngineServices",
    "HealthReport",
    "Status",
]
