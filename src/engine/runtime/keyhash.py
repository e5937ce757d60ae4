"""The producer's key partitioner: Kafka's default (murmur2 of the key), with hashes cached.

aiokafka hashes every keyed record in pure Python (about 10 µs for a session id). The decide
agent sends each decision and its enforcement record under the same key, and a session's later
decisions repeat it, so a bounded cache of recent keys halves that work at least. Partitions
come out exactly as with ``aiokafka.partitioner.DefaultPartitioner``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import DefaultPartitioner, murmur2


class CachedKeyPartitioner:
    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._hashes: dict[bytes, int] = {}
        self._default = DefaultPartitioner()

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return self._default(key, all_partitions, available)
        digest = self._hashes.get(key)
        if digest is None:
            if len(self._hashes) >= self.max_keys:
                self._hashes.clear()
            digest = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[digest % len(all_partitions)]
