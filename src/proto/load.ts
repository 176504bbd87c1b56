// Loads the workeradmin.v1 service from the embedded .proto text, with stable JSON-like shapes.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { PROTO_FILES } from './embedded.js';

/** proto-loader options pinned so message shapes never change under us. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.GrpcObject | undefined;

/** The grpc object for package workeradmin.v1 (loaded once per process). */
function loadWorkerAdminPackage(): grpc.GrpcObject {
  if (cached) return cached;
  const root = new protobuf.Root();
  for (const [name, text] of Object.entries(PROTO_FILES)) {
    protobuf.parse(text, root, { keepCase: true, alternateCommentMode: true });
    void name;
  }
  const definition = protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition);
  cached = ((loaded['workeradmin'] as grpc.GrpcObject)['v1']) as grpc.GrpcObject;
  return cached;
}

/** The Router service definition, for servers (`server.addService`). */
export function routerServiceDefinition(): grpc.ServiceDefinition {
  const ctor = loadWorkerAdminPackage()['Router'] as grpc.ServiceClientConstructor;
  return ctor.service;
}

/** The Router client constructor, for clients, workers and the admin. */
export function routerClientConstructor(): grpc.ServiceClientConstructor {
  return loadWorkerAdminPackage()['Router'] as grpc.ServiceClientConstructor;
}
