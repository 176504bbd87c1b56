// The admin token on mutating ops routes: `authorization: Bearer TOKEN`, compared in constant time against a digest.
import type { IncomingMessage } from 'node:http';
import { WorkerAdminError } from '../../common/errors.js';
import { matchesDigest, sha256 } from '../../router/auth.js';

/** Checks requests against the admin token; only its digest is kept. */
export interface AdminAuth {
  /** Throws AUTH_INVALID (401) when the request has no bearer or the wrong one. */
  require(req: IncomingMessage): void;
}

/** An AdminAuth for `adminToken`. */
export function createAdminAuth(adminToken: string): AdminAuth {
  const digest = sha256(adminToken);
  return {
    require(req) {
      const header = req.headers.authorization;
      if (header === undefined) throw new WorkerAdminError('AUTH_INVALID', 'admin token required: send "authorization: Bearer TOKEN"');
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match || !matchesDigest(match[1]!, digest)) throw new WorkerAdminError('AUTH_INVALID', 'invalid admin token');
    },
  };
}
