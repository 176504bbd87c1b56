// Fleet rolling updates inside the coordinator's pass (docs/fleet.md, a rollout): every decision is read from and
// written to etcd (K/rollouts, K/assignments, K/running), so a new coordinator resumes a rollout where the last one
// left it. Runs after placement in the same pass, on the assignments placement just wrote.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { RolloutHook } from '../coordinator/pass.js';
import type { FleetKeys } from '../keys.js';
import { answerRequests, expireAnswers, openRequests } from './answers.js';
import { checkBatch, moveBatch, rearm, reconcile, rollBack } from './batches.js';
import { dueChecks } from './checks.js';
import { applyEvent, canApply, isTerminal, newRollout, type RolloutEvent } from './machine.js';
import type { Read, RolloutView, RolloutWriter } from './ports.js';
import { instancesToMove, resolveTarget, rolloutSettings, type ListVersions } from './target.js';
import type { RolloutControl, RolloutRecord, RolloutRequest } from './types.js';
import { PassState, splitProduct } from './writes.js';

interface RolloutRunnerDeps {
  keys: FleetKeys;
  /** The coordinator's host name (in event payloads). */
  host: string;
  listVersions: ListVersions;
  /** Publishes an `admin` event (UPDATE_STARTED, UPDATE_SUCCEEDED, UPDATE_FAILED, UPDATE_SKIPPED). */
  publish(event: string, payload: Record<string, unknown>): void;
  /** The admin's timeouts.start: a moved instance has this + minHealthy + 30 s to be healthy. */
  startTimeoutMs: number;
  logger: Logger;
  /** Asks the coordinator for another pass soon (a write was not applied, or a minHealthy wait ends before its timer). */
  poke?: () => void;
  newId?: () => string;
}

/** One event to publish once its write is applied. */
type Publication = [event: string, payload: Record<string, unknown>];

/** A rollout still moving instances (not ended). */
function rolloutInProgress(record: RolloutRecord | undefined): boolean {
  return record !== undefined && !isTerminal(record.state);
}

/** Called by the coordinator at the end of each pass (src/fleet/coordinator/pass.ts), after placement. */
export class RolloutRunner implements RolloutHook {
  private wake: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RolloutRunnerDeps) {}

  /** Steps every rollout in progress, then starts the oldest request of each product with none. */
  async pass(view: RolloutView, writer: RolloutWriter): Promise<void> {
    const state = new PassState(view, this.deps.keys);
    const checks = state.change();
    const fired = dueChecks(state, checks);
    if (!(await checks.commit(writer))) {
      this.deps.poke?.();
      return;
    }
    if (fired.length > 0) this.deps.logger.info({ checks: fired }, 'update checks due: requests written');
    const products = new Set([...view.rollouts.keys(), ...view.requests.keys(), ...view.controls.keys()]);
    for (const product of [...products].sort()) {
      if (writer.fenced) return;
      if (!(await this.product(product, state, writer))) {
        this.deps.poke?.();
        return;
      }
    }
  }

  /** Stops the wake-up timer (the coordinator stepped down or closes). */
  close(): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
  }

  /** False when a write was not applied (the pass stops; the next one reads again). */
  private async product(product: string, state: PassState, writer: RolloutWriter): Promise<boolean> {
    const expiry = state.change();
    expireAnswers(product, state, expiry);
    if (!(await expiry.commit(writer))) return false;
    const record = state.rollouts.get(product)?.value;
    if (rolloutInProgress(record)) return this.step(product, record!, state, writer);
    const control = state.view.controls.get(product);
    if (control) {
      // nothing in progress to pause, resume or abort
      const change = state.change();
      change.delete(this.controlKey(product), control.modRevision);
      if (!(await change.commit(writer))) return false;
    }
    for (const request of openRequests(product, state)) {
      if (request.value.result) continue; // answered: its admin replies and deletes it
      const started = await this.start(product, request, state, writer);
      if (started === 'refused-write') return false;
      if (started === 'running' || started === 'waiting') return true;
    }
    return true;
  }

  /** Starts a request: a record in its first batch, or ended at once (answered). */
  private async start(product: string, request: Read<RolloutRequest> & { key: string }, state: PassState, writer: RolloutWriter): Promise<'running' | 'ended' | 'waiting' | 'refused-write'> {
    const { view } = state;
    const ask = request.value;
    const desired = view.desired.get(product);
    const running = state.running.get(product)?.value;
    if (desired && !running) return 'waiting'; // placement has not recorded a version yet
    const change = state.change();
    const base = { id: this.deps.newId?.() ?? newRolloutId(view.now), product, trigger: ask.trigger, requests: [ask.id] };
    const end = async (record: RolloutRecord, published: Publication[] = []): Promise<'ended' | 'refused-write'> => {
      change.putRecord(product, record);
      answerRequests(record, state, change, this.deps.host);
      if (!(await change.commit(writer))) return 'refused-write';
      for (const [event, payload] of published) this.deps.publish(event, payload);
      return 'ended';
    };
    if (!desired || !running) {
      const from = running?.version ?? ask.version ?? '';
      return end(this.refuse({ ...base, from, to: ask.version ?? from }, `${product} has no fleet desired state (apply one with \`worker-admin fleet apply\`)`, view.now, writer));
    }
    const target = await resolveTarget(ask, running, desired, view.overrides.get(product), this.deps.listVersions);
    const from = running.version;
    if ((ask.trigger === 'auto' || ask.trigger === 'planned') && target.kind !== 'update') {
      // an automatic check with nothing to do leaves the last rollout's record as it is
      this.deps.logger.info({ product, trigger: ask.trigger, reason: target.reason }, 'rollout check: nothing to update');
      change.delete(request.key, request.modRevision);
      return (await change.commit(writer)) ? 'ended' : 'refused-write';
    }
    if (target.kind === 'refused') return end(this.refuse({ ...base, from, to: ask.version ?? from }, target.reason, view.now, writer));
    const to = target.to;
    const instances = instancesToMove(view, ...splitProduct(product), to);
    const pending = newRollout({ ...base, ...rolloutSettings(ask, desired, view.overrides.get(product)), from, to, instances }, view.now);
    if (instances.length === 0) {
      const record = { ...applyEvent(pending, { type: 'nothing' }, view.now), term: writer.revision };
      if (to !== from) change.putRunning(product, { ...running, version: to, previous: from, since: view.now });
      const reason = target.kind === 'none' ? target.reason : `no instance of ${product} to move`;
      return end(record, [to === from ? ['UPDATE_SKIPPED', this.payload(record, { reason })] : ['UPDATE_SUCCEEDED', this.payload(record, { instances: [] })]]);
    }
    // the request stays unanswered until the rollout ends
    const record = moveBatch({ ...applyEvent(pending, { type: 'begin' }, view.now), term: writer.revision }, state, change);
    change.putRecord(product, record);
    if (!(await change.commit(writer))) return 'refused-write';
    this.deps.logger.info({ product, rollout: record.id, from, to, state: record.state, batches: record.batches }, 'rollout started');
    this.deps.publish('UPDATE_STARTED', this.payload(record, {}));
    return 'running';
  }

  /** An ended record for a request that cannot be served (nothing moved, nothing marked failed). */
  private refuse(spec: { id: string; product: string; trigger: RolloutRequest['trigger']; requests: string[]; from: string; to: string }, reason: string, now: number, writer: RolloutWriter): RolloutRecord {
    this.deps.logger.warn({ product: spec.product, requests: spec.requests, reason }, 'rollout request refused');
    const pending = newRollout({ ...spec, canary: 0, maxParallel: 1, minHealthyMs: 0, instances: [] }, now);
    const failed = applyEvent(pending, { type: 'fail', cause: 'refused', reason, host: null }, now);
    return { ...applyEvent(failed, { type: 'reverted' }, now), term: writer.revision };
  }

  private controlKey(product: string): string {
    return this.deps.keys.rolloutControl(...splitProduct(product));
  }

  /** One step of a rollout in progress: control, changes meanwhile, the batch's health, the next batch or the end; rollback. */
  private async step(product: string, stored: RolloutRecord, state: PassState, writer: RolloutWriter): Promise<boolean> {
    const { view } = state;
    const now = view.now;
    const change = state.change();
    const published: Publication[] = [];
    let record = stored.term === writer.revision ? stored : rearm(stored, now);
    record = { ...record, term: writer.revision };
    const control = view.controls.get(product);
    if (control) {
      change.delete(this.controlKey(product), control.modRevision);
      // a control meant for another (earlier) rollout is dropped
      if (control.value.rolloutId === record.id) record = this.control(record, control, now);
    }
    if (!view.desired.has(product) && canApply(record.state, 'fail')) {
      record = applyEvent(record, { type: 'fail', cause: 'abort', reason: `${product} was removed from the fleet's desired state`, host: null }, now);
    }
    record = reconcile(record, state.current());
    const running = state.running.get(product)?.value;
    if (record.state === 'CANARY' || record.state === 'BATCH' || record.state === 'PAUSED') {
      record = checkBatch(record, state, change, this.deps.startTimeoutMs);
      if (record.state === 'SUCCEEDED') {
        change.putRunning(product, { ...running, version: record.to, previous: record.from === record.to ? (running?.previous ?? null) : record.from, failed: running?.failed ?? [], since: now });
        published.push(['UPDATE_SUCCEEDED', this.payload(record, { instances: Object.keys(record.instances) })]);
      }
    }
    if (record.state === 'ROLLING_BACK') {
      record = rollBack(record, state, change, this.deps.startTimeoutMs);
      if (isTerminal(record.state)) {
        // the version failed fleet-wide (auto and planned skip it); an abort is no verdict on it
        if (record.cause === 'failure' && running && !running.failed.includes(record.to)) change.putRunning(product, { ...running, failed: [...running.failed, record.to] });
        published.push(['UPDATE_FAILED', this.payload(record, { reason: record.reason, rolledBack: record.state === 'ROLLED_BACK' })]);
      }
    }
    if (isTerminal(record.state)) answerRequests(record, state, change, this.deps.host);
    if (JSON.stringify(record) === JSON.stringify(stored) && change.empty) {
      this.scheduleWake(record, now);
      return true;
    }
    change.putRecord(product, record);
    if (!(await change.commit(writer))) return false;
    if (record.state !== stored.state) this.deps.logger.info({ product, rollout: record.id, from: stored.state, to: record.state, batch: record.batch, reason: record.reason }, 'rollout state');
    for (const [event, payload] of published) this.deps.publish(event, payload);
    this.scheduleWake(record, now);
    return true;
  }

  /** pause | resume | abort, when the record's state allows it (otherwise consumed and ignored). */
  private control(record: RolloutRecord, control: Read<RolloutControl>, now: number): RolloutRecord {
    const { action, by } = control.value;
    const event: RolloutEvent = action === 'abort'
      ? { type: 'fail', cause: 'abort', reason: `aborted by ${by}`, host: null }
      : { type: action };
    return canApply(record.state, event.type) ? applyEvent(record, event, now) : record;
  }

  /** The payload of an UPDATE_* event: `version` is the target, `host` where it failed (else the coordinator). */
  private payload(record: RolloutRecord, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      product: record.product, version: record.to, from: record.from, to: record.to, host: record.host ?? this.deps.host,
      trigger: record.trigger, rolloutId: record.id, ...extra,
    };
  }

  /** A pass when the batch's minHealthy wait ends, when that comes before the coordinator's own timer. */
  private scheduleWake(record: RolloutRecord, now: number): void {
    if (!this.deps.poke || isTerminal(record.state)) return;
    const readyAts = Object.values(record.instances).filter((i) => i.state === 'moving' && i.readyAt !== null).map((i) => i.readyAt! + record.minHealthyMs);
    if (readyAts.length === 0) return;
    const delay = Math.max(0, Math.min(...readyAts) - now) + 10;
    if (this.wake) clearTimeout(this.wake);
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.deps.poke?.();
    }, delay);
    this.wake.unref();
  }
}

/** A rollout's id: sortable by time, unique enough. */
function newRolloutId(now: number): string {
  return `r${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}
