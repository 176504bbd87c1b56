"""connect_router (docs/workers.md): a client's send / events / list_workers over one grpc.aio channel.

`send` goes on a SendCommands stream by default (the commands of one turn of the event loop in one message, see
command_stream.py); `streaming=False` makes one unary SendCommand call per command.
"""
from __future__ import annotations

import uuid as uuid_module
from typing import Any, AsyncIterator, Optional, Union

import grpc
import grpc.aio

from . import _messages as m
from .channel import RouterStub, bearer, message_to_dict, open_channel
from .command_stream import StreamSender, call_failure
from .errors import WorkerAdminError
from .start_line import Tls
from .types import EventMessage, ReplyResult, event_message, parse_json_or_none, to_json_text

DEFAULT_COMMAND_TIMEOUT_MS = 30_000
DEFAULT_ADMIN_COMMAND_TIMEOUT_MS = 600_000
#: The gRPC deadline runs this much past timeout_ms so the Reply, not DEADLINE_EXCEEDED, tells the outcome.
DEADLINE_MARGIN_S = 5.0
_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(value: Union[int, float, str]) -> int:
    """Milliseconds from a number (ms) or a duration text ("500ms", "30s", "10m")."""
    if isinstance(value, (int, float)):
        return int(value)
    text = value.strip()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * _UNITS[unit])
    return int(float(text))


class RouterClient:
    """A client connection to a router (the channel connects on the first call)."""

    def __init__(self, address: str, token: Optional[str] = None, tls: Optional[Tls] = None, *, streaming: bool = True) -> None:
        self.address = address
        self._channel = open_channel(address, tls)
        self._stub = RouterStub(self._channel)
        self._metadata = bearer(token)
        self._stream = StreamSender(lambda: self._stub.send_commands(metadata=self._metadata), address) if streaming else None

    async def send(
        self, command: str, payload: Any = None, *, timeout: Union[int, float, str, None] = None, target: str = "",
        product: str = "", major: Union[str, int] = "", uuid: str = "", context: Optional[dict[str, str]] = None,
    ) -> ReplyResult:
        """Sends a command and returns its one Reply (whatever the status); raises only on gRPC errors."""
        timeout_ms = duration_ms(timeout) if timeout is not None else 0
        fields: dict[str, Any] = {
            "uuid": uuid or str(uuid_module.uuid4()), "command": command, "payload": to_json_text({} if payload is None else payload, f"the payload of {command}"),
            "timeout_ms": timeout_ms, "target": target, "major": str(major), "context": context or {},
        }
        if not uuid and "generated_uuid" in m.Command.DESCRIPTOR.fields_by_name:
            # made here only to match the Reply, never sent again: the router neither claims nor remembers it (docs/protocol.md)
            fields["generated_uuid"] = True
        if product:
            if "product" not in m.Command.DESCRIPTOR.fields_by_name:
                raise WorkerAdminError("CONFIG_INVALID", "this router contract has no product pin")
            fields["product"] = product
        default = DEFAULT_ADMIN_COMMAND_TIMEOUT_MS if command.startswith("ADMIN_") else DEFAULT_COMMAND_TIMEOUT_MS
        deadline = (timeout_ms or default) / 1000 + DEADLINE_MARGIN_S
        if self._stream is not None:
            r = await self._stream.send(m.Command(**fields), deadline)
        else:
            try:
                r = await self._stub.send_command(m.Command(**fields), metadata=self._metadata, timeout=deadline)
            except grpc.aio.AioRpcError as error:
                raise _call_error("SendCommand", self.address, error) from error
        return ReplyResult(uuid=r.uuid, status=m.STATUS_NAMES.get(r.status, str(r.status)), payload=parse_json_or_none(r.payload), error=r.error, worker=r.worker, raw_payload=r.payload)

    async def events(self, topics: Union[str, list[str], None] = None, events: Optional[list[str]] = None) -> AsyncIterator[EventMessage]:
        """Events of these topics (every topic when empty) until the loop breaks or close()."""
        topic_list = [topics] if isinstance(topics, str) else list(topics or [])
        call = self._stub.watch_events(m.EventFilter(topics=topic_list, events=events or []), metadata=self._metadata)
        try:
            async for e in call:
                yield event_message(e)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise _call_error("WatchEvents", self.address, error) from error
        finally:
            call.cancel()

    async def watch(self, topics: Union[str, list[str], None] = None, events: Optional[list[str]] = None) -> "EventWatch":
        """Like events(), but returns once the router registered the watch: events published from now on reach it."""
        topic_list = [topics] if isinstance(topics, str) else list(topics or [])
        call = self._stub.watch_events(m.EventFilter(topics=topic_list, events=events or []), metadata=self._metadata)
        try:
            await call.initial_metadata()
        except grpc.aio.AioRpcError as error:
            raise _call_error("WatchEvents", self.address, error) from error
        return EventWatch(call, self.address)

    async def list_workers(self) -> dict[str, Any]:
        try:
            return message_to_dict(await self._stub.list_workers(m.Empty(), metadata=self._metadata, timeout=30))
        except grpc.aio.AioRpcError as error:
            raise _call_error("ListWorkers", self.address, error) from error

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()
            self._stream.cancel()
        await self._channel.close()

    async def __aenter__(self) -> "RouterClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def connect_router(address: str, token: Optional[str] = None, tls: Optional[Tls] = None, *, streaming: bool = True) -> RouterClient:
    """A client of the router at `address` (unix:/path or host:port) with a client (or admin) token.

    Commands go on a SendCommands stream unless `streaming` is False (then one unary SendCommand call each).
    """
    return RouterClient(address, token, tls, streaming=streaming)


def _call_error(method: str, address: str, error: grpc.aio.AioRpcError) -> WorkerAdminError:
    return call_failure(method, address, error.code(), error.details())


class EventWatch:
    """A registered event watch: `async for event in watch`, then `watch.close()` (or leave the loop)."""

    def __init__(self, call: Any, address: str) -> None:
        self._call = call
        self._address = address

    def __aiter__(self) -> AsyncIterator[EventMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EventMessage]:
        try:
            async for e in self._call:
                yield event_message(e)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise _call_error("WatchEvents", self._address, error) from error

    def close(self) -> None:
        self._call.cancel()
