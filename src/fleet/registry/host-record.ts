// The record a host keeps under its lease at K/hosts/HOST (docs/fleet.md): who it is and what it serves and declares.
import type { WorkerInfo } from '../../proto/types.js';

export interface ServedInstance {
  identifier: string;
  version: string;
  /** `type/product` */
  product: string;
  major: string;
  commands: string[];
}

export interface InstanceState {
  identifier: string;
  version: string;
  product: string;
  state: string;
}

export interface HostRecord {
  name: string;
  incarnation: string;
  /** The token of this process's inbox subject (kept across re-registrations). */
  inbox: string;
  protocol: number;
  /** It takes batch messages (several commands, answers or events in one NATS message); absent on older hosts. */
  batching?: boolean;
  labels: Record<string, string>;
  capacity: number | null;
  addresses: { router: string; ops: string };
  version: string;
  startedAt: number;
  state: 'live' | 'leaving';
  instances: InstanceState[];
  /** READY instances other hosts may send commands to. */
  serves: ServedInstance[];
  /** Products this host runs or expects, with their commands (known commands, ambiguity). */
  declares: Array<{ product: string; commands: string[] }>;
}

/** What a host serves and declares, from its router's connections and its expectations. */
export function localView(
  workers: WorkerInfo[],
  expected: Array<{ product: string; commands: string[] }>,
): Pick<HostRecord, 'instances' | 'serves' | 'declares'> {
  const instances: InstanceState[] = [];
  const serves: ServedInstance[] = [];
  const declares = new Map<string, Set<string>>();
  const declare = (product: string, commands: string[]): void => {
    const set = declares.get(product) ?? new Set<string>();
    for (const c of commands) set.add(c);
    declares.set(product, set);
  };
  for (const w of workers) {
    if (w.admin) continue;
    const product = `${w.type}/${w.product}`;
    instances.push({ identifier: w.identifier, version: w.version, product, state: w.state });
    if (w.state === 'READY') serves.push({ identifier: w.identifier, version: w.version, product, major: w.version.split('.')[0] ?? '', commands: [...w.commands].sort() });
    declare(product, w.commands);
  }
  for (const e of expected) declare(e.product, e.commands);
  return {
    instances: instances.sort((a, b) => `${a.identifier}@${a.version}`.localeCompare(`${b.identifier}@${b.version}`)),
    serves: serves.sort((a, b) => `${a.identifier}@${a.version}`.localeCompare(`${b.identifier}@${b.version}`)),
    declares: [...declares].sort(([a], [b]) => a.localeCompare(b)).map(([product, commands]) => ({ product, commands: [...commands].sort() })),
  };
}

/** A record read from etcd, or undefined when it is not one (a foreign or broken value is ignored). */
export function parseHostRecord(text: string): HostRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<HostRecord>;
    if (typeof value.name !== 'string' || typeof value.incarnation !== 'string' || typeof value.inbox !== 'string') return undefined;
    return {
      name: value.name,
      incarnation: value.incarnation,
      inbox: value.inbox,
      protocol: typeof value.protocol === 'number' ? value.protocol : 0,
      batching: value.batching === true,
      labels: value.labels ?? {},
      capacity: value.capacity ?? null,
      addresses: value.addresses ?? { router: '', ops: '' },
      version: value.version ?? '',
      startedAt: value.startedAt ?? 0,
      state: value.state === 'leaving' ? 'leaving' : 'live',
      instances: Array.isArray(value.instances) ? value.instances : [],
      serves: Array.isArray(value.serves) ? value.serves : [],
      declares: Array.isArray(value.declares) ? value.declares : [],
    };
  } catch {
    return undefined;
  }
}
