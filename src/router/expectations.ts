// Workers announced by the admin: single-use token digests bound to identifier and version, with a TTL.
import { WorkerAdminError } from '../common/errors.js';
import { assertCommandName, assertIdentifier, assertVersion } from '../common/names.js';
import type { Expectation } from '../proto/types.js';
import { matchesDigest } from './auth.js';
import type { PayloadCheck, SchemaCompiler } from './schemas.js';

const DEFAULT_EXPECTATION_TTL_MS = 10 * 60_000;

/** An announced worker, checked and compiled, waiting for its Hello. */
interface LiveExpectation {
  identifier: string;
  version: string;
  type: string;
  product: string;
  commands: string[];
  events: string[];
  commandChecks: Map<string, PayloadCheck>;
  eventChecks: Map<string, PayloadCheck>;
  expiresAt: number;
  tokenDigest: Buffer;
}

type ConsumeResult = { ok: true; expectation: LiveExpectation } | { ok: false; reason: 'BAD_TOKEN'; detail: string };

const HEX64_RE = /^[0-9a-f]{64}$/;

/** The live expectations, keyed IDENTIFIER@VERSION; a new one for the same key replaces the old. */
export class ExpectationRegistry {
  private readonly live = new Map<string, LiveExpectation>();

  constructor(
    private readonly schemas: SchemaCompiler,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks and stores an expectation; WorkerAdminError (NAME_INVALID, VERSION_INVALID, AUTH_INVALID, PIVOT_INVALID) when it is wrong. */
  add(e: Expectation): LiveExpectation {
    const identifier = assertIdentifier(e.identifier);
    const version = assertVersion(e.version);
    const digest = e.token_sha256.toLowerCase();
    if (!HEX64_RE.test(digest)) {
      throw new WorkerAdminError('AUTH_INVALID', `expectation ${identifier}@${version}: token_sha256 must be 64 hex characters (sha256 of the one-time token)`);
    }
    e.commands.forEach(assertCommandName);
    e.events.forEach(assertCommandName);
    const expectation: LiveExpectation = {
      identifier,
      version,
      type: e.type,
      product: e.product,
      commands: [...new Set(e.commands)],
      events: [...new Set(e.events)],
      commandChecks: this.schemas.compileAll(e.command_schemas ?? {}, 'command'),
      eventChecks: this.schemas.compileAll(e.event_schemas ?? {}, 'event'),
      expiresAt: this.now() + (e.ttl_ms > 0 ? e.ttl_ms : DEFAULT_EXPECTATION_TTL_MS),
      tokenDigest: Buffer.from(digest, 'hex'),
    };
    this.live.set(`${identifier}@${version}`, expectation);
    return expectation;
  }

  /** Takes the expectation a Hello's token opens; a wrong token leaves it in place for the real worker. */
  consume(identifier: string, version: string, token: string): ConsumeResult {
    this.sweep();
    const key = `${identifier}@${version}`;
    const expectation = this.live.get(key);
    if (!expectation) return { ok: false, reason: 'BAD_TOKEN', detail: `no live expectation for ${key}` };
    if (!matchesDigest(token, expectation.tokenDigest)) return { ok: false, reason: 'BAD_TOKEN', detail: `token does not match the expectation of ${key}` };
    this.live.delete(key);
    return { ok: true, expectation };
  }

  /** True when a live expectation lists `command`. */
  declares(command: string): boolean {
    this.sweep();
    for (const e of this.live.values()) if (e.commands.includes(command)) return true;
    return false;
  }

  /** `type/product` of every live expectation listing `command`. */
  productsDeclaring(command: string): Set<string> {
    this.sweep();
    const products = new Set<string>();
    for (const e of this.live.values()) if (e.commands.includes(command)) products.add(`${e.type}/${e.product}`);
    return products;
  }

  /** `type/product` and commands of every live expectation (what this host will soon serve). */
  products(): Array<{ product: string; commands: string[] }> {
    this.sweep();
    return [...this.live.values()].map((e) => ({ product: `${e.type}/${e.product}`, commands: [...e.commands] }));
  }

  /** IDENTIFIER@VERSION of every live expectation. */
  expected(): string[] {
    this.sweep();
    return [...this.live.keys()];
  }

  /** Forgets expired expectations. */
  sweep(): void {
    const now = this.now();
    for (const [key, e] of this.live) if (e.expiresAt <= now) this.live.delete(key);
  }
}
