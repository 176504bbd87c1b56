// gRPC refusals shared by the handlers: who may call what, and the statuses for "no".
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Caller } from '../auth.js';
import type { RouterContext } from '../context.js';

type Allowed = 'admin' | 'client';

/** A status error for a unary callback or a stream's 'error'. */
export function grpcError(code: status, details: string): Partial<ServiceError> {
  return Object.assign(new Error(details), { code, details });
}

/** Why a call must be refused, or undefined when `caller` may make it. */
export function refusal(ctx: RouterContext, metadata: Metadata, allowed: readonly Allowed[], what: string): Partial<ServiceError> | undefined {
  if (ctx.closing) return grpcError(status.UNAVAILABLE, 'ROUTER_SHUTDOWN: the router is shutting down');
  const caller: Caller = ctx.tokens.callerOf(metadata);
  if (caller === 'admin' || (caller === 'client' && allowed.includes('client'))) return undefined;
  if (caller === 'client') return grpcError(status.UNAUTHENTICATED, `${what} needs the admin token`);
  if (caller === 'none') return grpcError(status.UNAUTHENTICATED, `${what} needs "authorization: Bearer TOKEN" metadata`);
  return grpcError(status.UNAUTHENTICATED, `${what}: the bearer token is not valid`);
}
