// Loads the workeradmin.v1 Router service from the embedded .proto text, with stable JSON-like shapes.
// The service definition is built straight from protobufjs's reflection, with the conversions @grpc/proto-loader
// would use (fromObject + encode out, decode + toObject in), but without what proto-loader also builds for every
// message: descriptors for gRPC server reflection, which nothing here serves. Every worker loads this at start;
// skipping them takes about a fifth off a TypeScript worker's start-up CPU (BENCHMARKS.md).
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { PROTO_FILES } from './embedded.js';

/**
 * How decoded messages look, pinned so their shapes never change under us (src/proto/types.ts): field names as the
 * .proto writes them (a parse option), int64 as numbers, enums as names, every field present, and each set oneof
 * named in a field of the oneof's name.
 */
const OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

const SERVICE = 'workeradmin.v1.Router';

let cached: grpc.ServiceDefinition | undefined;
let clientConstructor: grpc.ServiceClientConstructor | undefined;

/** The Router service definition, for servers (`server.addService`) and the client constructor (built once per process). */
export function routerServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const root = new protobuf.Root();
  for (const text of Object.values(PROTO_FILES)) protobuf.parse(text, root, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  const service = root.lookupService(SERVICE);
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const [request, response] = [method.resolvedRequestType, method.resolvedResponseType];
    if (!request || !response) throw new Error(`${SERVICE}.${method.name}: unresolved message type`);
    methods[method.name] = {
      path: `/${SERVICE}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // grpc-js also names a client's method this way: client.sendCommand beside client.SendCommand
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  cached = methods;
  return methods;
}

function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return type.encode(type.fromObject(value as Record<string, unknown>)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), OBJECT_OPTIONS);
}

/** The Router client constructor, for clients, workers and the admin. */
export function routerClientConstructor(): grpc.ServiceClientConstructor {
  clientConstructor ??= grpc.makeGenericClientConstructor(routerServiceDefinition(), 'Router');
  return clientConstructor;
}
