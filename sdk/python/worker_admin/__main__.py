"""`python3 -m worker_admin --version`: the SDK's version (and, with --describe, its message types as JSON)."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] in (["--version"], ["-V"]):
        from .version import __version__

        print(__version__)
        return 0
    if argv[:1] == ["--describe"]:
        import json

        from ._runtime import require_grpc

        require_grpc()
        from . import _messages

        print(json.dumps(_messages.describe(), sort_keys=True))
        return 0
    print("usage: python3 -m worker_admin --version | --describe", file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
