"""Ordered writes to a worker's Connect stream by one task, replies batched when the router takes batches."""
from __future__ import annotations

import asyncio
from typing import Any

import grpc.aio

from . import _messages as m

#: Bytes of replies per batched message: gRPC refuses messages over 4 MiB; the rest is room for the envelope.
BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024


class Writer:
    """Ordered writes to the stream by one task; `flushed` waits until everything queued was handed to gRPC.

    Replies to a router that takes batches (`batching`, from its Welcome) wait together until the task gets to them:
    whatever the handlers finished while it wrote the previous message leaves as one message, with no added delay.
    """

    _CLOSE = object()
    _REPLIES = object()

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[None]]] = asyncio.Queue()
        self._replies: list[tuple[Any, asyncio.Future[None]]] = []
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.closed = False
        self.batching = False

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
        if not self.batching or self.closed:
            return self.write(m.WorkerMessage(reply=reply))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies.append((reply, done))
        if len(self._replies) == 1:
            self.write(self._REPLIES).add_done_callback(ignore)  # one place in the queue for the whole batch
        return done

    async def half_close(self) -> None:
        """Everything queued, then done_writing."""
        await self.write(self._CLOSE)

    async def flushed(self) -> None:
        await self.write(None)

    async def _run(self) -> None:
        while True:
            message, done = await self._queue.get()
            try:
                if message is self._CLOSE:
                    self.closed = True
                    await self._call.done_writing()
                elif message is self._REPLIES:
                    await self._write_replies()
                elif message is not None:
                    await self._call.write(message)
                if not done.done():
                    done.set_result(None)
            except Exception as error:  # noqa: BLE001 - a dead stream fails every write after it
                self.closed = True
                if not done.done():
                    done.set_exception(ConnectionError(f"the router stream is closed: {error}"))

    async def _write_replies(self) -> None:
        """Every reply waiting, in messages under BATCH_BYTES; each reply's future settles with its message's write."""
        waiting, self._replies = self._replies, []
        while waiting:
            size, count = 0, 0
            for reply, _ in waiting:
                size += reply.ByteSize() + 8
                if count > 0 and size > BATCH_BYTES:
                    break
                count += 1
            batch, waiting = waiting[:count], waiting[count:]
            replies = [reply for reply, _ in batch]
            message = m.WorkerMessage(reply=replies[0]) if count == 1 else m.WorkerMessage(replies=m.ReplyList(replies=replies))
            try:
                await self._call.write(message)
            except Exception as error:  # noqa: BLE001 - the stream is dead: every reply still waiting fails with it
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
        for _, done in self._replies:
            if not done.done():
                done.set_exception(ConnectionError("the router stream is closed"))
        self._replies = []
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(ConnectionError("the router stream is closed"))


def ignore(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()
