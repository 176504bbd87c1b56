// A stand-in for grpcio-tools' router_pb2.py (protoc is not installed here): the proto's descriptor, built with
// protobufjs, loaded by Python's own protobuf runtime. Map fields are left out: a worker uses none.
import { join } from 'node:path';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor/index.js';
import { ROOT } from './stack.js';

interface Descriptor { name?: string; options?: { mapEntry?: boolean }; typeName?: string; field?: Descriptor[]; nestedType?: Descriptor[] }
interface FileDescriptor { name: string; package: string; messageType?: Descriptor[] }
interface DescriptorSet { file: FileDescriptor[] }
type WithDescriptor = protobuf.Root & { toDescriptor(syntax: string): DescriptorSet };

/** The text of a router_pb2.py module: message classes by name, and the Status values as constants. */
export function routerPb2(): string {
  const root = new protobuf.Root().loadSync(join(ROOT, 'proto/workeradmin/v1/router.proto'), { keepCase: true }) as WithDescriptor;
  const file = root.toDescriptor('proto3').file.find((f) => f.package === 'workeradmin.v1');
  if (!file) throw new Error('router.proto: no workeradmin.v1 file in the descriptor');
  file.name = 'workeradmin/v1/router.proto';
  for (const message of file.messageType ?? []) {
    const maps = new Set((message.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => n.name));
    message.field = (message.field ?? []).filter((f) => !maps.has((f.typeName ?? '').split('.').pop()));
    message.nestedType = (message.nestedType ?? []).filter((n) => !maps.has(n.name));
  }
  const bytes = (file as unknown as { constructor: protobuf.Type }).constructor.encode(file).finish();
  return [
    '# Test stand-in for: python -m grpc_tools.protoc -I proto --python_out=. proto/workeradmin/v1/router.proto',
    'from google.protobuf import descriptor_pool, message_factory',
    `_fd = descriptor_pool.Default().AddSerializedFile(bytes.fromhex('${Buffer.from(bytes).toString('hex')}'))`,
    '_factory = message_factory.MessageFactory()',
    'for _n in _fd.message_types_by_name:',
    '    globals()[_n] = _factory.GetPrototype(_fd.message_types_by_name[_n])',
    "for _n, _v in _fd.enum_types_by_name['Status'].values_by_name.items():",
    '    globals()[_n] = _v.number',
    '',
  ].join('\n');
}
