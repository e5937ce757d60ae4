"""The embedded local stack: real engines on loopback, for tests, demos and laptops."""

from engine.localstack.services import LocalStackError
from engine.localstack.stack import COMPONENTS, LocalStack, run_supervisor

__all__ = ["COMPONENTS", "LocalStack", "LocalStackError", "run_supervisor"]
