"""worker-admin's Python SDK: workers (start_worker) and clients (connect_router) of a worker-admin router.

Needs only the standard library, grpcio and protobuf (Debian's python3-grpcio and python3-protobuf); see
docs/workers.md. Names are loaded on first use, so `python3 -m worker_admin --version` works without grpcio.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

_WHERE = {
    "RouterClient": "client", "connect_router": "client", "WorkerAdminError": "errors", "StartLine": "start_line", "Tls": "start_line",
    "CommandContext": "types", "EventMessage": "types", "ReplyResult": "types", "EXIT_DRAINED": "worker", "EXIT_FAILED": "worker",
    "EXIT_REFUSED": "worker", "RunningWorker": "worker", "run_worker": "worker", "start_worker": "worker",
}
__all__ = sorted([*_WHERE, "__version__"])

if TYPE_CHECKING:
    from .client import RouterClient, connect_router
    from .errors import WorkerAdminError
    from .start_line import StartLine, Tls
    from .types import CommandContext, EventMessage, ReplyResult
    from .worker import EXIT_DRAINED, EXIT_FAILED, EXIT_REFUSED, RunningWorker, run_worker, start_worker


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'worker_admin' has no attribute {name!r}")
    from ._runtime import require_grpc

    require_grpc()  # before grpc is imported: under the launcher, a Python without it hands over or explains
    value = getattr(import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value
