"""A client's SendCommands stream to one router (docs/protocol.md), as the TypeScript SDK has it.

The commands sent in one turn of the event loop go out as one CommandBatch, split under the 4 MiB message limit;
replies come back in ReplyBatch messages, matched by uuid. When the stream ends, every command written on it gets a
WorkerAdminError naming why (it may have run); those not written yet go on the next stream, which opens by itself.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

import grpc
import grpc.aio

from . import _messages as m
from .channel import MAX_MESSAGE_BYTES
from .errors import WorkerAdminError

#: Bytes of a batch entry's tag and length, at most (the command's own bytes come from protobuf).
_ENTRY_OVERHEAD = 6


def call_failure(method: str, address: str, code: grpc.StatusCode, details: str) -> WorkerAdminError:
    """A failed call as the SDK reports it: AUTH_INVALID or ROUTER_ERROR naming the call, the router and the status."""
    kind = "AUTH_INVALID" if code == grpc.StatusCode.UNAUTHENTICATED else "ROUTER_ERROR"
    return WorkerAdminError(kind, f"router {address}: {method} failed with {code.name}: {details}")


class _Entry:
    __slots__ = ("command", "bytes", "future", "written")

    def __init__(self, command: Any, size: int, future: "asyncio.Future[Any]") -> None:
        self.command = command
        self.bytes = size
        self.future = future
        self.written = False


class CommandStream:
    """One SendCommands call; `send` resolves with the command's Reply message."""

    def __init__(self, open_call: Callable[[], grpc.aio.StreamStreamCall], address: str, on_end: Callable[["CommandStream", list[_Entry]], None]) -> None:
        self._address = address
        self._on_end = on_end
        self._call = open_call()
        self._loop = asyncio.get_running_loop()
        self._waiting: dict[str, list[_Entry]] = {}
        self._outbox: list[_Entry] = []
        self._batches: asyncio.Queue[Optional[list[_Entry]]] = asyncio.Queue()
        self._flush_scheduled = False
        self.open = True
        self._writer = self._loop.create_task(self._write())
        self._reader = self._loop.create_task(self._read())

    def send(self, entry: _Entry) -> None:
        self._waiting.setdefault(entry.command.uuid, []).append(entry)
        self._outbox.append(entry)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    async def half_close(self) -> None:
        """No more commands: the router answers those in flight, then ends the stream."""
        if self.open:
            self._batches.put_nowait(None)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch: list[_Entry] = []
        size = 0
        for entry in self._outbox:
            if entry.future.done():
                continue
            if batch and size + entry.bytes > MAX_MESSAGE_BYTES:
                self._batches.put_nowait(batch)
                batch, size = [], 0
            batch.append(entry)
            size += entry.bytes
        self._outbox = []
        if batch:
            self._batches.put_nowait(batch)

    async def _write(self) -> None:
        try:
            while True:
                batch = await self._batches.get()
                if batch is None:
                    await self._call.done_writing()
                    return
                for entry in batch:
                    entry.written = True  # handed to grpc: from now on it may reach the router
                await self._call.write(m.CommandBatch(commands=[e.command for e in batch]))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            return  # the stream ended: the reader says why

    async def _read(self) -> None:
        code, details = grpc.StatusCode.UNAVAILABLE, "the router ended the stream"
        try:
            while True:
                batch = await self._call.read()
                if batch is grpc.aio.EOF:
                    break
                for reply in batch.replies:
                    self._deliver(reply)
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details() or str(error)
        except asyncio.CancelledError:
            code, details = grpc.StatusCode.CANCELLED, "the client was closed"
        self._end(code, details)

    def _deliver(self, reply: Any) -> None:
        entries = self._waiting.get(reply.uuid)
        if not entries:
            return
        entry = entries.pop(0)
        if not entries:
            del self._waiting[reply.uuid]
        if not entry.future.done():
            entry.future.set_result(reply)

    def _end(self, code: grpc.StatusCode, details: str) -> None:
        self.open = False
        self._writer.cancel()
        error = call_failure("SendCommands", self._address, code, f"{details} (the command was sent and got no reply: it may have run)")
        unwritten: list[_Entry] = []
        for entries in self._waiting.values():
            for entry in entries:
                if entry.future.done():
                    continue
                if entry.written:
                    entry.future.set_exception(error)
                else:
                    unwritten.append(entry)
        self._waiting.clear()
        self._outbox = []
        self._on_end(self, unwritten)

    def cancel(self) -> None:
        self._reader.cancel()
        self._call.cancel()


class StreamSender:
    """A router's SendCommands stream for one client, opened on the first send and again after it ended."""

    def __init__(self, open_call: Callable[[], grpc.aio.StreamStreamCall], address: str) -> None:
        self._open_call = open_call
        self._address = address
        self._stream: Optional[CommandStream] = None
        self._closed = False

    async def send(self, command: Any, deadline_s: float) -> Any:
        size = command.ByteSize() + _ENTRY_OVERHEAD
        if size > MAX_MESSAGE_BYTES:
            raise call_failure("SendCommands", self._address, grpc.StatusCode.RESOURCE_EXHAUSTED, f"the command is {command.ByteSize()} bytes, over the {MAX_MESSAGE_BYTES}-byte message limit")
        if self._closed:
            raise call_failure("SendCommands", self._address, grpc.StatusCode.CANCELLED, "the client was closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_Entry(command, size, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), deadline_s)
        except asyncio.TimeoutError:
            future.cancel()
            raise call_failure("SendCommands", self._address, grpc.StatusCode.DEADLINE_EXCEEDED, f"no reply to {command.command} {command.uuid} before its deadline") from None

    async def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            await self._stream.half_close()

    def cancel(self) -> None:
        if self._stream is not None:
            self._stream.cancel()

    def _enqueue(self, entry: _Entry) -> None:
        if self._stream is None or not self._stream.open:
            self._stream = CommandStream(self._open_call, self._address, self._ended)
        self._stream.send(entry)

    def _ended(self, stream: CommandStream, unwritten: list[_Entry]) -> None:
        if self._stream is stream:
            self._stream = None
        for entry in unwritten:
            if self._closed:
                entry.future.set_exception(call_failure("SendCommands", self._address, grpc.StatusCode.CANCELLED, "the client was closed"))
            else:
                self._enqueue(entry)
