// The router's lifecycle: options, state dir, socket, bind, and an idempotent close.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Server, ServerCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { formatAddress, isLocalAddress, type Address } from '../common/address.js';
import { WorkerAdminError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { routerServiceDefinition } from '../proto/load.js';
import { createFileConfigurationStore } from './config-store.js';
import { resolveRouterOptions, type RouterOptions, type RouterTls } from './options.js';
import { createRouterCore, type RouterCore } from './router-core.js';
import { fleetPort, type RouterFleetPort } from './fleet-port.js';
import type { FleetLink } from './fleet-link.js';
import { prepareSocketPath, removeSocket, restrictSocket } from './socket.js';

export type { RouterOptions, RouterTls } from './options.js';
export type { RouterFleetPort } from './fleet-port.js';

export interface RunningRouter {
  /** Actually bound, absolute: 'unix:/abs/path' or 'HOST:PORT'. */
  readonly address: string;
  /** Joins a fleet (docs/fleet.md); what the fleet may do with this router comes back. */
  attachFleet(link: FleetLink): RouterFleetPort;
  /** Idempotent: answers queued commands FAIL ROUTER_SHUTDOWN, ends streams, forceShutdown after a short grace. */
  close(): Promise<void>;
}

/** How long close() lets in-flight commands finish, then how long grpc gets to end calls. */
const CLOSE_GRACE_MS = 2000;
const SHUTDOWN_GRACE_MS = 1000;

/**
 * gRPC server options: message size limit both ways; server pings find dead peers; client pings ≥ 5 s apart are fine;
 * no channelz (gRPC's introspection service, which this server does not offer, would count every call and message).
 */
function serverChannelOptions(messageBytes: number): ChannelOptions {
  return {
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': messageBytes,
    'grpc.max_send_message_length': messageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  };
}

/** Server credentials: TLS when given (mutual when it has a CA: a client without a certificate signed by it is refused). */
function serverCredentials(tls: RouterTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.ca === undefined ? null : Buffer.from(tls.ca);
  return ServerCredentials.createSsl(ca, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], ca !== null);
}

function bind(server: Server, address: Address, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(formatAddress(address), credentials, (error, port) => {
      if (error) reject(new WorkerAdminError('ADDRESS_INVALID', `router cannot listen on ${formatAddress(address)}: ${error.message}`, { cause: error }));
      else resolve(port);
    });
  });
}

function stopServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts a router; resolves once it is bound (and the unix socket is 0600). */
export async function startRouter(options: RouterOptions): Promise<RunningRouter> {
  const resolved = resolveRouterOptions(options);
  const logger = options.logger ?? createLogger('router');
  await mkdir(resolved.stateDir, { recursive: true, mode: 0o700 });
  const store = options.store ?? createFileConfigurationStore(join(resolved.stateDir, 'store'));
  const core: RouterCore = await createRouterCore(resolved, store, logger);

  const server = new Server(serverChannelOptions(resolved.messageBytes));
  server.addService(routerServiceDefinition(), core.service);
  const { address: listen } = resolved;
  let address: string;
  try {
    if (listen.kind === 'unix') await prepareSocketPath(listen.path);
    const port = await bind(server, listen, serverCredentials(resolved.tls));
    if (listen.kind === 'unix') await restrictSocket(listen.path, resolved.socketGroup);
    address = listen.kind === 'unix' ? `unix:${listen.path}` : `${listen.host}:${port}`;
  } catch (error) {
    await core.shutdown(0);
    server.forceShutdown();
    throw error;
  }
  if (!isLocalAddress(listen) && !resolved.tls) {
    logger.warn({ address }, 'router listens on a non-loopback address WITHOUT TLS (--insecure): tokens cross the network in clear text');
  }
  logger.info({ address, tls: resolved.tls ? (resolved.tls.ca ? 'mutual' : 'server') : 'off' }, 'router listening');

  let closing: Promise<void> | undefined;
  const doClose = async (): Promise<void> => {
    await core.shutdown(CLOSE_GRACE_MS);
    await stopServer(server, SHUTDOWN_GRACE_MS);
    if (listen.kind === 'unix') await removeSocket(listen.path).catch((error: unknown) => logger.warn({ err: error }, 'cannot remove the socket file'));
    logger.info({ address }, 'router closed');
  };
  return {
    address,
    attachFleet: (link) => fleetPort(core.context, link),
    close: () => (closing ??= doClose()),
  };
}
