"""Ordered writes to a worker's Connect stream by one task, replies and events batched when the router takes batches."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import grpc.aio

from . import _messages as m

#: Bytes of replies per batched message: gRPC refuses messages over 4 MiB; the rest is room for the envelope.
BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024


class _Gathered:
    """Replies (or events) waiting for the writer task, and how one of them, or several, make a message."""

    __slots__ = ("waiting", "one", "many")

    def __init__(self, one: Callable[[Any], Any], many: Callable[[list[Any]], Any]) -> None:
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.one = one
        self.many = many


class Writer:
    """Ordered writes to the stream by one task; `flushed` waits until everything queued was handed to gRPC.

    Replies to a router that takes batches (`batching`, from its Welcome) wait together until the task gets to them:
    whatever the handlers finished while it wrote the previous message leaves as one message, with no added delay.
    Events to a router whose Welcome says `event_batches` do the same, and leave before the replies waiting with them:
    an event emitted before a reply was ready is never written after it.
    """

    _CLOSE = object()

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[None]]] = asyncio.Queue()
        self._replies = _Gathered(lambda r: m.WorkerMessage(reply=r), lambda rs: m.WorkerMessage(replies=m.ReplyList(replies=rs)))
        self._events = _Gathered(lambda e: m.WorkerMessage(event=e), lambda es: m.WorkerMessage(events=m.EventList(events=es)))
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.closed = False
        self.batching = False
        self.event_batches = False

    @property
    def blocked(self) -> bool:
        return not self._queue.empty()

    def write(self, message: Any) -> "asyncio.Future[None]":
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed:
            done.set_exception(ConnectionError("the router stream is closed"))
        else:
            self._queue.put_nowait((message, done))
        return done

    def write_reply(self, reply: Any) -> "asyncio.Future[None]":
        """Writes a Reply: alone, or with the others waiting when the router takes batches."""
        return self._gather(self._replies, reply) if self.batching else self.write(m.WorkerMessage(reply=reply))

    def write_event(self, event: Any) -> "asyncio.Future[None]":
        """Writes an Event: alone, or with the others waiting when the router takes batches of events."""
        return self._gather(self._events, event) if self.event_batches else self.write(m.WorkerMessage(event=event))

    async def half_close(self) -> None:
        """Everything queued, then done_writing."""
        await self.write(self._CLOSE)

    async def flushed(self) -> None:
        await self.write(None)

    def _gather(self, group: _Gathered, item: Any) -> "asyncio.Future[None]":
        if self.closed:
            return self.write(None)  # fails with the closed stream's error
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group.waiting.append((item, done))
        if len(group.waiting) == 1:
            self.write(group).add_done_callback(ignore)  # one place in the queue for the whole batch
        return done

    async def _run(self) -> None:
        while True:
            message, done = await self._queue.get()
            try:
                if message is self._CLOSE:
                    self.closed = True
                    await self._call.done_writing()
                elif message is self._replies:
                    await self._write_gathered(self._events)  # the events waiting go first
                    await self._write_gathered(self._replies)
                elif message is self._events:
                    await self._write_gathered(self._events)
                elif message is not None:
                    await self._call.write(message)
                if not done.done():
                    done.set_result(None)
            except Exception as error:  # noqa: BLE001 - a dead stream fails every write after it
                self.closed = True
                if not done.done():
                    done.set_exception(ConnectionError(f"the router stream is closed: {error}"))

    async def _write_gathered(self, group: _Gathered) -> None:
        """Everything waiting in `group`, in messages under BATCH_BYTES; each item's future settles with its message's write."""
        waiting, group.waiting = group.waiting, []
        while waiting:
            size, count = 0, 0
            for item, _ in waiting:
                size += item.ByteSize() + 8
                if count > 0 and size > BATCH_BYTES:
                    break
                count += 1
            batch, waiting = waiting[:count], waiting[count:]
            items = [item for item, _ in batch]
            try:
                await self._call.write(group.one(items[0]) if count == 1 else group.many(items))
            except Exception as error:  # noqa: BLE001 - the stream is dead: everything still waiting fails with it
                for _, done in batch + waiting:
                    if not done.done():
                        done.set_exception(ConnectionError(f"the router stream is closed: {error}"))
                raise
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def stop(self) -> None:
        self.closed = True
        self._task.cancel()
        for group in (self._replies, self._events):
            for _, done in group.waiting:
                if not done.done():
                    done.set_exception(ConnectionError("the router stream is closed"))
            group.waiting = []
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(ConnectionError("the router stream is closed"))


def ignore(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()
