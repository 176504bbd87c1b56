// NATS subjects of a fleet (docs/fleet.md): one per host for commands, one inbox per host incarnation, one for events.

export const PROTOCOL = 1;

export interface Subjects {
  /** Commands for `host`'s workers (or its admin). */
  commands(host: string): string;
  /** Where answers for this incarnation's commands arrive; `id` names one command. */
  inbox(host: string, incarnation: string, id?: string): string;
  /** Every event published on any host. */
  readonly events: string;
}

/** Subjects under `prefix` (the dotted form of fleet.prefix). */
export function subjects(prefix: string): Subjects {
  const base = `${prefix}.v${PROTOCOL}`;
  return {
    commands: (host) => `${base}.host.${host}.cmd`,
    inbox: (host, incarnation, id) => (id === undefined ? `${base}.inbox.${host}.${incarnation}.>` : `${base}.inbox.${host}.${incarnation}.${id}`),
    events: `${base}.events`,
  };
}
