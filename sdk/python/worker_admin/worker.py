"""start_worker (docs/workers.md): stdin line → Hello → serve commands → drain or die, with the exit codes the admin reads."""
from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
import sys
from typing import Any, Awaitable, BinaryIO, Callable, Optional, TextIO

from .channel import RouterStub, open_channel
from .errors import WorkerAdminError
from .session import WorkerSession
from .start_line import read_start_line
from .types import CommandHandler, TopicHandler, WorkerState

#: How many synchronous handlers (and topic handlers) may run at once; more wait for a thread.
SYNC_HANDLER_THREADS = 64

#: Exit codes: 0 drained, 1 the stream failed, 2 refused (bad token, commands missing, bad start line).
EXIT_DRAINED = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2


class RunningWorker:
    """A worker the router welcomed: its identity and config, emit, report_error, drain, closed."""

    def __init__(self) -> None:
        self.identifier = ""
        self.version = ""
        self.type = ""
        self.product = ""
        self.target = ""
        self.config: dict[str, Any] = {}
        self._session: Optional[WorkerSession] = None
        self.closed: "asyncio.Future[int]"

    @property
    def state(self) -> WorkerState:
        return self._session.state if self._session else "CONNECTING"

    async def emit(self, event: str, payload: Any = None, *, topic: Optional[str] = None, reference_uuid: str = "") -> None:
        """Sends an event on the worker's stream; returns once written."""
        assert self._session is not None
        await self._session.emit(event, payload, topic=topic, reference_uuid=reference_uuid)

    def emit_from_thread(self, event: str, payload: Any = None, *, topic: Optional[str] = None, reference_uuid: str = "") -> None:
        """emit, for a synchronous handler (it runs in a thread): blocks until the event is written."""
        assert self._session is not None
        asyncio.run_coroutine_threadsafe(self.emit(event, payload, topic=topic, reference_uuid=reference_uuid), self._session.loop).result()

    async def report_error(self, message: str, *, is_auth_error: bool = False) -> None:
        """Reports an error to the admin: event WORKER_ERROR on topic `admin`."""
        await self.emit("WORKER_ERROR", {"message": message, "isAuthError": is_auth_error}, topic="admin")

    async def drain(self, reason: str = "drain requested by the worker") -> int:
        """Drains as if the router asked: nothing new, in-flight replies sent, stream closed; returns the exit code."""
        assert self._session is not None
        await self._session.drain(reason)
        return await self.closed


async def run_worker(
    commands: dict[str, CommandHandler], events: Optional[list[str]] = None, topics: Optional[dict[str, TopicHandler]] = None, *,
    on_ready: Optional[Callable[[RunningWorker], Awaitable[None]]] = None, stdin: Optional[BinaryIO] = None, stderr: Optional[TextIO] = None,
    signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT), heartbeat_s: float = 10.0, hello_timeout_s: float = 30.0,
) -> int:
    """Runs a worker to its end and returns its exit code (start_worker exits with it).

    `on_ready(worker)` runs as a task once the router welcomed the worker (a poller, a subscription); it is
    cancelled when the worker ends.
    """
    err = stderr or sys.stderr
    name = "worker"

    def log(text: str) -> None:
        err.write(f"[worker-admin/sdk] {name}: {text}\n")
        err.flush()

    try:
        line = read_start_line(stdin or sys.stdin.buffer)
    except WorkerAdminError as error:
        log(f"cannot start: {error.message}")
        return EXIT_REFUSED
    name = f"{line.identifier}@{line.version}"
    worker = RunningWorker()
    worker.identifier, worker.version, worker.type, worker.product, worker.target = line.identifier, line.version, line.type, line.product, line.target
    worker.config = line.config
    loop = asyncio.get_running_loop()
    # synchronous handlers each hold a thread while they run (asyncio's default pool has cpu + 4 of them)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=SYNC_HANDLER_THREADS, thread_name_prefix="worker-admin-handler"))
    worker.closed = loop.create_future()

    # a worker proves who it is with the Hello token, never with a bearer
    channel = open_channel(line.target, line.tls)
    session = WorkerSession(
        call=RouterStub(channel).connect(), line=line, commands=commands, events=events or [], topics=topics or {}, log=log,
        worker=worker, heartbeat_s=heartbeat_s, hello_timeout_s=hello_timeout_s,
    )
    worker._session = session

    def on_signal(signum: int) -> None:
        # the first signal drains; a second one means "now"
        if session.state in ("DRAINING", "CLOSING"):
            session.abort(f"second {signal.Signals(signum).name}: exiting without waiting")
        else:
            session.drain(f"{signal.Signals(signum).name} received")

    for s in signals:
        loop.add_signal_handler(s, on_signal, s)
    ready_task: Optional[asyncio.Task[None]] = None
    try:
        try:
            await session.start()
        except WorkerAdminError:
            pass  # the FAILED transition line just logged says why
        else:
            if on_ready is not None:
                ready_task = loop.create_task(_guarded(on_ready(worker), log))
        end = await session.ended
    finally:
        for s in signals:
            loop.remove_signal_handler(s)
        if ready_task is not None:
            ready_task.cancel()
        await channel.close()
    log(f"exiting with code {end.code}")  # the reason is on the FAILED/CLOSED transition line just above
    if not worker.closed.done():
        worker.closed.set_result(end.code)
    return end.code


def start_worker(
    commands: dict[str, CommandHandler], events: Optional[list[str]] = None, topics: Optional[dict[str, TopicHandler]] = None, *,
    on_ready: Optional[Callable[[RunningWorker], Awaitable[None]]] = None,
) -> None:
    """Reads the start line, connects, serves until drained, then exits the process (0 drained, 1 failed, 2 refused)."""
    sys.exit(asyncio.run(run_worker(commands, events, topics, on_ready=on_ready)))


async def _guarded(work: Awaitable[None], log: Callable[[str], None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001
        log(f"on_ready failed: {type(error).__name__}: {error}")
