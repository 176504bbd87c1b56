"""Public shapes of the SDK: what handlers get, events and replies as Python values."""
from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Literal, Optional, Union

if TYPE_CHECKING:
    from .worker import RunningWorker

#: Life of a worker; every transition goes through one guarded setter (session.Lifecycle).
WorkerState = Literal["CONNECTING", "READY", "DRAINING", "CLOSING", "CLOSED", "FAILED"]


@dataclass
class CommandContext:
    """What a handler gets besides the payload.

    `cancelled` is set when the command's timeout passes or the worker stops, while the command runs. An async
    handler is also cancelled then (asyncio.CancelledError); a synchronous one runs in a thread and can only stop
    cooperatively, by checking `cancelled`.
    """

    uuid: str
    command: str
    timeout_ms: int
    worker: "RunningWorker"
    cancelled: threading.Event


@dataclass(frozen=True)
class EventMessage:
    """An event with its payload parsed (None when empty or not JSON); the JSON text stays in raw_payload."""

    uuid: str
    topic: str
    event: str
    payload: Any
    reference_uuid: str
    timestamp_ms: int
    source: str
    raw_payload: str


@dataclass(frozen=True)
class ReplyResult:
    """A Reply with its payload parsed (None when empty); status is SUCCESS, FAIL, TIMEOUT, NO_WORKER or INVALID."""

    uuid: str
    status: str
    payload: Any
    error: str
    worker: str
    raw_payload: str

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


CommandHandler = Callable[[Any, CommandContext], Union[Any, Awaitable[Any]]]
TopicHandler = Callable[[EventMessage, "RunningWorker"], Union[None, Awaitable[None]]]


def parse_json_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


#: The largest payload the SDK sends: gRPC refuses messages over 4 MiB, with room for the envelope.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 - 16 * 1024


def to_json_text(value: Any, what: str) -> str:
    """JSON text of a value; raises when it cannot be serialised or is too big."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} cannot be serialised to JSON: {error}") from error
    size = len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{what} is {size} bytes of JSON, over the {MAX_PAYLOAD_BYTES}-byte limit of a message")
    return text


def event_message(e: Any) -> EventMessage:
    return EventMessage(
        uuid=e.uuid, topic=e.topic, event=e.event, payload=parse_json_or_none(e.payload), reference_uuid=e.reference_uuid,
        timestamp_ms=int(e.timestamp_ms), source=e.source, raw_payload=e.payload,
    )


def is_coroutine_function(fn: Any) -> bool:
    return asyncio.iscoroutinefunction(fn) or asyncio.iscoroutinefunction(getattr(fn, "__call__", None))
