// The etcd client of a host: endpoints, TLS and user from the config, checked with one read at start.
import { readFile } from 'node:fs/promises';
import { Etcd3, type IOptions } from 'etcd3';
import { WorkerAdminError, errorMessage } from '../../common/errors.js';
import type { EtcdSettings } from '../config.js';

type WatchBackoffShape = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/**
 * The waits before etcd3 opens a broken watch stream again: 100 ms doubling to 1 s. Its default grows to 30 s, far
 * longer than a host may stay blind to its assignments and the coordinator key after etcd or the host was away.
 */
class WatchBackoff implements WatchBackoffShape {
  constructor(readonly duration = 100) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(1000, this.duration * 2));
  }
}

/** Builds the client options (files read once). */
async function etcdOptions(settings: EtcdSettings): Promise<IOptions> {
  const options: IOptions = {
    hosts: settings.endpoints, dialTimeout: 5000, faultHandling: { watchBackoff: new WatchBackoff() },
    // as the router's gRPC: no channelz books per call and message for an introspection service nobody here offers
    grpcOptions: { 'grpc.enable_channelz': 0 },
  };
  if (settings.username !== undefined) options.auth = { username: settings.username, password: settings.password ?? '' };
  if (settings.tls) {
    const read = async (path: string | undefined): Promise<Buffer | undefined> => (path === undefined ? undefined : readFile(path));
    const ca = await read(settings.tls.ca);
    const cert = await read(settings.tls.cert);
    const key = await read(settings.tls.key);
    options.credentials = { rootCertificate: ca ?? Buffer.alloc(0), ...(cert && key ? { certChain: cert, privateKey: key } : {}) };
  }
  return options;
}

/** Connects and reads one key, so that a wrong endpoint, certificate or password fails here, naming etcd. */
export async function connectEtcd(settings: EtcdSettings, prefix: string): Promise<Etcd3> {
  const client = new Etcd3(await etcdOptions(settings));
  try {
    await client.get(`${prefix}/probe`).string();
  } catch (error) {
    client.close();
    throw new WorkerAdminError('FLEET_ENGINE', `etcd: cannot use ${settings.endpoints.join(', ')}: ${errorMessage(error)}`, { cause: error });
  }
  return client;
}
