"""Viewbot Guard engine: detection core, stream runtime, sinks and tools."""

__version__ = "0.1.0"
