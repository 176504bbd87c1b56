// Router options: parsed and checked once at the edge into numbers and typed parts.
import { isLocalAddress, parseAddress, type Address } from '../common/address.js';
import { WorkerAdminError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { assertToken } from './auth.js';
import type { ConfigurationStore } from './config-store.js';

/** Optional hooks for metrics (issue on observability plugs in here). */
export interface RouterObserver {
  commandCompleted?(command: string, status: string, latencyMs: number): void;
  queueSize?(size: number): void;
}

export interface RouterOptions {
  /** 'unix:PATH' | 'HOST:PORT' (port 0 = any free port). */
  listen: string;
  /** The config store lives under it; created 0700. */
  stateDir: string;
  /** 32+ characters. */
  adminToken: string;
  /** 32+ characters; without it only the admin token works. */
  clientToken?: string;
  /** Allow non-loopback TCP without TLS (logged as a warning). */
  insecure?: boolean;
  /** TLS for a TCP address (PEM text); with `ca`, clients, the admin and workers must present a certificate it signed. */
  tls?: RouterTls;
  /** With runAs workers: the socket is 0660 with this group instead of 0600. */
  socketGroup?: number;
  /** Defaults: see DEFAULT_LIMITS. */
  limits?: Partial<RouterLimits>;
  /** Defaults: command 30 s, ADMIN_* command 10 min, Hello 10 s. */
  timeouts?: { commandMs?: number; adminCommandMs?: number; helloMs?: number };
  /** Default: a file store under stateDir. */
  store?: ConfigurationStore;
  logger?: Logger;
  observer?: RouterObserver;
}

/** TLS material of the router, as PEM text. */
export interface RouterTls {
  cert: string;
  key: string;
  /** CA of client certificates: mutual TLS when given. */
  ca?: string;
}

/** What the router bounds, each breach refused with the limit's name and value. */
interface RouterLimits {
  /** Commands waiting for a worker. */
  queue: number;
  /** gRPC message size, both ways. */
  messageBytes: number;
  /** Commands in flight on one connection; more wait in the queue. */
  workerConcurrency: number;
  /** Nesting depth of a JSON payload (commands, events, replies). */
  payloadDepth: number;
  /** Misbehaviours (foreign-uuid replies, malformed messages) before a worker is cut off. */
  workerStrikes: number;
  /** How long a worker may leave its stream unread with messages waiting before it is cut off. */
  slowReaderMs: number;
}

export const DEFAULT_LIMITS: RouterLimits = {
  queue: 10_000,
  messageBytes: 4 * 1024 * 1024,
  workerConcurrency: 1000,
  payloadDepth: 64,
  workerStrikes: 100,
  slowReaderMs: 60_000,
};
const DEFAULT_TIMEOUTS = { commandMs: 30_000, adminCommandMs: 600_000, helloMs: 10_000 } as const;

/** Options after validation: every default applied, every duration in ms. */
export interface ResolvedRouterOptions {
  address: Address;
  stateDir: string;
  adminToken: string;
  clientToken: string | undefined;
  queueLimit: number;
  messageBytes: number;
  limits: RouterLimits;
  tls: RouterTls | undefined;
  socketGroup: number | undefined;
  commandMs: number;
  adminCommandMs: number;
  helloMs: number;
  observer: RouterObserver;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new WorkerAdminError('CONFIG_INVALID', `router ${what}: ${String(value)} is not a positive integer`);
  }
  return value;
}

function groupId(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new WorkerAdminError('CONFIG_INVALID', `router socketGroup: ${String(value)} is not a group id`);
  return value;
}

function checkTls(tls: RouterTls | undefined): RouterTls | undefined {
  if (tls === undefined) return undefined;
  for (const k of ['cert', 'key'] as const) {
    if (typeof tls[k] !== 'string' || !tls[k].includes('-----BEGIN')) throw new WorkerAdminError('CONFIG_INVALID', `router tls.${k} is not PEM text`);
  }
  if (tls.ca !== undefined && !tls.ca.includes('-----BEGIN')) throw new WorkerAdminError('CONFIG_INVALID', 'router tls.ca is not PEM text');
  return tls;
}

/** Validates options; refuses short tokens and non-loopback TCP without TLS or `insecure`. */
export function resolveRouterOptions(options: RouterOptions): ResolvedRouterOptions {
  const address = parseAddress(options.listen);
  const tls = checkTls(options.tls);
  if (tls && address.kind === 'unix') throw new WorkerAdminError('CONFIG_INVALID', `router tls is for TCP addresses, not ${options.listen}`);
  if (!isLocalAddress(address) && !tls && options.insecure !== true) {
    throw new WorkerAdminError('ADDRESS_INVALID', `router address ${options.listen} is not loopback: tokens would cross the network in clear text; give router TLS (--tls-cert/--tls-key) or pass --insecure to allow it`);
  }
  if (typeof options.stateDir !== 'string' || options.stateDir.length === 0) {
    throw new WorkerAdminError('CONFIG_INVALID', 'router stateDir is empty');
  }
  const adminToken = assertToken(options.adminToken, 'admin token');
  const clientToken = options.clientToken === undefined || options.clientToken === '' ? undefined : assertToken(options.clientToken, 'client token');
  if (clientToken !== undefined && clientToken === adminToken) {
    throw new WorkerAdminError('AUTH_INVALID', 'the client token must differ from the admin token');
  }
  const given = options.limits ?? {};
  const limits = Object.fromEntries(
    (Object.keys(DEFAULT_LIMITS) as Array<keyof RouterLimits>).map((k) => [k, positiveInteger(given[k], DEFAULT_LIMITS[k], `limits.${k}`)]),
  ) as unknown as RouterLimits;
  return {
    address,
    stateDir: options.stateDir,
    adminToken,
    clientToken,
    queueLimit: limits.queue,
    messageBytes: limits.messageBytes,
    limits,
    tls,
    socketGroup: groupId(options.socketGroup),
    commandMs: positiveInteger(options.timeouts?.commandMs, DEFAULT_TIMEOUTS.commandMs, 'timeouts.commandMs'),
    adminCommandMs: positiveInteger(options.timeouts?.adminCommandMs, DEFAULT_TIMEOUTS.adminCommandMs, 'timeouts.adminCommandMs'),
    helloMs: positiveInteger(options.timeouts?.helloMs, DEFAULT_TIMEOUTS.helloMs, 'timeouts.helloMs'),
    observer: options.observer ?? {},
  };
}
