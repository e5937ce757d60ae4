"""The engine's consumer: what Faust does around it must not let a commit pass a message that
no agent finished (each case here lost events after a kill -9 and a restart).

These use a real Faust app and consumer object; nothing is started, so no broker is needed.
The broker-facing half (end offsets) is in tests/integration/test_kafka_end_offsets.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import faust
import faust.streams
import pytest
from faust.types import TP

from engine.runtime import transport

TOPIC = "vbg-test-channel"


class _App(faust.App):
    def __init__(self, *args: Any, transport_cls: type, **kwargs: Any) -> None:
        self._transport_cls = transport_cls
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return self._transport_cls(self.conf.broker_consumer, self)


@pytest.fixture
def consumer() -> Iterator[Any]:
    cls = transport.configure(batch_topics=[TOPIC], detached_topics=[], fetch_max_wait_ms=100)
    app = _App("vbg-test-transport", broker="kafka://127.0.0.1:9", transport_cls=cls)
    # What the conductor records once an agent subscribes: acks are enabled for the topic.
    app.topics._acking_topics.add(TOPIC)
    consumer = app.consumer
    yield consumer


def _batch(offset: int, last: int, generation: int = 0) -> transport.BatchMessage:
    records = [
        SimpleNamespace(
            topic=TOPIC,
            partition=0,
            offset=o,
            timestamp=None,
            timestamp_type=0,
            serialized_value_size=1,
        )
        for o in range(offset, last + 1)
    ]
    return transport.BatchMessage(TP(TOPIC, 0), offset, records, generation)


def test_streams_ack_through_the_consumer() -> None:
    """Faust's compiled stream iterator inlines the ack bookkeeping and so bypassed
    ``Consumer.ack``: a message the decide agent held (its events still in the merge, in no
    durable state) was committed anyway."""
    transport.configure(batch_topics=[], detached_topics=[], fetch_max_wait_ms=100)
    assert faust.streams._CStreamIterator is None


def test_a_held_message_is_not_acked_until_released(consumer: Any) -> None:
    message = _batch(0, 4)
    consumer.hold(message)
    assert message.ack(consumer) is False  # the stream's ack, as Faust's Python iterator does
    assert consumer._new_offset(TP(TOPIC, 0)) is None
    assert consumer.release(message) is True
    assert consumer._new_offset(TP(TOPIC, 0)) == 5


def test_messages_cleared_from_a_stream_queue_are_fetched_again(consumer: Any) -> None:
    """Flow control's resume() empties every stream queue. What an agent had not taken yet was
    never tracked: the commit could pass it and nothing fetched it again."""
    tp = TP(TOPIC, 0)
    taken, waiting, later = _batch(0, 9), _batch(10, 19), _batch(20, 29)

    async def deliver() -> None:
        async def into_queue(message: Any) -> None:
            pass

        consumer.callback = into_queue
        consumer.app.flow_control.resume()
        for message in (taken, waiting, later):
            assert await consumer._deliver(message)

    asyncio.run(deliver())
    taken.tracked = True  # the agent took this one; Faust now tracks it as un-acked
    consumer._unacked_messages.add(taken)
    assert consumer.ack(taken) is True
    # Not yet taken, so still in flight: the commit stops below them.
    assert consumer._lowest_in_flight(tp) == 10
    assert consumer._new_offset(tp) == 10

    consumer.app.flow_control.resume()  # Faust: the end of a recovery; clears the queues
    assert consumer._rewind == {tp: 10}  # fetched again from the first one not taken
