// A host runs the ticks of its own policies (docs/fleet.md, policies): K/ticks/ listed, then watched; each newer tick of
// a policy this host registered goes to the policy manager once, which sends it with the tick's uuid.
import type { Etcd3 } from 'etcd3';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { PolicyTick } from '../../ops/policies/ports.js';
import { PrefixMirror } from '../engines/prefix-mirror.js';
import type { FleetKeys } from '../keys.js';
import { parseTick } from './tick.js';

interface FollowerDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  /** Whether this host registered policy `name` (another host's ticks are not ours to run). */
  holds(name: string): boolean;
  logger: Logger;
}

export type TickHandler = (name: string, tick: PolicyTick, listed: boolean) => void;

export class TickFollower {
  private readonly mirror: PrefixMirror;
  /** The newest tick handed over per policy. */
  private readonly delivered = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly deps: FollowerDeps,
    private readonly onTick: TickHandler,
  ) {
    this.mirror = new PrefixMirror(deps.etcd, deps.keys.ticksPrefix, (cause) => this.deliver(cause), deps.logger);
  }

  /** Lists and watches K/ticks/ (tried again every second while etcd does not answer). */
  start(): void {
    const attempt = (): void => {
      if (this.closed) return;
      this.mirror.start().catch((error: unknown) => {
        this.deps.logger.warn({ err: errorMessage(error) }, 'policy ticks not listed (etcd unreachable): trying again');
        setTimeout(attempt, 1000).unref();
      });
    };
    attempt();
  }

  /** A policy given up: a later policy of that name starts from its own first tick. */
  forget(name: string): void {
    this.delivered.delete(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.mirror.close();
  }

  private deliver(cause: 'list' | 'watch'): void {
    const prefix = this.deps.keys.ticksPrefix;
    for (const [key, text] of this.mirror.values) {
      const name = key.slice(prefix.length);
      if (!this.deps.holds(name)) continue;
      const tick = parseTick(text);
      if (!tick || tick.tick <= (this.delivered.get(name) ?? -Infinity)) continue;
      this.delivered.set(name, tick.tick);
      this.onTick(name, tick, cause === 'list');
    }
  }
}
