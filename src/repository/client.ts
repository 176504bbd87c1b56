// The repository client: fetches versions, keys layers, pivots and package zips over HTTP with docs/repository.md, docs/configuration.md rules.
import { rm } from 'node:fs/promises';
import { WorkerAdminError, isWorkerAdminError } from '../common/errors.js';
import { splitVersion } from '../common/names.js';
import { DEFAULT_YAML_ALIASES, DEFAULT_YAML_BYTES } from '../common/yaml.js';
import { bodyToFile, readBody, type Progress } from './body.js';
import { abortReason, createAxiosHttp, HttpNetworkError, type HttpGet, type HttpResponse } from './http.js';
import { createInFlight } from './in-flight.js';
import { LAYER_NAMES, parseKeysYaml, type KeysLayer } from './keys.js';
import { keysPath, normalizeBaseUrl, pivotPath, versionsPath, zipPath } from './paths.js';
import { parsePivotYaml, type Pivot } from './pivot.js';
import { withRetries, type Sleep } from './retry.js';
import type { VersionConfiguration } from './stored.js';
import { parseVersionsYaml, type VersionEntry } from './versions.js';
import { parseYankedYaml, type YankedEntry } from './yanked.js';

/** Size caps of what the client accepts. */
export interface RepositoryLimits {
  yamlBytes: number;
  yamlAliases: number;
  zipBytes: number;
}

export const DEFAULT_REPOSITORY_LIMITS: RepositoryLimits = { yamlBytes: DEFAULT_YAML_BYTES, yamlAliases: DEFAULT_YAML_ALIASES, zipBytes: 100 * 1024 * 1024 };

export interface RepositoryClientOptions {
  url: string;
  /** Per request, and idle time while streaming a body (default 10 s). */
  timeoutMs?: number;
  /** Retries on network errors and 5xx (default 3). */
  retries?: number;
  /** Bound on one whole package download, retries included (default 10 min). */
  downloadTimeoutMs?: number;
  limits?: Partial<RepositoryLimits>;
  http?: HttpGet;
  sleep?: Sleep;
}

export interface DownloadRequest {
  type: string;
  product: string;
  version: string;
  /** File to write (created or truncated); removed when the download fails. */
  dest: string;
  onProgress?: Progress;
  signal?: AbortSignal;
}

/** What the admin, `fetch` and the package cache use of a repository. */
export interface RepositoryClient {
  readonly url: string;
  listVersions(type: string, product: string): Promise<VersionEntry[]>;
  /** yanked.yaml of the product; [] when absent. */
  listYanked(type: string, product: string): Promise<YankedEntry[]>;
  fetchKeysLayers(type: string, product: string, version: string): Promise<KeysLayer[]>;
  fetchPivot(type: string, product: string, major: number): Promise<Pivot>;
  fetchConfiguration(type: string, product: string, version: string): Promise<VersionConfiguration>;
  downloadPackage(request: DownloadRequest): Promise<{ sha256: string; bytes: number }>;
}

/** A status that is not 200 or 404, kept for the retry decision. */
class StatusError extends WorkerAdminError {
  constructor(readonly status: number, where: string) {
    super('REPOSITORY_ERROR', `${where}: HTTP ${status}`);
  }
}

// Network errors, timeouts, 5xx and 429 may pass; a 4xx or a refused body will not.
const retryable = (error: unknown): boolean =>
  error instanceof HttpNetworkError || (error instanceof StatusError && (error.status >= 500 || error.status === 429));

/** A client for the repository at `opts.url`. */
export function createRepositoryClient(opts: RepositoryClientOptions): RepositoryClient {
  const base = normalizeBaseUrl(opts.url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retries = opts.retries ?? 3;
  const downloadTimeoutMs = opts.downloadTimeoutMs ?? 600_000;
  const limits = { ...DEFAULT_REPOSITORY_LIMITS, ...opts.limits };
  const http = opts.http ?? createAxiosHttp();
  const urlOf = (path: string): string => new URL(path, base).href;
  // Starts in a burst ask for the same versions.yaml, keys and pivot: one GET per file at a time, each caller parses.
  const shared = createInFlight<string | null>();

  // One attempt's response: 200 or 404 returned, anything else thrown (and maybe retried).
  async function open(url: string, signal: AbortSignal): Promise<HttpResponse | null> {
    let res: HttpResponse;
    try {
      res = await http.get(url, { timeoutMs, signal });
    } catch (error) {
      throw new HttpNetworkError(`${url}: ${(error as Error).message}`, { cause: error });
    }
    if (res.status === 200) return res;
    res.body.destroy();
    if (res.status === 404) return null;
    throw new StatusError(res.status, url);
  }

  // A small file's text, or null on 404; errors say what was being fetched.
  function fetchText(path: string, what: string): Promise<string | null> {
    const url = urlOf(path);
    return shared(url, () => fetchTextOnce(url, what));
  }

  async function fetchTextOnce(url: string, what: string): Promise<string | null> {
    try {
      return await withRetries(async () => {
        const signal = AbortSignal.timeout(timeoutMs);
        const res = await open(url, signal);
        if (!res) return null;
        if (res.length !== undefined && res.length > limits.yamlBytes) {
          res.body.destroy();
          throw new WorkerAdminError('LIMIT_EXCEEDED', `${url}: ${res.length} bytes, over the yamlBytes limit of ${limits.yamlBytes}`);
        }
        try {
          return (await readBody(res.body, url, { maxBytes: limits.yamlBytes, idleMs: timeoutMs, signal })).toString('utf8');
        } catch (error) {
          if (signal.aborted) throw new HttpNetworkError(`${url}: ${abortReason(signal)}`, { cause: error });
          throw error;
        }
      }, { retries, retryable, ...(opts.sleep ? { sleep: opts.sleep } : {}) });
    } catch (error) {
      throw describe(error, what);
    }
  }

  // The last versions.yaml parsed per product, by its text: every start fetches it (new versions must be seen at
  // once), but a burst of 200 starts re-parsing the same text made ~9 MB of garbage. A failed parse is not kept.
  const parsedVersions = new Map<string, { text: string; entries: readonly VersionEntry[] }>();

  async function listVersions(type: string, product: string): Promise<VersionEntry[]> {
    const path = versionsPath(type, product);
    const text = await fetchText(path, `versions of ${type}/${product}`);
    if (text === null) throw new WorkerAdminError('PRODUCT_UNKNOWN', `product ${type}/${product} is unknown to the repository ${base.href} (${path}: 404)`);
    const known = parsedVersions.get(path);
    if (known?.text === text) return [...known.entries]; // a new array each call: callers may sort it
    const entries = parseVersionsYaml(text, { file: urlOf(path), maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases }).map((e) => Object.freeze(e));
    parsedVersions.set(path, { text, entries });
    return [...entries];
  }

  async function listYanked(type: string, product: string): Promise<YankedEntry[]> {
    const path = versionsPath(type, product).replace(/versions\.yaml$/, 'yanked.yaml');
    const text = await fetchText(path, `yanked versions of ${type}/${product}`);
    return text === null ? [] : parseYankedYaml(text, { file: urlOf(path), maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases });
  }

  async function fetchKeysLayers(type: string, product: string, version: string): Promise<KeysLayer[]> {
    return Promise.all(LAYER_NAMES.map(async (layer) => {
      const path = keysPath(type, product, version, layer);
      const text = await fetchText(path, `keys layer ${layer} of ${type}/${product}@${version}`);
      if (text === null) return { layer, keys: [] };
      return parseKeysYaml(text, layer, { file: urlOf(path), maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases });
    }));
  }

  async function fetchPivot(type: string, product: string, major: number): Promise<Pivot> {
    const path = pivotPath(type, product, major);
    const text = await fetchText(path, `pivot of ${type}/${product} major ${major}`);
    if (text === null) throw new WorkerAdminError('PIVOT_INVALID', `the pivot of ${type}/${product} major ${major} is missing: ${urlOf(path)} answered 404`);
    return parsePivotYaml(text, { file: urlOf(path), maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases });
  }

  async function fetchConfiguration(type: string, product: string, version: string): Promise<VersionConfiguration> {
    const [layers, pivot] = await Promise.all([fetchKeysLayers(type, product, version), fetchPivot(type, product, splitVersion(version).major)]);
    return { layers, pivot };
  }

  async function downloadPackage(req: DownloadRequest): Promise<{ sha256: string; bytes: number }> {
    const url = urlOf(zipPath(req.type, req.product, req.version));
    const whole = AbortSignal.timeout(downloadTimeoutMs);
    const signal = req.signal ? AbortSignal.any([whole, req.signal]) : whole;
    try {
      return await withRetries(async () => {
        const res = await open(url, signal);
        if (!res) throw new WorkerAdminError('REPOSITORY_ERROR', `the package ${req.type}/${req.product}@${req.version} is missing: ${url} answered 404`);
        if (res.length !== undefined && res.length > limits.zipBytes) {
          res.body.destroy();
          throw new WorkerAdminError('PACKAGE_REJECTED', `${url}: ${res.length} bytes, over the zipBytes limit of ${limits.zipBytes}`);
        }
        try {
          return await bodyToFile(res.body, req.dest, url, { maxBytes: limits.zipBytes, idleMs: timeoutMs, signal, total: res.length, onProgress: req.onProgress });
        } catch (error) {
          if (signal.aborted) throw new HttpNetworkError(`${url}: ${abortReason(signal)}`, { cause: error });
          if (isWorkerAdminError(error, 'LIMIT_EXCEEDED')) throw new WorkerAdminError('PACKAGE_REJECTED', `${error.message} (zipBytes)`, { cause: error });
          throw error;
        }
      }, { retries, retryable, signal, ...(opts.sleep ? { sleep: opts.sleep } : {}) });
    } catch (error) {
      await rm(req.dest, { force: true });
      throw describe(error, `package ${req.type}/${req.product}@${req.version}`);
    }
  }

  return { url: base.href, listVersions, listYanked, fetchKeysLayers, fetchPivot, fetchConfiguration, downloadPackage };
}

// Network errors become REPOSITORY_ERROR naming what was being fetched; named errors pass through.
function describe(error: unknown, what: string): Error {
  if (error instanceof WorkerAdminError) return error;
  return new WorkerAdminError('REPOSITORY_ERROR', `cannot fetch ${what}: ${(error as Error).message}`, { cause: error });
}
