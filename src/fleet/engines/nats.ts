// The NATS connection of a host: the options a fleet needs, credentials, and the max_payload check at start.
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { WorkerAdminError, errorMessage } from '../../common/errors.js';
import type { NatsSettings } from '../config.js';

/** The largest gRPC message (4 MiB) plus room for our envelope: a server allowing less cannot carry every command. */
export const MIN_MAX_PAYLOAD = 4 * 1024 * 1024 + 64 * 1024;

/** Connection options we insist on: reconnect forever, find a dead link in seconds, not minutes. */
async function natsOptions(settings: NatsSettings, host: string): Promise<NodeConnectionOptions> {
  const options: NodeConnectionOptions = {
    servers: settings.servers,
    name: `worker-admin ${host}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2000,
    maxPingOut: 2,
    noEcho: true, // a host never needs its own messages back (events it published are delivered locally already)
    waitOnFirstConnect: false,
    timeout: 5000,
  };
  if (settings.user !== undefined) {
    options.user = settings.user;
    options.pass = settings.password ?? '';
  }
  if (settings.credentials !== undefined) options.authenticator = credsAuthenticator(await readFile(settings.credentials));
  if (settings.tls) {
    options.tls = {};
    if (settings.tls.ca) options.tls.caFile = settings.tls.ca;
    if (settings.tls.cert) options.tls.certFile = settings.tls.cert;
    if (settings.tls.key) options.tls.keyFile = settings.tls.key;
  }
  return options;
}

/** Connects, or throws FLEET_ENGINE naming NATS; refuses a server whose max_payload is too small for a 4 MiB command. */
export async function connectNats(settings: NatsSettings, host: string): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect(await natsOptions(settings, host));
  } catch (error) {
    throw new WorkerAdminError('FLEET_ENGINE', `nats: cannot connect to ${settings.servers.join(', ')}: ${errorMessage(error)}`, { cause: error });
  }
  const maxPayload = nc.info?.max_payload ?? 0;
  if (maxPayload < MIN_MAX_PAYLOAD) {
    await nc.close();
    throw new WorkerAdminError(
      'FLEET_ENGINE',
      `nats: the server allows messages of ${maxPayload} bytes (max_payload); a fleet needs at least ${MIN_MAX_PAYLOAD} (a 4 MiB command plus its envelope): set max_payload: 8MB in the nats-server configuration`,
    );
  }
  return nc;
}
