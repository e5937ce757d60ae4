"""The detection core: pure, event-time-driven viewbot scoring (DESIGN §2-3).

No Faust, Kafka, Redis, ClickHouse, asyncio or I/O in here: the Faust worker and
``vbg-engine replay`` drive the same :func:`step`, so the same events give the same decisions.
"""

from engine.detect.cadence import decide
from engine.detect.detector import (
    CHANNEL_IDLE_S,
    SESSION_IDLE_S,
    Detector,
    StepResult,
    advance,
    channel_expired,
    session_expired,
    step,
)
from engine.detect.policy import (
    DEFAULT_THRESHOLDS,
    RULE_VERSION,
    SCOPES,
    Override,
    Policy,
    Thresholds,
)
from engine.detect.state import (
    ChannelState,
    SessionState,
    decode_channel_state,
    decode_session_state,
    encode_state,
)

__all__ = [
    "CHANNEL_IDLE_S",
    "DEFAULT_THRESHOLDS",
    "RULE_VERSION",
    "SCOPES",
    "SESSION_IDLE_S",
    "ChannelState",
    "Detector",
    "Override",
    "Policy",
    "SessionState",
    "StepResult",
    "Thresholds",
    "advance",
    "channel_expired",
    "decide",
    "decode_channel_state",
    "decode_session_state",
    "encode_state",
    "session_expired",
    "step",
]
