"""One worker's Connect stream: Hello/Welcome, commands, topic events, heartbeats, drain, end.

It behaves as the TypeScript SDK's session (docs/workers.md): on Drain it takes nothing new, waits for the handlers
in flight, sends their replies, half-closes, and waits for the router to end the stream; only then exit 0.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import grpc
import grpc.aio

from . import _messages as m
from ._writer import Writer, ignore as _ignore
from .errors import WorkerAdminError
from .start_line import StartLine
from .types import CommandContext, CommandHandler, TopicHandler, WorkerState, event_message, is_coroutine_function, to_json_text

#: How long after a command's timeout its handler is cancelled (the router's TIMEOUT reply goes first).
CANCEL_GRACE_S = 0.5


_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "CONNECTING": ("READY", "FAILED"),
    "READY": ("DRAINING", "FAILED"),
    "DRAINING": ("CLOSING", "FAILED"),
    "CLOSING": ("CLOSED", "FAILED"),
    "CLOSED": (),
    "FAILED": (),
}


class Lifecycle:
    """The state; `to` refuses an illegal transition (STATE_INVALID) and logs the legal ones."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.state: WorkerState = "CONNECTING"
        self._log = log

    @property
    def ended(self) -> bool:
        return self.state in ("CLOSED", "FAILED")

    def to(self, state: WorkerState, why: str) -> None:
        if state not in _TRANSITIONS[self.state]:
            raise WorkerAdminError("STATE_INVALID", f"worker state {self.state} cannot become {state} ({why})")
        self._log(f"{self.state} -> {state}: {why}")
        self.state = state


@dataclass(frozen=True)
class SessionEnd:
    code: int
    reason: str


class WorkerSession:
    """Drives one Connect stream from Hello to its end; `ended` settles exactly once."""

    def __init__(
        self, *, call: grpc.aio.StreamStreamCall, line: StartLine, commands: dict[str, CommandHandler], events: list[str],
        topics: dict[str, TopicHandler], log: Callable[[str], None], worker: Any,
        heartbeat_s: float = 10.0, hello_timeout_s: float = 30.0, close_timeout_s: float = 10.0,
    ) -> None:
        self._call = call
        self._line = line
        self._commands = commands
        self._events = events
        self._topics = topics
        self._log = log
        self._worker = worker
        self._heartbeat_s = heartbeat_s
        self._hello_timeout_s = hello_timeout_s
        self._close_timeout_s = close_timeout_s
        self.lifecycle = Lifecycle(log)
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.ended: asyncio.Future[SessionEnd] = loop.create_future()
        self._welcomed: asyncio.Future[None] = loop.create_future()
        self._writer = Writer(call)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._cancels: set[Callable[[], None]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer: Optional[asyncio.TimerHandle] = None
        self._heartbeat: Optional[asyncio.Task[None]] = None
        self._reader: Optional[asyncio.Task[None]] = None
        self._draining: Optional[asyncio.Task[None]] = None

    @property
    def state(self) -> WorkerState:
        return self.lifecycle.state

    async def start(self) -> None:
        """Sends Hello; returns on Welcome.valid, raises WorkerAdminError (BAD_TOKEN, COMMANDS_MISSING, ROUTER_ERROR) otherwise."""
        line = self._line
        self._timer = self.loop.call_later(
            self._hello_timeout_s, self._refuse, 1, "ROUTER_ERROR", f"no Welcome from router {line.target} within {int(self._hello_timeout_s * 1000)} ms")
        hello = m.WorkerMessage(hello={
            "identifier": line.identifier, "token": line.token, "type": line.type, "product": line.product, "version": line.version,
            "commands": list(self._commands), "events": list(self._events), "topics": list(self._topics),
            "batching": True,
        })
        self._reader = self.loop.create_task(self._read())
        sent = self._writer.write(hello)
        sent.add_done_callback(lambda f: f.cancelled() or f.exception() is None or self._refuse(1, "ROUTER_ERROR", f"cannot send Hello: {f.exception()}"))
        await self._welcomed

    async def emit(self, event: str, payload: Any = None, *, topic: Optional[str] = None, reference_uuid: str = "") -> None:
        """Sends an event on the stream (topic default `{type}/{product}`); returns once written."""
        if self.state not in ("READY", "DRAINING"):
            raise WorkerAdminError("STATE_INVALID", f"cannot emit {event}: the worker is {self.state}")
        await self._writer.write_event(m.Event(
            event=event, topic=topic or f"{self._line.type}/{self._line.product}",
            payload=to_json_text(payload, f"the payload of event {event}"), reference_uuid=reference_uuid,
        ))

    def drain(self, reason: str) -> "asyncio.Future[None]":
        """Takes nothing new, waits for in-flight handlers and their replies, half-closes; `ended` settles when the router ends the stream."""
        if self.state == "CONNECTING":
            self._refuse(1, "ROUTER_ERROR", f"stopped before the router welcomed the worker ({reason})")
            return _done(self.loop)
        if self._draining is None:
            self._draining = self.loop.create_task(self._do_drain(reason))
        return self._draining

    def abort(self, reason: str) -> None:
        """Ends at once without waiting (second signal, fatal error): in-flight replies are lost."""
        if self.state == "CONNECTING":
            self._refuse(1, "ROUTER_ERROR", reason)
            return
        self._call.cancel()
        self._finish(1, reason)

    async def _do_drain(self, reason: str) -> None:
        if self.state != "READY":
            return
        self.lifecycle.to("DRAINING", reason)
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        try:
            await self._writer.flushed()
        except ConnectionError:
            return  # the stream died: _read saw its status and ended the session
        if self.lifecycle.ended:
            return
        self.lifecycle.to("CLOSING", f"{reason}: every reply sent, half-closing")
        try:
            await self._writer.half_close()
        except ConnectionError:
            return
        self._timer = self.loop.call_later(
            self._close_timeout_s, self.abort, f"router did not end the stream within {int(self._close_timeout_s * 1000)} ms after the half-close")

    async def _read(self) -> None:
        try:
            while True:
                message = await self._call.read()
                if message is grpc.aio.EOF:
                    break
                self._on_message(message)
        except asyncio.CancelledError:
            pass
        except grpc.aio.AioRpcError:
            pass  # the call's code below says what happened
        except Exception as error:  # noqa: BLE001
            self._log(f"reading the router stream failed: {error}")
        code = await self._call.code()
        details = await self._call.details()
        self._on_status(code, details or "")

    def _on_message(self, message: Any) -> None:
        kind = message.WhichOneof("kind")
        if kind == "welcome":
            self._writer.batching = message.welcome.batching  # a router that does not say so gets one reply per message
            self._writer.event_batches = message.welcome.event_batches  # and one event per message
            self._on_welcome(message.welcome.valid, message.welcome.reason)
        elif kind == "command":
            self._on_command(message.command)
        elif kind == "commands":
            for command in message.commands.commands:
                self._on_command(command)
        elif kind == "drain":
            why = f": {message.drain.reason}" if message.drain.reason else ""
            self.drain(f"drain requested by the router{why}")
        elif kind == "event":
            self._on_event(message.event)

    def _on_welcome(self, valid: bool, reason: str) -> None:
        if self.state != "CONNECTING":
            return
        if not valid:
            code = "COMMANDS_MISSING" if reason.startswith("COMMANDS_MISSING") else "BAD_TOKEN"
            self._refuse(2, code, f"refused by router {self._line.target}: {reason or 'no reason given'}")
            return
        self._cancel_timer()
        self.lifecycle.to("READY", f"welcomed by router {self._line.target}")
        self._heartbeat = self.loop.create_task(self._beat())
        if not self._welcomed.done():
            self._welcomed.set_result(None)

    def _on_command(self, command: Any) -> None:
        if self.state == "CLOSING" or self.lifecycle.ended:
            return  # we half-closed: the router answers WORKER_LOST
        if self.state != "READY":
            # dispatched before the router saw our drain: answer at once rather than leave it hanging
            reply = _fail(command.uuid, f"WORKER_DRAINING: {self._line.identifier}@{self._line.version} takes no new commands")
            self._writer.write(m.WorkerMessage(reply=reply)).add_done_callback(_ignore)
            return
        task = self.loop.create_task(self._run_command(command))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _run_command(self, command: Any) -> None:
        reply = await self._reply_to(command)
        try:
            await self._writer.write_reply(reply)
        except ConnectionError as error:
            self._log(f"reply to {command.command} {command.uuid} not sent: {error}")

    async def _reply_to(self, command: Any) -> Any:
        handler = self._commands.get(command.command)
        if handler is None:
            return _fail(command.uuid, f"UNKNOWN_COMMAND: this worker does not serve {command.command}")
        try:
            payload = json.loads(command.payload) if command.payload else None
        except ValueError as error:
            return _fail(command.uuid, f"payload of {command.command} is not JSON: {error}")
        cancelled = threading.Event()
        ctx = CommandContext(uuid=command.uuid, command=command.command, timeout_ms=command.timeout_ms, worker=self._worker, cancelled=cancelled)
        asynchronous = is_coroutine_function(handler)
        job: asyncio.Future[Any] = self.loop.create_task(handler(payload, ctx)) if asynchronous else self.loop.run_in_executor(None, handler, payload, ctx)
        why: list[str] = []

        def cancel(reason: str) -> None:
            why.append(reason)
            cancelled.set()
            if asynchronous:
                job.cancel()  # a thread cannot be interrupted: a sync handler watches ctx.cancelled

        # past timeout_ms the router answers TIMEOUT: the handler is told to give up a little later, so that the
        # router's TIMEOUT, not this worker's CANCELLED, is the one reply
        timer = self.loop.call_later(command.timeout_ms / 1000 + CANCEL_GRACE_S, cancel, f"timed out after {command.timeout_ms} ms") if command.timeout_ms > 0 else None
        on_stop = lambda: cancel("the worker stopped")  # noqa: E731
        self._cancels.add(on_stop)
        try:
            value = await job
            return m.Reply(uuid=command.uuid, status=m.STATUS_NUMBERS["SUCCESS"], payload=to_json_text(value, f"the result of {command.command}"))
        except asyncio.CancelledError:
            if not why:
                raise
            return _fail(command.uuid, f"CANCELLED: {command.command} {why[0]}")
        except Exception as error:  # noqa: BLE001 - a handler's raise is its FAIL
            return _fail(command.uuid, str(error) or f"{command.command} failed ({type(error).__name__})")
        finally:
            if timer is not None:
                timer.cancel()
            self._cancels.discard(on_stop)

    def _on_event(self, e: Any) -> None:
        handler = self._topics.get(e.topic)
        if handler is None or self.state != "READY":
            return
        event = event_message(e)

        async def run() -> None:
            try:
                if is_coroutine_function(handler):
                    await handler(event, self._worker)
                else:
                    await self.loop.run_in_executor(None, handler, event, self._worker)
            except Exception as error:  # noqa: BLE001
                self._log(f"handler of topic {e.topic} failed on {e.event}: {error}")

        task = self.loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_status(self, code: grpc.StatusCode, details: str) -> None:
        name = code.name if code is not None else "UNKNOWN"
        more = f": {details}" if details and details != name else ""
        if self.state == "CONNECTING":
            refused = code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION)
            kind = "COMMANDS_MISSING" if code == grpc.StatusCode.FAILED_PRECONDITION else "BAD_TOKEN" if refused else "ROUTER_ERROR"
            self._refuse(2 if refused else 1, kind, f"router {self._line.target} ended the stream before Welcome with {name}{more}")
        elif self.state == "CLOSING":
            self._finish(0 if code == grpc.StatusCode.OK else 1, f"router ended the stream with {name}{more} after the drain")
        else:
            self._finish(1, f"router stream ended unexpectedly with {name}{more}")

    def _refuse(self, exit_code: int, code: str, message: str) -> None:
        if self.state != "CONNECTING":
            return
        self._call.cancel()
        self._finish(exit_code, message)
        if not self._welcomed.done():
            self._welcomed.set_exception(WorkerAdminError(code, message))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            # a full queue already proves the stream is alive; do not pile heartbeats on it
            if self.state == "READY" and not self._writer.blocked:
                self._writer.write(m.WorkerMessage(heartbeat={"timestamp_ms": int(time.time() * 1000)})).add_done_callback(_ignore)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self, code: int, reason: str) -> None:
        if self.lifecycle.ended:
            return
        self._cancel_timer()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for cancel in list(self._cancels):
            cancel()
        self._writer.stop()
        self.lifecycle.to("CLOSED" if code == 0 else "FAILED", reason)
        if not self.ended.done():
            self.ended.set_result(SessionEnd(code, reason))


def _fail(uuid: str, error: str) -> Any:
    return m.Reply(uuid=uuid, status=m.STATUS_NUMBERS["FAIL"], payload="", error=error)


def _done(loop: asyncio.AbstractEventLoop) -> "asyncio.Future[None]":
    f: asyncio.Future[None] = loop.create_future()
    f.set_result(None)
    return f
