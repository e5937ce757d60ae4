"""Typed parameters of catalog queries.

Each parameter declares the ClickHouse type of its ``{name:Type}`` placeholder, so values are
bound by the server, never formatted into SQL. Values are checked here first, so a caller gets a
:class:`ParamError` that names the parameter instead of a server error. :meth:`Param.parse`
accepts the text form for HTTP query strings and command lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INT_RANGES: dict[str, tuple[int, int]] = {
    "UInt8": (0, 2**8 - 1),
    "UInt16": (0, 2**16 - 1),
    "UInt32": (0, 2**32 - 1),
    "UInt64": (0, 2**64 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "Int64": (-(2**63), 2**63 - 1),
}
TYPES = (*INT_RANGES, "Float64", "String")
MAX_STRING = 1024


class CatalogError(ValueError):
    """A catalog request the caller got wrong (unknown query, bad parameters)."""


class UnknownQueryError(CatalogError, KeyError):
    """No query of that name; ``str()`` is the message, not a repr."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ParamError(CatalogError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


_REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    default: Any = _REQUIRED
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"parameter {self.name}: unsupported type {self.type}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def spec(self) -> dict[str, Any]:
        """JSON-friendly description for the API and the cockpit."""
        spec: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "required": self.required,
        }
        if not self.required:
            spec["default"] = self.default
        if self.minimum is not None:
            spec["minimum"] = self.minimum
        if self.maximum is not None:
            spec["maximum"] = self.maximum
        return spec

    def check(self, query: str, value: Any) -> Any:
        """``value`` if it fits this parameter, else :class:`ParamError`."""
        where = f"query {query}: parameter {self.name} ({self.type})"
        if self.type == "String":
            if not isinstance(value, str):
                raise ParamError(f"{where} must be a string, got {type(value).__name__}")
            if len(value) > MAX_STRING:
                raise ParamError(f"{where} is longer than {MAX_STRING} characters")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(f"{where} must be a number, got {type(value).__name__}")
        if self.type in INT_RANGES:
            if not isinstance(value, int):
                raise ParamError(f"{where} must be an integer, got {value!r}")
            lo, hi = INT_RANGES[self.type]
            if not lo <= value <= hi:
                raise ParamError(f"{where} is out of range: {value}")
        elif not math.isfinite(value):
            raise ParamError(f"{where} must be finite, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ParamError(f"{where} must be >= {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(f"{where} must be <= {self.maximum:g}, got {value!r}")
        return value

    def parse(self, query: str, text: str) -> Any:
        """Convert the text form (e.g. ``hours_back=24`` from a URL) and check it."""
        if self.type == "String":
            return self.check(query, text)
        try:
            value: Any = int(text) if self.type in INT_RANGES else float(text)
        except ValueError:
            raise ParamError(
                f"query {query}: parameter {self.name} ({self.type}) cannot be {text!r}"
            ) from None
        return self.check(query, value)
