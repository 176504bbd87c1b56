// Bearer tokens: who is calling (admin, client or nobody), compared in constant time; where tokens come from.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Metadata } from '@grpc/grpc-js';
import { credentialsPath } from '../common/credentials.js';
import { WorkerAdminError } from '../common/errors.js';

const MIN_TOKEN_LENGTH = 32;

/** Who a call comes from: `none` has no bearer at all (a worker), `invalid` has a wrong one. */
export type Caller = 'admin' | 'client' | 'none' | 'invalid';

/** sha256 of a text, as a Buffer. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** sha256 of a text, as lower-case hex (the form of Expectation.token_sha256). */
export function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}

/** Constant-time equality of a presented secret with a known digest (digests: lengths never leak). */
export function matchesDigest(presented: string, digest: Buffer): boolean {
  const candidate = sha256(presented);
  return candidate.length === digest.length && timingSafeEqual(candidate, digest);
}

/** A token of 32+ characters, or AUTH_INVALID naming where it came from. */
export function assertToken(token: unknown, source: string): string {
  if (typeof token !== 'string' || token.length === 0) {
    throw new WorkerAdminError('AUTH_INVALID', `${source} is missing`);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new WorkerAdminError('AUTH_INVALID', `${source} is refused: a token needs ${MIN_TOKEN_LENGTH}+ characters and no white space (it has ${token.length})`);
  }
  return token;
}

/** The token of an `authorization: Bearer TOKEN` metadata entry; undefined when there is none. */
function bearerOf(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value.toString('utf8');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(text);
  return match ? match[1] : '';
}

/** Tells admin from client from nobody; holds only digests of the tokens. */
export class TokenChecker {
  private readonly admin: Buffer;
  private readonly client: Buffer | undefined;

  constructor(adminToken: string, clientToken: string | undefined) {
    this.admin = sha256(adminToken);
    this.client = clientToken === undefined ? undefined : sha256(clientToken);
  }

  /**
   * Tokens already proven valid, by their text: at most the two real tokens, since nothing else is ever added. A
   * lookup hashes the whole presented string with the process's secret string-hash seed, so a wrong token misses
   * without any comparison with a real one; only a miss pays the sha256 and the constant-time comparisons.
   */
  private readonly proven = new Map<string, 'admin' | 'client'>();

  /** The caller of a call, from its metadata. */
  callerOf(metadata: Metadata): Caller {
    const token = bearerOf(metadata);
    if (token === undefined) return 'none';
    if (token === '') return 'invalid';
    const known = this.proven.get(token);
    if (known !== undefined) return known;
    // one digest of the presented token, compared with both (each comparison in constant time)
    const candidate = sha256(token);
    const isAdmin = timingSafeEqual(candidate, this.admin);
    const isClient = this.client !== undefined && timingSafeEqual(candidate, this.client);
    const caller = isAdmin ? 'admin' : isClient ? 'client' : 'invalid';
    if (caller !== 'invalid') this.proven.set(token, caller);
    return caller;
  }
}

interface TokenFile {
  adminToken?: unknown;
  clientToken?: unknown;
}

async function readTokenJson(path: string, required: boolean): Promise<TokenFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WorkerAdminError('AUTH_INVALID', `cannot read token file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as TokenFile;
  } catch (error) {
    throw new WorkerAdminError('AUTH_INVALID', `token file ${path} is not a JSON object {"adminToken","clientToken"}: ${(error as Error).message}`, { cause: error });
  }
}

/** Router tokens from, in order: the environment, --token-file, {stateDir}/credentials.json (each token on its own). */
export async function loadRouterTokens(opts: { env: NodeJS.ProcessEnv; tokenFile?: string; stateDir: string }): Promise<{ adminToken: string; clientToken?: string }> {
  const sources: Array<{ name: string; admin: unknown; client: unknown }> = [
    { name: 'WORKER_ADMIN_TOKEN / WORKER_ADMIN_CLIENT_TOKEN', admin: opts.env['WORKER_ADMIN_TOKEN'], client: opts.env['WORKER_ADMIN_CLIENT_TOKEN'] },
  ];
  if (opts.tokenFile !== undefined) {
    const file = await readTokenJson(opts.tokenFile, true);
    sources.push({ name: `--token-file ${opts.tokenFile}`, admin: file?.adminToken, client: file?.clientToken });
  }
  const credentials = credentialsPath(opts.stateDir);
  const stored = await readTokenJson(credentials, false);
  sources.push({ name: credentials, admin: stored?.adminToken, client: stored?.clientToken });

  const present = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
  const adminSource = sources.find((s) => present(s.admin));
  if (!adminSource) {
    throw new WorkerAdminError('AUTH_INVALID', `no admin token: set WORKER_ADMIN_TOKEN, pass --token-file FILE ({"adminToken","clientToken"}) or write ${credentials}`);
  }
  const adminToken = assertToken(adminSource.admin, `admin token from ${adminSource.name}`);
  const clientSource = sources.find((s) => present(s.client));
  if (!clientSource) return { adminToken };
  return { adminToken, clientToken: assertToken(clientSource.client, `client token from ${clientSource.name}`) };
}
