"""A grpc.aio channel to a router (unix:/path or host:port, TLS from PEM text) and the Router's methods on it.

Methods are called with explicit (de)serializers built from router.desc: no generated stubs.
"""
from __future__ import annotations

from typing import Any, Optional

import grpc
import grpc.aio

from . import _messages as m
from .start_line import Tls

#: gRPC refuses messages over 4 MiB on the router; so does the SDK, so an oversize message fails here, named.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES), ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]


def open_channel(address: str, tls: Optional[Tls] = None) -> grpc.aio.Channel:
    """Plaintext for unix sockets and loopback; TLS when PEM text is given."""
    if tls is None or (tls.ca is None and tls.cert is None):
        return grpc.aio.insecure_channel(address, options=_OPTIONS)
    enc = lambda v: v.encode() if v is not None else None  # noqa: E731
    creds = grpc.ssl_channel_credentials(root_certificates=enc(tls.ca), private_key=enc(tls.key), certificate_chain=enc(tls.cert))
    return grpc.aio.secure_channel(address, creds, options=_OPTIONS)


class RouterStub:
    """The Router service's calls this SDK uses."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.connect = channel.stream_stream(m.method("Connect"), request_serializer=m.WorkerMessage.SerializeToString, response_deserializer=m.RouterMessage.FromString)
        self.send_command = channel.unary_unary(m.method("SendCommand"), request_serializer=m.Command.SerializeToString, response_deserializer=m.Reply.FromString)
        self.send_commands = channel.stream_stream(m.method("SendCommands"), request_serializer=m.CommandBatch.SerializeToString, response_deserializer=m.ReplyBatch.FromString)
        self.send_event = channel.unary_unary(m.method("SendEvent"), request_serializer=m.Event.SerializeToString, response_deserializer=m.Ack.FromString)
        self.watch_events = channel.unary_stream(m.method("WatchEvents"), request_serializer=m.EventFilter.SerializeToString, response_deserializer=m.Event.FromString)
        self.list_workers = channel.unary_unary(m.method("ListWorkers"), request_serializer=m.Empty.SerializeToString, response_deserializer=m.WorkerList.FromString)


def bearer(token: Optional[str]) -> Optional[list[tuple[str, str]]]:
    """The authorization metadata of a client token (workers send none: their Hello carries the one-time token)."""
    return [("authorization", f"Bearer {token}")] if token else None


def message_to_dict(message: Any) -> dict[str, Any]:
    """A proto message as a plain dict of its fields (defaults included)."""
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)
