// A fleet as GET /api/v1/fleet serves it, built by hand for the page and `fleet status` tests: three hosts (host-b
// coordinates and drains, host-c is lost), utils/echo half-way from 1.1 to 1.2, the last mail/smtp rollout rolled back.
import type { FleetStatus } from '../../src/fleet/host.js';
import { pendingInstance } from '../../src/fleet/rollout/machine.js';
import type { RolloutInstance, RolloutRecord } from '../../src/fleet/rollout/types.js';

const T0 = Date.UTC(2030, 0, 1, 10, 0, 0);

const ECHO = 'utils/echo';
const moved = (host: string, from: string, to: string, state: RolloutInstance['state']): RolloutInstance => ({ ...pendingInstance(host, from, to), state });
const instance = (n: number, version: string, state = 'READY'): FleetStatus['hosts'][number]['instances'][number] =>
  ({ identifier: `utils-echo-1-${n}`, version, product: ECHO, state });

/** utils/echo 1.1 → 1.2: the canary done, batch 1 moving (1-3 not yet healthy), batch 2 waiting. */
export function echoRollout(): RolloutRecord {
  return {
    id: 'r-echo-12', product: ECHO, from: '1.1', to: '1.2', state: 'BATCH', pausedFrom: null, trigger: 'command',
    canary: 1, maxParallel: 2, minHealthyMs: 10_000,
    batches: [['utils-echo-1-1'], ['utils-echo-1-2', 'utils-echo-1-3'], ['utils-echo-1-4', 'utils-echo-1-5']],
    batch: 1,
    instances: {
      'utils-echo-1-1': moved('host-a', '1.1', '1.2', 'healthy'),
      'utils-echo-1-2': moved('host-a', '1.1', '1.2', 'healthy'),
      'utils-echo-1-3': moved('host-b', '1.1', '1.2', 'moving'),
      'utils-echo-1-4': moved('host-b', '1.1', '1.2', 'pending'),
      'utils-echo-1-5': moved('host-a', '1.1', '1.2', 'pending'),
    },
    requests: ['req-1'], reason: null, host: null, cause: null, batchStartedAt: T0 + 120_000, term: '7', startedAt: T0 + 60_000, endedAt: null,
  };
}

/** mail/smtp 2.0 → 2.1, rolled back after its canary failed on host-c. */
function smtpRollout(): RolloutRecord {
  return {
    id: 'r-smtp-21', product: 'mail/smtp', from: '2.0', to: '2.1', state: 'ROLLED_BACK', pausedFrom: null, trigger: 'auto',
    canary: 1, maxParallel: 1, minHealthyMs: 10_000, batches: [['mail-smtp-2-1'], ['mail-smtp-2-2']], batch: 0,
    instances: {
      'mail-smtp-2-1': moved('host-c', '2.0', '2.1', 'reverted'),
      'mail-smtp-2-2': moved('host-c', '2.0', '2.1', 'pending'),
    },
    requests: [], reason: 'mail-smtp-2-1 FAILED: CONFIG_INVALID: port', host: 'host-c', cause: 'failure', batchStartedAt: T0 - 3_300_000, term: '5',
    startedAt: T0 - 3_600_000, endedAt: T0 - 3_000_000,
  };
}

export function fleetStatus(): FleetStatus {
  const addresses = (n: number): { router: string; ops: string } => ({ router: `10.0.0.${n}:50051`, ops: `10.0.0.${n}:8071` });
  return {
    host: 'host-a', state: 'LIVE', incarnation: '694d8f2a11c0', engines: { nats: 'connected', etcd: 'reachable' },
    coordinator: { host: 'host-b', since: T0 },
    hosts: [
      { name: 'host-a', status: 'live', incarnation: '694d8f2a11c0', labels: { zone: 'eu-1' }, addresses: addresses(11), version: '0.1.0',
        instances: [instance(1, '1.2'), instance(2, '1.2'), instance(5, '1.1')], cordon: null, capacity: null },
      { name: 'host-b', status: 'live', incarnation: '694d8f2a11d7', labels: { zone: 'eu-1', disk: 'ssd' }, addresses: addresses(12), version: '0.1.0',
        instances: [instance(3, '1.2', 'STARTING'), instance(3, '1.1'), instance(4, '1.1')], cordon: 'drain', capacity: 4 },
      { name: 'host-c', status: 'lost', incarnation: '694d8f2a11e3', labels: { zone: 'eu-2' }, addresses: addresses(13), version: '0.1.0',
        instances: [], cordon: null, capacity: 2 },
    ],
    counters: { inboundServed: 12, outboundSent: 40 },
    desired: [
      { product: ECHO, instances: 6, running: 5, versions: { '1.1': 3, '1.2': 2 }, missing: '1 of 6 utils/echo: no live host matches {zone: eu-1} with room' },
      { product: 'mail/smtp', instances: 2, running: 0, versions: {}, missing: '2 of 2 mail/smtp: no live host matches {zone: eu-2}' },
    ],
    rollouts: [smtpRollout(), echoRollout()],
  };
}
