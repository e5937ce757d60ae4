"""The producer's cached key partitioner picks exactly Kafka's default partitions."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner

from engine.runtime.keyhash import CachedKeyPartitioner


def test_partitions_match_kafkas_default_for_new_and_cached_keys() -> None:
    cached = CachedKeyPartitioner(max_keys=50)
    default = DefaultPartitioner()
    keys = [str(uuid.UUID(int=i * 7919)).encode() for i in range(200)] + [b"", b"x" * 300]
    for partitions in ([0], [0, 1, 2, 3], list(range(12)), [0, 1, 2, 3, 4, 5, 6]):
        for _ in range(2):  # the second pass finds many keys cached (or evicted, then again)
            for key in keys:
                assert cached(key, partitions, partitions) == default(key, partitions, partitions)
    assert len(cached._hashes) <= 50


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    cached = CachedKeyPartitioner()
    picks = {cached(None, [0, 1, 2, 3], [2, 3]) for _ in range(200)}
    assert picks == {2, 3}
    assert cached(None, [0, 1], []) in (0, 1)
