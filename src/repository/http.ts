// The narrow HTTP interface the repository client needs, and its real implementation on axios.
import type { Readable } from 'node:stream';
import type { AxiosInstance } from 'axios';

/** A response whose body is still to be read (the caller reads or destroys it). */
export interface HttpResponse {
  status: number;
  /** Content-Length when the server gave one. */
  length: number | undefined;
  body: Readable;
}

/** GET a URL; rejects on network errors and timeouts only (any status resolves). */
export interface HttpGet {
  get(url: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<HttpResponse>;
}

/** Why a request failed without a usable response: kept apart so the retry policy can tell them apart. */
export class HttpNetworkError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'HttpNetworkError';
  }
}

/** The real HttpGet: axios streaming, no redirects followed beyond 5, no status thrown. */
export function createAxiosHttp(): HttpGet {
  // axios is loaded with the first request: a process that never fetches (or not yet) does not carry its memory.
  let instance: Promise<AxiosInstance> | undefined;
  const client = (): Promise<AxiosInstance> => (instance ??= import('axios').then(({ default: axios }) =>
    axios.create({ maxRedirects: 5, validateStatus: () => true, responseType: 'stream', decompress: true })));
  return {
    async get(url, { timeoutMs, signal }) {
      const axios = await client();
      try {
        const res = await axios.get<Readable>(url, { timeout: timeoutMs, signal });
        const header = res.headers['content-length'];
        const length = header === undefined || header === null ? undefined : Number(header);
        return { status: res.status, length: Number.isFinite(length) ? length : undefined, body: res.data };
      } catch (error) {
        const reason = signal.aborted ? abortReason(signal) : (error as Error).message;
        throw new HttpNetworkError(reason, { cause: error });
      }
    },
  };
}

/** A readable reason for an aborted signal ("timed out" for AbortSignal.timeout). */
export function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  if (reason?.name === 'TimeoutError') return 'timed out';
  return reason?.message ?? 'aborted';
}
