// Everything the RPC handlers share: the router's parts, wired once in router-core.ts.
import type { Logger } from '../common/log.js';
import type { TokenChecker } from './auth.js';
import type { CommandRouter } from './commands.js';
import type { ConfigurationStore } from './config-store.js';
import type { EventsHub } from './events-hub.js';
import type { ExpectationRegistry } from './expectations.js';
import type { ResolvedRouterOptions } from './options.js';
import type { PivotIndex } from './pivots.js';
import type { ProductScope } from './products.js';
import type { CommandQueue } from './queue.js';
import type { ConnectionRegistry } from './registry.js';

/** A stream the router may have to end at shutdown: Connect (accepted or still waiting for Hello), SendCommands. */
export interface ClosableSession {
  shutdown(): void;
}

export interface RouterContext {
  options: ResolvedRouterOptions;
  tokens: TokenChecker;
  registry: ConnectionRegistry;
  queue: CommandQueue;
  expectations: ExpectationRegistry;
  pivots: PivotIndex;
  products: ProductScope;
  hub: EventsHub;
  commands: CommandRouter;
  store: ConfigurationStore;
  logger: Logger;
  sessions: Set<ClosableSession>;
  now: () => number;
  /** Set once shutdown starts: every new call is refused UNAVAILABLE. */
  closing: boolean;
}
