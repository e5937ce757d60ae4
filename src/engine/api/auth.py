"""Bearer-token authorisation with read and write scopes (``VBG_API_TOKENS``).

Policy, secure by default for writes:
- ``/metrics`` and ``/api/v1/health`` are open (Prometheus and load balancers scrape them).
- With no tokens configured, reads are open and every write is refused (403): an engine
  started without configuration can be watched but not changed.
- With tokens configured, reads need a read or write token and writes need a write token.
- Missing, malformed or unknown token → 401 with ``WWW-Authenticate: Bearer``; a valid token
  without the needed scope → 403.

Tokens are compared in constant time and never logged; audit records name the caller by a
token fingerprint (and an optional ``X-VBG-Actor`` header), never by the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from engine.api.errors import ApiError
from engine.config import ApiToken

ACTOR_HEADER = "X-VBG-Actor"
MAX_ACTOR_CHARS = 64
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="viewbot-guard"'}


@dataclass(frozen=True)
class Principal:
    """Who made a request, as it appears in audit records."""

    actor: str
    scope: str


def fingerprint(token: str) -> str:
    """A short, stable, non-reversible name for a token."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]


class Authenticator:
    def __init__(self, tokens: Iterable[ApiToken]) -> None:
        self._tokens = tuple(tokens)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Token strings, so error logs can scrub them."""
        return tuple(t.token for t in self._tokens)

    def _match(self, presented: str) -> ApiToken | None:
        found = None
        for candidate in self._tokens:  # no early exit: time does not depend on which matched
            if hmac.compare_digest(candidate.token.encode(), presented.encode()):
                found = candidate
        return found

    def authorize(self, request: web.Request, scope: str) -> Principal:
        """The caller if it may use ``scope``; raises ``ApiError`` 401/403 otherwise."""
        header = request.headers.get("Authorization")
        if not self._tokens:
            if scope == "write":
                raise ApiError(
                    403, "writes are disabled: no API tokens are configured (VBG_API_TOKENS)"
                )
            return Principal(actor=_actor(request, "anonymous"), scope="read")
        if header is None:
            raise ApiError(401, "missing bearer token", headers=_CHALLENGE)
        kind, _, presented = header.partition(" ")
        presented = presented.strip()
        if kind.lower() != "bearer" or not presented:
            raise ApiError(
                401, "malformed Authorization header; expected 'Bearer <token>'", headers=_CHALLENGE
            )
        token = self._match(presented)
        if token is None:
            raise ApiError(401, "invalid bearer token", headers=_CHALLENGE)
        if not token.allows(scope):
            raise ApiError(403, f"this token has {token.scope} scope; {scope} scope is required")
        return Principal(actor=_actor(request, fingerprint(token.token)), scope=token.scope)


def _actor(request: web.Request, identity: str) -> str:
    claimed = request.headers.get(ACTOR_HEADER, "").strip()[:MAX_ACTOR_CHARS]
    if claimed and all(ch.isprintable() for ch in claimed):
        return f"{claimed} ({identity})"
    return identity
