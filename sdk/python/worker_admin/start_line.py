"""The one line of JSON the admin writes to a worker's stdin (docs/workers.md), read as UTF-8 and checked."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Optional

from .errors import WorkerAdminError

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TYPE_PRODUCT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MAX_START_LINE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Tls:
    """PEM text for TLS to a TCP router: the CA, and with mutual TLS a client certificate and its key."""

    ca: Optional[str] = None
    cert: Optional[str] = None
    key: Optional[str] = None


@dataclass(frozen=True)
class StartLine:
    """Identity, router address, one-time token and configuration of this worker."""

    identifier: str
    target: str
    token: str
    type: str
    product: str
    version: str
    config: dict[str, Any] = field(default_factory=dict)
    tls: Optional[Tls] = None


def read_start_line(stdin: BinaryIO) -> StartLine:
    """Reads stdin to EOF (bytes, decoded as UTF-8) and parses its one line."""
    data = stdin.read(MAX_START_LINE_BYTES + 1)
    if len(data) > MAX_START_LINE_BYTES:
        raise _error(f"stdin is over {MAX_START_LINE_BYTES} bytes: expected one line of JSON")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _error(f"stdin is not UTF-8: {error}") from error
    return parse_start_line(text)


def parse_start_line(text: str) -> StartLine:
    """Parses and checks the start line's text (one JSON object, optional trailing newline)."""
    trimmed = text[:-1] if text.endswith("\n") else text
    trimmed = trimmed[:-1] if trimmed.endswith("\r") else trimmed
    if not trimmed.strip():
        raise _error('stdin is empty: expected one line of JSON {"identifier","target","token","type","product","version","config"} then EOF')
    if "\n" in trimmed:
        raise _error("stdin has more than one line: expected one line of JSON then EOF")
    try:
        raw = json.loads(trimmed)
    except ValueError as error:
        raise _error(f"stdin is not JSON: {error}") from error
    if not isinstance(raw, dict):
        raise _error("stdin JSON is not an object")
    names = ["identifier", "target", "token", "type", "product", "version"]
    missing = [k for k in names if not isinstance(raw.get(k), str) or raw.get(k) == ""]
    if missing:
        raise _error(f"start line is missing {', '.join(missing)} (each a non-empty string)")
    for key, pattern in (("identifier", IDENTIFIER_RE), ("type", TYPE_PRODUCT_RE), ("product", TYPE_PRODUCT_RE)):
        if not pattern.match(raw[key]):
            raise _error(f"start line: {key} {json.dumps(raw[key])} must match {pattern.pattern}")
    if not VERSION_RE.match(raw["version"]):
        raise _error(f'start line: version {json.dumps(raw["version"])} must be "major.minor"')
    target = raw["target"]
    if not (target.startswith("unix:/") or re.match(r"^[^/\s]+:\d+$", target)):
        raise _error(f"start line: target {json.dumps(target)} must be unix:/ABSOLUTE/PATH or host:port")
    config = raw.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _error("start line: config must be an object")
    return StartLine(
        identifier=raw["identifier"], target=target, token=raw["token"], type=raw["type"], product=raw["product"],
        version=raw["version"], config=config, tls=_tls(raw["tls"]) if raw.get("tls") is not None else None,
    )


def _tls(raw: Any) -> Tls:
    if not isinstance(raw, dict):
        raise _error("start line: tls must be an object {ca?, cert?, key?} of PEM text")
    for k in ("ca", "cert", "key"):
        if raw.get(k) is not None and not isinstance(raw[k], str):
            raise _error(f"start line: tls.{k} must be PEM text")
    return Tls(ca=raw.get("ca"), cert=raw.get("cert"), key=raw.get("key"))


def _error(message: str) -> WorkerAdminError:
    return WorkerAdminError("CONFIG_INVALID", message)
