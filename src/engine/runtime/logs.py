"""Structured logs: one JSON object per line on stderr, with secrets scrubbed from every record.

Scrubbing happens in a logging filter on the handler, so it covers our loggers, Faust's, mode's
and aiokafka's alike: any configured API token or password that appears in a message (say, in
an exception text) is replaced by ``***`` before the record is formatted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

_STD = set(vars(logging.makeLogRecord({})))


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(
            sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        )

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = self.scrub(record.getMessage())
            record.msg, record.args = message, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD and key not in ("message", "asctime") and not key.startswith("_"):
                doc[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


def logging_config(level: str, secrets: Iterable[str]) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict (Faust's Worker takes it as ``logging_config``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": Redactor, "secrets": list(secrets)}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["redact"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Per-request chatter from the clients; their warnings and errors still show.
            "aiokafka": {"level": "WARNING"},
            "kafka": {"level": "WARNING"},
            "aiohttp.access": {"level": "WARNING"},
        },
    }
