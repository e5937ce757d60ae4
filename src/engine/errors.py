"""Errors the CLI reports as one line, without a traceback."""


class CommandError(Exception):
    """An expected failure with a message for the operator (exit code 1)."""
