"""Checks that this Python can import grpc and protobuf before anything else is imported (docs/workers.md).

Under the package's `worker` launcher, a Python without them hands over to the next candidate interpreter
(WORKER_ADMIN_PYTHON_NEXT, set by the launcher); when none is left it prints which module is missing and exits 3.
"""
from __future__ import annotations

import os
import shutil
import sys

#: Exit code of a worker whose Python lacks grpcio/protobuf (the admin reports it as WORKER_EXITED with the message).
EXIT_RUNTIME_MISSING = 3
INSTALL_HINT = "install Debian's python3-grpcio and python3-protobuf (apt-get install python3-grpcio python3-protobuf), or set python: in the connector's config"


def require_grpc() -> None:
    """Imports grpc and google.protobuf, or execs the next candidate Python, or explains and exits."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
        return
    except ImportError as error:
        missing = error.name or str(error)
    pending = [p for p in os.environ.get("WORKER_ADMIN_PYTHON_NEXT", "").split(os.pathsep) if p]
    while pending:
        candidate = shutil.which(pending.pop(0))
        if candidate is None:
            continue
        os.environ["WORKER_ADMIN_PYTHON_NEXT"] = os.pathsep.join(pending)
        os.execv(candidate, [candidate, "-B", *sys.argv])
    message = (
        f"worker-admin: cannot start: Python {sys.version.split()[0]} at {sys.executable} has no module "
        f"{missing!r} (the SDK needs grpcio and protobuf from the host): {INSTALL_HINT}"
    )
    if os.environ.get("WORKER_ADMIN_LAUNCHER") == "1":
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        sys.exit(EXIT_RUNTIME_MISSING)
    raise ImportError(message, name=missing)
