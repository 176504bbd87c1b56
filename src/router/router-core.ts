// Wires the router's parts into the gRPC service implementation; shutdown in steps that each run.
import { setTimeout as sleep } from 'node:timers/promises';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../common/log.js';
import { TokenChecker } from './auth.js';
import { CommandRouter } from './commands.js';
import type { ConfigurationStore } from './config-store.js';
import type { RouterContext } from './context.js';
import { EventsHub } from './events-hub.js';
import { ExpectationRegistry } from './expectations.js';
import { drainWorkerHandler } from './handlers/drain-worker.js';
import { expectWorkerHandler } from './handlers/expect-worker.js';
import { getConfigurationHandler } from './handlers/get-configuration.js';
import { listWorkersHandler } from './handlers/list-workers.js';
import { saveConfigurationHandler } from './handlers/save-configuration.js';
import { connectHandler } from './handlers/connect.js';
import { sendCommandHandler } from './handlers/send-command.js';
import { sendCommandsHandler } from './handlers/send-commands.js';
import { sendEventHandler } from './handlers/send-event.js';
import { watchEventsHandler } from './handlers/watch-events.js';
import type { ResolvedRouterOptions } from './options.js';
import { PivotIndex } from './pivots.js';
import { ProductScope } from './products.js';
import { CommandQueue } from './queue.js';
import { ConnectionRegistry } from './registry.js';
import { SchemaCompiler } from './schemas.js';
import { UuidCache } from './uuid-cache.js';

export interface RouterCore {
  readonly context: RouterContext;
  readonly service: UntypedServiceImplementation;
  /** Refuses new work, answers queued commands, gives in-flight ones `graceMs`, then ends every stream. */
  shutdown(graceMs: number): Promise<void>;
}

/** Builds the router's state and handlers (no socket yet). */
export async function createRouterCore(options: ResolvedRouterOptions, store: ConfigurationStore, logger: Logger, now: () => number = Date.now): Promise<RouterCore> {
  const registry = new ConnectionRegistry();
  const queue = new CommandQueue(options.queueLimit);
  const expectations = new ExpectationRegistry(new SchemaCompiler(), now);
  const pivots = new PivotIndex();
  await pivots.load(store, logger);
  const products = new ProductScope(registry, expectations, pivots);
  const hub = new EventsHub(registry, logger, now);
  const uuids = new UuidCache(undefined, now);
  const commands = new CommandRouter({
    registry, queue, uuids, products, hub, logger, now,
    observer: options.observer,
    commandMs: options.commandMs,
    adminCommandMs: options.adminCommandMs,
    payloadDepth: options.limits.payloadDepth,
  });
  const context: RouterContext = {
    options, registry, queue, expectations, pivots, products, hub, commands, store, logger, now,
    tokens: new TokenChecker(options.adminToken, options.clientToken),
    sessions: new Set(),
    closing: false,
  };
  const sweeper = setInterval(() => {
    expectations.sweep();
    uuids.expire();
  }, 30_000);
  sweeper.unref();

  const service: UntypedServiceImplementation = {
    Connect: connectHandler(context),
    SendCommand: sendCommandHandler(context),
    SendCommands: sendCommandsHandler(context),
    SendEvent: sendEventHandler(context),
    WatchEvents: watchEventsHandler(context),
    GetConfiguration: getConfigurationHandler(context),
    SaveConfiguration: saveConfigurationHandler(context),
    ExpectWorker: expectWorkerHandler(context),
    DrainWorker: drainWorkerHandler(context),
    ListWorkers: listWorkersHandler(context),
  };

  const shutdown = async (graceMs: number): Promise<void> => {
    const steps: Array<[string, () => void | Promise<void>]> = [
      ['refuse new work', () => {
        context.closing = true;
        clearInterval(sweeper);
        commands.stopTaking();
      }],
      ['wait for in-flight commands', async () => {
        const until = now() + graceMs;
        while (registry.inFlightCount() > 0 && now() < until) await sleep(10);
      }],
      ['answer what is left in flight', () => commands.failInFlight()],
      ['end Connect and SendCommands streams', () => {
        for (const session of [...context.sessions]) session.shutdown();
      }],
      ['end event watchers', () => hub.endAll()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: error, step: name }, 'router shutdown step failed');
      }
    }
  };

  return { context, service, shutdown };
}
