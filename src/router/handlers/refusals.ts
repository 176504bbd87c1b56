// gRPC refusals shared by the handlers: who may call what, and the statuses for "no".
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Caller } from '../auth.js';
import { ADMIN_PREFIX } from '../commands.js';
import type { RouterContext } from '../context.js';

type Allowed = 'admin' | 'client';

/** A status error for a unary callback or a stream's 'error'. */
export function grpcError(code: status, details: string): Partial<ServiceError> {
  return Object.assign(new Error(details), { code, details });
}

/** Why `caller` may not make a call only `allowed` may make (named `what`), or undefined when it may. */
export function callerRefusal(caller: Caller, allowed: readonly Allowed[], what: string): string | undefined {
  if (caller === 'admin' || (caller === 'client' && allowed.includes('client'))) return undefined;
  if (caller === 'client') return `${what} needs the admin token`;
  if (caller === 'none') return `${what} needs "authorization: Bearer TOKEN" metadata`;
  return `${what}: the bearer token is not valid`;
}

/** Who may send a command (ADMIN_* needs the admin token) and how a refusal names it, for the call `rpc`. */
export function commandAccess(rpc: string, command: string): [readonly Allowed[], string] {
  return command.startsWith(ADMIN_PREFIX) ? [['admin'], `${rpc} ${command}`] : [['admin', 'client'], rpc];
}

/** Why a call must be refused, or undefined when its caller may make it. */
export function refusal(ctx: RouterContext, metadata: Metadata, allowed: readonly Allowed[], what: string): Partial<ServiceError> | undefined {
  if (ctx.closing) return grpcError(status.UNAVAILABLE, 'ROUTER_SHUTDOWN: the router is shutting down');
  const refused = callerRefusal(ctx.tokens.callerOf(metadata), allowed, what);
  return refused === undefined ? undefined : grpcError(status.UNAUTHENTICATED, refused);
}
