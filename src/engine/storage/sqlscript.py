"""Split a SQL script into statements.

ClickHouse runs one statement per request, so migration files and runbook fixtures are split
here. Semicolons inside strings, quoted identifiers and comments do not end a statement.
"""

from __future__ import annotations

_QUOTES = ("'", '"', "`")


def split_statements(script: str) -> list[str]:
    """Statements of ``script`` in order, without the terminating ``;`` or leading comments."""
    statements: list[str] = []
    start = 0
    i = 0
    n = len(script)
    while i < n:
        ch = script[i]
        if ch in _QUOTES:
            i = _end_of_quoted(script, i)
        elif script.startswith("--", i):
            newline = script.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif script.startswith("/*", i):
            close = script.find("*/", i + 2)
            i = n if close < 0 else close + 2
        elif ch == ";":
            statements.append(script[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(script[start:])
    return [s for s in (_strip_leading_comments(s) for s in statements) if s]


def _end_of_quoted(script: str, i: int) -> int:
    """Index just past the quoted token opening at ``i`` (backslash and doubled quotes escape)."""
    quote = script[i]
    i += 1
    while i < len(script):
        ch = script[i]
        if ch == "\\":
            i += 2
        elif ch == quote:
            if script.startswith(quote, i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return i


def _strip_leading_comments(statement: str) -> str:
    text = statement.strip()
    while text.startswith(("--", "/*")):
        if text.startswith("--"):
            newline = text.find("\n")
            text = "" if newline < 0 else text[newline + 1 :].lstrip()
        else:
            close = text.find("*/")
            text = "" if close < 0 else text[close + 2 :].lstrip()
    return text.rstrip()
