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
  /** Allow non-loopback TCP without TLS. */
  insecure?: boolean;
  /** Defaults: queue 10,000 commands, messages 4 MiB. */
  limits?: { queue?: number; messageBytes?: number };
  /** Defaults: command 30 s, ADMIN_* command 10 min, Hello 10 s. */
  timeouts?: { commandMs?: number; adminCommandMs?: number; helloMs?: number };
  /** Default: a file store under stateDir. */
  store?: ConfigurationStore;
  logger?: Logger;
  observer?: RouterObserver;
}

export const DEFAULT_LIMITS = { queue: 10_000, messageBytes: 4 * 1024 * 1024 } as const;
export const DEFAULT_TIMEOUTS = { commandMs: 30_000, adminCommandMs: 600_000, helloMs: 10_000 } as const;

/** Options after validation: every default applied, every duration in ms. */
export interface ResolvedRouterOptions {
  address: Address;
  stateDir: string;
  adminToken: string;
  clientToken: string | undefined;
  queueLimit: number;
  messageBytes: number;
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

/** Validates options; refuses short tokens and non-loopback TCP without `insecure`. */
export function resolveRouterOptions(options: RouterOptions): ResolvedRouterOptions {
  const address = parseAddress(options.listen);
  if (!isLocalAddress(address) && options.insecure !== true) {
    throw new WorkerAdminError('ADDRESS_INVALID', `router address ${options.listen} is not loopback: tokens would cross the network in clear text (TLS comes later); pass --insecure to allow it`);
  }
  if (typeof options.stateDir !== 'string' || options.stateDir.length === 0) {
    throw new WorkerAdminError('CONFIG_INVALID', 'router stateDir is empty');
  }
  const adminToken = assertToken(options.adminToken, 'admin token');
  const clientToken = options.clientToken === undefined || options.clientToken === '' ? undefined : assertToken(options.clientToken, 'client token');
  if (clientToken !== undefined && clientToken === adminToken) {
    throw new WorkerAdminError('AUTH_INVALID', 'the client token must differ from the admin token');
  }
  return {
    address,
    stateDir: options.stateDir,
    adminToken,
    clientToken,
    queueLimit: positiveInteger(options.limits?.queue, DEFAULT_LIMITS.queue, 'limits.queue'),
    messageBytes: positiveInteger(options.limits?.messageBytes, DEFAULT_LIMITS.messageBytes, 'limits.messageBytes'),
    commandMs: positiveInteger(options.timeouts?.commandMs, DEFAULT_TIMEOUTS.commandMs, 'timeouts.commandMs'),
    adminCommandMs: positiveInteger(options.timeouts?.adminCommandMs, DEFAULT_TIMEOUTS.adminCommandMs, 'timeouts.adminCommandMs'),
    helloMs: positiveInteger(options.timeouts?.helloMs, DEFAULT_TIMEOUTS.helloMs, 'timeouts.helloMs'),
    observer: options.observer ?? {},
  };
}
