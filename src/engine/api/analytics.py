"""Analytics endpoints' parameters and shapes, from the one query catalog (engine.analytics).

The catalog declares each query's typed parameters; this module turns URL query strings into
checked values (422 with the catalog's message when they do not fit, 404 for unknown names) so
the services only ever run a known query with bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.analytics import catalog
from engine.analytics.params import CatalogError, UnknownQueryError
from engine.api.codecs import Invalid
from engine.api.errors import ApiError

SUMMARY = "summary"
_BY_ACTION = {
    "count": "counted",
    "suppress": "suppressed",
    "challenge": "challenged",
    "block": "blocked",
}


def specs() -> list[dict[str, Any]]:
    """Every query with its parameters, for ``GET /api/v1/analytics``."""
    return catalog.query_specs()


def validate(name: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Typed, bound parameters for query ``name`` from a URL query string."""
    try:
        named = catalog.get(name)
    except UnknownQueryError as exc:
        raise ApiError(404, str(exc)) from None
    getall = getattr(query, "getall", None)
    raw: dict[str, str] = {}
    for key in query:
        if getall is not None and len(getall(key)) > 1:
            raise Invalid(f"query {name}: parameter {key} is given more than once")
        raw[key] = query[key]
    try:
        return named.bind(named.parse(raw))
    except CatalogError as exc:
        raise Invalid(str(exc)) from None


def summary_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary row as one object (the guide reads ``.error_rate``), plus counts by action."""
    if not rows:
        raise ApiError(503, "the summary query returned no row")
    row = dict(rows[0])
    row["decisions_by_action"] = {
        action: row.get(column, 0) for action, column in _BY_ACTION.items()
    }
    return row
