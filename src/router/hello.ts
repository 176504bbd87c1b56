// Checking a Hello: the admin's (bearer already checked) or a worker's (one-time token, required commands).
import { status } from '@grpc/grpc-js';
import { COMMAND_RE, IDENTIFIER_RE, TOPIC_RE, VERSION_RE } from '../common/names.js';
import type { Hello } from '../proto/types.js';
import { ADMIN_PREFIX } from './commands.js';
import type { ConnectionIdentity } from './connection.js';
import type { ExpectationRegistry } from './expectations.js';

type HelloOutcome =
  | { ok: true; identity: ConnectionIdentity; ignored: string[] }
  | { ok: false; reason: string; code: status; detail: string };

const badToken = (detail: string): HelloOutcome => ({ ok: false, reason: 'BAD_TOKEN', code: status.UNAUTHENTICATED, detail });

function validNames(names: string[], re: RegExp): string[] {
  return [...new Set(names.filter((n) => re.test(n)))];
}

/** The admin's Hello: identity as it says (its bearer proved it), every command it lists. */
export function checkAdminHello(hello: Hello): HelloOutcome {
  const identifier = hello.identifier || 'admin';
  if (!IDENTIFIER_RE.test(identifier)) return { ok: false, reason: 'IDENTIFIER_INVALID', code: status.INVALID_ARGUMENT, detail: `identifier ${JSON.stringify(identifier)} is invalid` };
  return {
    ok: true,
    ignored: hello.commands.filter((c) => !COMMAND_RE.test(c)),
    identity: {
      identifier,
      version: hello.version || '0.0',
      type: hello.type || 'admin',
      product: hello.product || 'admin',
      admin: true,
      commands: validNames(hello.commands, COMMAND_RE),
      topics: validNames(hello.topics, TOPIC_RE),
      commandChecks: new Map(),
      eventChecks: new Map(),
    },
  };
}

/** Which products (`type/product`) declare a command: live connections, expectations and stored pivots. */
type ProductsDeclaring = (command: string) => Set<string>;

/** A worker's Hello: its token opens the expectation of its identifier and version, and it serves every pivot command. */
export function checkWorkerHello(hello: Hello, expectations: ExpectationRegistry, productsDeclaring: ProductsDeclaring = () => new Set()): HelloOutcome {
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
  // ADMIN_* commands are served by the admin's stream only, and a command of another product's pivot by that
  // product only: extra commands are fine, taking over someone else's are not.
  const own = `${expectation.type}/${expectation.product}`;
  const pivot = new Set(expectation.commands);
  const foreign = (c: string): boolean => !pivot.has(c) && [...productsDeclaring(c)].some((p) => p !== own);
  const ignored = hello.commands.filter((c) => !COMMAND_RE.test(c) || c.startsWith(ADMIN_PREFIX) || foreign(c));
  return {
    ok: true,
    ignored,
    identity: {
      identifier: expectation.identifier,
      version: expectation.version,
      type: expectation.type || hello.type,
      product: expectation.product || hello.product,
      admin: false,
      commands: validNames(hello.commands, COMMAND_RE).filter((c) => !ignored.includes(c)),
      pivot: expectation.commands,
      topics: validNames(hello.topics, TOPIC_RE),
      commandChecks: expectation.commandChecks,
      eventChecks: expectation.eventChecks,
    },
  };
}
