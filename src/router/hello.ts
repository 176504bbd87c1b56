// Checking a Hello: the admin's (bearer already checked) or a worker's (one-time token, required commands).
import { status } from '@grpc/grpc-js';
import { COMMAND_RE, IDENTIFIER_RE, TOPIC_RE, TYPE_PRODUCT_RE, VERSION_RE } from '../common/names.js';
import type { Hello } from '../proto/types.js';
import { ADMIN_PREFIX } from './commands.js';
import type { ConnectionIdentity } from './connection.js';
import type { ExpectationRegistry } from './expectations.js';

type HelloOutcome =
  /** `configured`: the admin's only: the products (`type/product`) its configuration lists. */
  | { ok: true; identity: ConnectionIdentity; ignored: string[]; configured?: string[] }
  | { ok: false; reason: string; code: status; detail: string };

const badToken = (detail: string): HelloOutcome => ({ ok: false, reason: 'BAD_TOKEN', code: status.UNAUTHENTICATED, detail });

function validNames(names: string[], re: RegExp): string[] {
  return [...new Set(names.filter((n) => re.test(n)))];
}

/** True for `type/product` with both parts valid names. */
function isProductRef(value: string): boolean {
  const parts = value.split('/');
  return parts.length === 2 && parts.every((p) => TYPE_PRODUCT_RE.test(p));
}

/** The admin's Hello: identity as it says (its bearer proved it), every command it lists, its configured products. */
export function checkAdminHello(hello: Hello): HelloOutcome {
  const identifier = hello.identifier || 'admin';
  if (!IDENTIFIER_RE.test(identifier)) return { ok: false, reason: 'NAME_INVALID', code: status.INVALID_ARGUMENT, detail: `identifier ${JSON.stringify(identifier)} is invalid` };
  const badProduct = hello.products.find((p) => !isProductRef(p));
  if (badProduct !== undefined) {
    return { ok: false, reason: 'NAME_INVALID', code: status.INVALID_ARGUMENT, detail: `product ${JSON.stringify(badProduct)} is invalid: it must be "type/product"` };
  }
  return {
    ok: true,
    configured: [...new Set(hello.products)],
    ignored: hello.commands.filter((c) => !COMMAND_RE.test(c)),
    identity: {
      identifier,
      version: hello.version || '0.0',
      type: hello.type || 'admin',
      product: hello.product || 'admin',
      admin: true,
      tokenSha256: '',
      commands: validNames(hello.commands, COMMAND_RE),
      topics: validNames(hello.topics, TOPIC_RE),
      commandChecks: new Map(),
      eventChecks: new Map(),
    },
  };
}

/**
 * A worker's Hello: its token opens the expectation of its identifier and version, and it serves every pivot command.
 * Commands beyond its pivot are its own too, whatever other products declare (an unpinned command that several
 * products serve is refused AMBIGUOUS_COMMAND at dispatch, not taken from one of them here).
 */
export function checkWorkerHello(hello: Hello, expectations: ExpectationRegistry): HelloOutcome {
  if (!IDENTIFIER_RE.test(hello.identifier) || !VERSION_RE.test(hello.version)) {
    return badToken(`Hello identifier ${JSON.stringify(hello.identifier)} / version ${JSON.stringify(hello.version)} are not valid names`);
  }
  const consumed = expectations.consume(hello.identifier, hello.version, hello.token);
  if (!consumed.ok) return badToken(consumed.detail);
  const expectation = consumed.expectation;
  const offered = new Set(hello.commands);
  const missing = expectation.commands.filter((c) => !offered.has(c));
  if (missing.length > 0) {
    return { ok: false, reason: `COMMANDS_MISSING: ${missing.join(', ')}`, code: status.FAILED_PRECONDITION, detail: `Hello of ${hello.identifier}@${hello.version} lacks ${missing.join(', ')}` };
  }
  // ADMIN_* commands are served by the admin's stream only.
  const ignored = hello.commands.filter((c) => !COMMAND_RE.test(c) || c.startsWith(ADMIN_PREFIX));
  return {
    ok: true,
    ignored,
    identity: {
      identifier: expectation.identifier,
      version: expectation.version,
      type: expectation.type || hello.type,
      product: expectation.product || hello.product,
      admin: false,
      tokenSha256: expectation.tokenDigest.toString('hex'),
      commands: validNames(hello.commands, COMMAND_RE).filter((c) => !ignored.includes(c)),
      topics: validNames(hello.topics, TOPIC_RE),
      commandChecks: expectation.commandChecks,
      eventChecks: expectation.eventChecks,
    },
  };
}
