// NATS subjects of a fleet (docs/fleet.md): one per host for commands, one inbox per host process, events, heartbeats.

export const PROTOCOL = 1;

export interface Subjects {
  /** Commands for `host`'s workers (or its admin), one message each. */
  commands(host: string): string;
  /** Batches of commands for `host` (from hosts whose record says `batching`). */
  commandBatches(host: string): string;
  /** Where answers for commands sent by `host`'s process `inbox` arrive: `.ID` one each, `.batch.answers` batches. */
  inboxBase(host: string, inbox: string): string;
  /** Every event published on any host, one message each (to and from hosts that predate batches). */
  readonly events: string;
  /** Batches of events of `topic` (a host subscribes to the topics its watchers and workers want). */
  topic(topic: string): string;
  /** Batches of events of every topic. */
  readonly allTopics: string;
  /** Every host's sign of life. */
  readonly heartbeat: string;
}

/** Subjects under `prefix` (the dotted form of fleet.prefix). */
export function subjects(prefix: string): Subjects {
  const base = `${prefix}.v${PROTOCOL}`;
  return {
    commands: (host) => `${base}.host.${host}.cmd`,
    commandBatches: (host) => `${base}.host.${host}.cmds`,
    inboxBase: (host, inbox) => `${base}.inbox.${host}.${inbox}`,
    events: `${base}.events`,
    // a topic may hold dots (token separators): `~` never occurs in one
    topic: (topic) => `${base}.topic.${topic.replaceAll('.', '~')}`,
    allTopics: `${base}.topic.>`,
    heartbeat: `${base}.heartbeat`,
  };
}
