"""The decision record of DESIGN §3: what the engine concluded about a session, and why."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec

Action = Literal["count", "suppress", "challenge", "block"]
ACTIONS: tuple[str, ...] = ("count", "suppress", "challenge", "block")
ACTION_RANK: dict[str, int] = {action: rank for rank, action in enumerate(ACTIONS)}


class Decision(msgspec.Struct, kw_only=True, frozen=True):
    decision_id: str
    ts: float
    decided_at: float
    session_id: str
    channel_id: str
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    action: Action
    reasons: tuple[str, ...]
    features: dict[str, float]
    rule_version: str


def decision_id(session_id: str, sequence: int) -> str:
    """Deterministic id from the session and its decision sequence, so a replay repeats it."""
    digest = hashlib.blake2b(f"{session_id}\x00{sequence}".encode(), digest_size=16)
    return digest.hexdigest()


_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER = msgspec.json.Decoder(Decision)


def encode_decision(decision: Decision) -> bytes:
    """Canonical JSON (sorted feature keys), so equal decisions are equal bytes."""
    return _ENCODER.encode(decision)


def decode_decision(raw: bytes | str) -> Decision:
    return _DECODER.decode(raw)
