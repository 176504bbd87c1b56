// The coordinator runs every registered policy's schedule (docs/fleet.md, policies): at a schedule time it writes
// K/ticks/NAME once, fenced and conditioned on what it read, so one tick is written once in the whole fleet, also
// across a change of coordinator; a time more than the grace behind is missed, never made up.
import type { Etcd3 } from 'etcd3';
import { compileCron, type CronMatcher } from '../../common/cron.js';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ScheduledTask, Scheduler } from '../../common/scheduler.js';
import type { FencedWriter } from '../coordinator/fenced.js';
import { PrefixMirror } from '../engines/prefix-mirror.js';
import type { FleetKeys } from '../keys.js';
import { withDeadline } from '../registry/leases.js';
import { dueTick, parseRegistration, parseTick, tickOf } from './tick.js';

interface TickerDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  /** The admin's one scheduler (its clock decides what is due). */
  scheduler: Scheduler;
  /** How late a tick may still be written (a scheduler woken late, a coordinator elected right after a schedule time). */
  graceMs: number;
  logger: Logger;
}

interface Scheduled {
  schedule: string;
  matcher: CronMatcher;
  task: ScheduledTask;
  /** Writes of this policy, one at a time. */
  writing: Promise<void>;
}

interface Term {
  writer: FencedWriter;
  mirror: PrefixMirror;
  policies: Map<string, Scheduled>;
  ended: boolean;
}

export class PolicyTicker {
  /** Ticks written by this host (any term), for tests and the logs. */
  written = 0;
  private term: Term | undefined;

  constructor(private readonly deps: TickerDeps) {}

  /** A term begins: follow K/policies/ and schedule each one; `writer` is the term's (fenced) only way to write. */
  begin(writer: FencedWriter): void {
    this.end();
    const { etcd, keys, logger } = this.deps;
    const term: Term = { writer, policies: new Map(), ended: false, mirror: undefined as unknown as PrefixMirror };
    term.mirror = new PrefixMirror(etcd, keys.policiesPrefix, () => this.sync(term), logger);
    this.term = term;
    const attempt = (): void => {
      if (term.ended) return;
      term.mirror.start().catch((error: unknown) => {
        logger.warn({ err: errorMessage(error) }, 'policies not listed (etcd unreachable): trying again');
        setTimeout(attempt, 1000).unref();
      });
    };
    attempt();
  }

  /** The term ended (stepped down, closing): no more ticks from it. Idempotent. */
  end(): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    term.ended = true;
    for (const scheduled of term.policies.values()) scheduled.task.cancel();
    term.policies.clear();
    void term.mirror.close();
  }

  /** Schedules what K/policies/ holds now: new schedules start, changed ones start again, gone ones stop. */
  private sync(term: Term): void {
    if (term.ended) return;
    const prefix = this.deps.keys.policiesPrefix;
    const wanted = new Map<string, { schedule: string; since: number }>();
    for (const [key, text] of term.mirror.values) {
      const registration = parseRegistration(text);
      if (registration?.schedule) wanted.set(key.slice(prefix.length), { schedule: registration.schedule, since: registration.since });
    }
    for (const [name, scheduled] of term.policies) {
      if (wanted.get(name)?.schedule === scheduled.schedule) continue;
      scheduled.task.cancel();
      term.policies.delete(name);
    }
    for (const [name, { schedule, since }] of wanted) {
      if (term.policies.has(name)) continue;
      let matcher: CronMatcher;
      try {
        matcher = compileCron(schedule);
      } catch (error) {
        this.deps.logger.error({ policy: name, err: errorMessage(error) }, 'policy schedule unreadable: no ticks for it');
        continue;
      }
      const scheduled: Scheduled = {
        schedule, matcher, writing: Promise.resolve(),
        task: this.deps.scheduler.schedule({ kind: 'cron', expression: schedule }, () => this.due(term, name, scheduled, -Infinity)),
      };
      term.policies.set(name, scheduled);
      // a time just passed (this term began, or the policy appeared, right after it) is still written within the grace
      void this.due(term, name, scheduled, since);
    }
  }

  /** Writes the due tick of `name`, if any: the latest schedule time within the grace and not before `notBefore`. */
  private due(term: Term, name: string, scheduled: Scheduled, notBefore: number): Promise<void> {
    const now = this.deps.scheduler.now();
    const tick = dueTick(scheduled.matcher, now, Math.max(now - this.deps.graceMs, notBefore));
    if (tick === undefined) return Promise.resolve();
    scheduled.writing = scheduled.writing.then(() => this.write(term, name, scheduled.schedule, tick)).catch((error: unknown) => {
      this.deps.logger.warn({ policy: name, tick: new Date(tick).toISOString(), err: errorMessage(error) }, 'policy tick not written (etcd did not answer): missed unless the next look finds it due');
    });
    return scheduled.writing;
  }

  /**
   * K/ticks/NAME = tick, unless that tick (or a later one) is recorded: one fenced transaction conditioned on the mod
   * revisions read of the tick record and of the registration. A compared key that changed: read again, once.
   */
  private async write(term: Term, name: string, schedule: string, tick: number): Promise<void> {
    const { etcd, keys, logger } = this.deps;
    for (let attempt = 0; attempt < 2 && !term.ended; attempt += 1) {
      const [policy, recorded] = await withDeadline(Promise.all([etcd.get(keys.policies(name)).exec(), etcd.get(keys.ticks(name)).exec()]), 2000);
      const registration = policy.kvs[0];
      if (!registration || parseRegistration(registration.value.toString())?.schedule !== schedule) return; // deleted or changed meanwhile
      const record = recorded.kvs[0];
      const last = record ? parseTick(record.value.toString()) : undefined;
      if (last && last.tick >= tick) return; // written already: by this term, or by the coordinator before it
      const value = tickOf(name, tick, this.deps.scheduler.now());
      const done = await term.writer.commit([{ put: keys.ticks(name), value: JSON.stringify(value) }], [
        { key: keys.policies(name), target: 'Mod', value: String(registration.mod_revision) },
        record ? { key: keys.ticks(name), target: 'Mod', value: String(record.mod_revision) } : { key: keys.ticks(name), target: 'Create', value: 0 },
      ]);
      if (done) {
        this.written += 1;
        logger.info({ policy: name, tick: new Date(tick).toISOString(), uuid: value.uuid }, 'policy tick written');
        return;
      }
      if (term.writer.fenced) return; // not the coordinator any more: the term ends
    }
  }
}
