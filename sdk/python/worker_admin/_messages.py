"""The message classes of package workeradmin.v1, built at import from router.desc (a descriptor set of proto/).

router.desc is written by the Node build (scripts/python-descriptor.mjs) and checked against proto/ in CI, so
there is no generated code to drift from grpcio's runtime.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "workeradmin.v1"
SERVICE = f"/{PACKAGE}.Router"

_set = descriptor_pb2.FileDescriptorSet.FromString((Path(__file__).parent / "router.desc").read_bytes())
pool = descriptor_pool.DescriptorPool()
for _file in _set.file:
    pool.Add(_file)
_factory = message_factory.MessageFactory(pool)


def message_class(name: str) -> Any:
    """The class of message `name` (e.g. "Command")."""
    return _factory.GetPrototype(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))


WorkerMessage = message_class("WorkerMessage")
RouterMessage = message_class("RouterMessage")
Command = message_class("Command")
Reply = message_class("Reply")
ReplyList = message_class("ReplyList")
EventList = message_class("EventList")
CommandBatch = message_class("CommandBatch")
ReplyBatch = message_class("ReplyBatch")
Event = message_class("Event")
EventFilter = message_class("EventFilter")
Empty = message_class("Empty")
Ack = message_class("Ack")
WorkerList = message_class("WorkerList")
Heartbeat = message_class("Heartbeat")

_status = pool.FindEnumTypeByName(f"{PACKAGE}.Status")
STATUS_NAMES = {v.number: v.name for v in _status.values}
STATUS_NUMBERS = {v.name: v.number for v in _status.values}


def method(name: str) -> str:
    """The full gRPC method path of Router.`name`."""
    return f"{SERVICE}/{name}"


def describe() -> dict[str, dict[str, tuple[int, str, bool]]]:
    """Every message's fields as {message: {field: (number, type name, repeated)}}: CI compares it with proto/."""
    out: dict[str, dict[str, tuple[int, str, bool]]] = {}
    file = pool.FindFileByName(_set.file[0].name)

    def walk(messages: Any, prefix: str) -> None:
        for m in messages:
            if m.GetOptions().map_entry:
                continue
            fields = {}
            for f in m.fields:
                kind = f.message_type.full_name if f.message_type else f.enum_type.full_name if f.enum_type else _SCALARS[f.type]
                fields[f.name] = (f.number, kind, f.label == f.LABEL_REPEATED)
            out[prefix + m.name] = fields
            walk(m.nested_types, prefix + m.name + ".")

    walk(file.message_types_by_name.values(), "")
    return out


_SCALARS = {
    getattr(descriptor_pb2.FieldDescriptorProto, n): n[len("TYPE_"):].lower()
    for n in dir(descriptor_pb2.FieldDescriptorProto)
    if n.startswith("TYPE_")
}
