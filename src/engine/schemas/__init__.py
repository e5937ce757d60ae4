"""Wire formats: input events, decisions and dead-letter records (DESIGN §3)."""

from engine.schemas.decision import (
    ACTION_RANK,
    ACTIONS,
    Action,
    Decision,
    decision_id,
    decode_decision,
    encode_decision,
)
from engine.schemas.decode import DEFAULT_MAX_MESSAGE_BYTES, decode_event
from engine.schemas.dlq import DlqRecord, decode_dlq, encode_dlq, make_dlq_record
from engine.schemas.events import (
    CHAT_EVENT_TYPES,
    EVENT_TYPES,
    INPUT_TOPICS,
    PLAYER_EVENT_TYPES,
    BaseEvent,
    CdnLog,
    ChallengeResult,
    ChatEvent,
    Event,
    PlayerEvent,
    encode_event,
)

__all__ = [
    "ACTIONS",
    "ACTION_RANK",
    "CHAT_EVENT_TYPES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "EVENT_TYPES",
    "INPUT_TOPICS",
    "PLAYER_EVENT_TYPES",
    "Action",
    "BaseEvent",
    "CdnLog",
    "ChallengeResult",
    "ChatEvent",
    "Decision",
    "DlqRecord",
    "Event",
    "PlayerEvent",
    "decision_id",
    "decode_decision",
    "decode_dlq",
    "decode_event",
    "encode_decision",
    "encode_dlq",
    "encode_event",
    "make_dlq_record",
]
