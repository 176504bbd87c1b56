// Events by topic: to every WatchEvents whose filter matches and to every READY worker subscribed to the topic.
import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../common/log.js';
import type { Event, EventFilter } from '../proto/types.js';
import type { WorkerConnection } from './connection.js';
import type { ConnectionRegistry } from './registry.js';
import type { StreamWriter } from './writer.js';

/** The router's own topic (WORKER_REGISTERED, WORKER_VERIFY_ERROR, WORKER_DISCONNECTED, QUEUE_FULL). */
export const ROUTER_TOPIC = 'router';
/** The admin's lifecycle topic. */
export const ADMIN_TOPIC = 'admin';

interface Watcher {
  topics: ReadonlySet<string>;
  events: ReadonlySet<string>;
  writer: StreamWriter<Event>;
}

/** The topics this host's watchers and subscribed workers want; `all` when a watcher takes every topic. */
export interface EventInterest {
  all: boolean;
  topics: Set<string>;
}

export class EventsHub {
  private readonly watchers = new Set<Watcher>();
  private droppedForWorkers = 0;
  /**
   * Told after a watcher came or went (the fleet follows what this host wants from other hosts); a promise returned
   * says when other hosts' events for it can reach this host.
   */
  private readonly watcherListeners: Array<() => void | Promise<void>> = [];
  /** In a fleet: this host's name (stamped on admin and router payloads) and where local events go to other hosts. */
  private fleet: { host: string; forward: (event: Event) => void } | undefined;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Registers a watcher: `unwatch` removes it. It gets this host's events from now on; `reaching` (in a fleet) resolves
   * once other hosts' events for it reach this host too (at once when the host followed its topics already).
   */
  watch(filter: EventFilter, writer: StreamWriter<Event>): { unwatch: () => void; reaching: Promise<void> | undefined } {
    const watcher: Watcher = { topics: new Set(filter.topics), events: new Set(filter.events), writer };
    this.watchers.add(watcher);
    const waits = this.watchersChanged();
    const unwatch = (): void => {
      if (this.watchers.delete(watcher)) void this.watchersChanged();
    };
    return { unwatch, reaching: waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined) };
  }

  /** Calls `listener` after a watcher came or went. */
  onWatchersChanged(listener: () => void | Promise<void>): void {
    this.watcherListeners.push(listener);
  }

  /** What this host's watchers and READY subscribed workers want now. */
  interest(): EventInterest {
    const topics = new Set(this.registry.subscribedTopics());
    let all = false;
    for (const watcher of this.watchers) {
      if (watcher.topics.size === 0) all = true;
      for (const topic of watcher.topics) topics.add(topic);
    }
    return { all, topics };
  }

  /** Tells the listeners; what they returned to wait for. */
  private watchersChanged(): Array<Promise<void>> {
    const waits: Array<Promise<void>> = [];
    for (const listener of this.watcherListeners) {
      const wait = listener();
      if (wait) waits.push(wait);
    }
    return waits;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Joins a fleet: events published here also go to `forward`; admin and router payloads say which host. */
  attachFleet(host: string, forward: (event: Event) => void): void {
    this.fleet = { host, forward };
  }

  /** Stamps what is missing (uuid, timestamp) and delivers; `from` (the emitter) does not get its own event back. */
  publish(input: Partial<Event> & { topic: string; event: string }, from?: WorkerConnection): Event {
    const event: Event = {
      uuid: input.uuid || randomUUID(),
      topic: input.topic,
      event: input.event,
      payload: this.fleet ? withHost(input, this.fleet.host) : (input.payload ?? ''),
      reference_uuid: input.reference_uuid ?? '',
      timestamp_ms: input.timestamp_ms || this.now(),
      source: input.source ?? '',
    };
    this.deliver(event, from);
    this.fleet?.forward(event);
    return event;
  }

  /** An event another host published: delivered here only. */
  deliverFromFleet(event: Event): void {
    this.deliver(event, undefined);
  }

  private deliver(event: Event, from: WorkerConnection | undefined): void {
    for (const watcher of this.watchers) {
      if (watcher.topics.size > 0 && !watcher.topics.has(event.topic)) continue;
      if (watcher.events.size > 0 && !watcher.events.has(event.event)) continue;
      if (!watcher.writer.offer(event)) this.dropWatcher(watcher);
    }
    for (const connection of this.registry.subscribers(event.topic)) {
      if (connection === from || connection.state !== 'READY') continue;
      if (!connection.writer.offer({ event })) this.dropForWorker(connection, event);
    }
  }

  /** An event of the router itself on topic `router`. */
  routerEvent(name: string, payload: Record<string, unknown>): Event {
    return this.publish({ topic: ROUTER_TOPIC, event: name, payload: JSON.stringify(payload), source: ROUTER_TOPIC });
  }

  /** Ends every watch stream with OK (router shutdown). */
  endAll(): void {
    for (const watcher of this.watchers) watcher.writer.end();
    this.watchers.clear();
    void this.watchersChanged();
  }

  private dropWatcher(watcher: Watcher): void {
    this.watchers.delete(watcher);
    void this.watchersChanged();
    if (watcher.writer.closed) return;
    this.logger.warn({ held: watcher.writer.buffered }, 'event watcher does not read fast enough: its stream is ended');
    watcher.writer.abort({ code: grpcStatus.RESOURCE_EXHAUSTED, details: `events are not read fast enough (${watcher.writer.buffered} waiting): watch again` });
  }

  private dropForWorker(connection: WorkerConnection, event: Event): void {
    this.droppedForWorkers += 1;
    if (this.droppedForWorkers === 1 || this.droppedForWorkers % 1000 === 0) {
      this.logger.warn({ worker: connection.name, topic: event.topic, event: event.event, dropped: this.droppedForWorkers }, 'worker does not read fast enough: event dropped');
    }
  }
}

/** The payload of an `admin` or `router` event with `host` added (other topics: as given). */
function withHost(input: Partial<Event> & { topic: string }, host: string): string {
  const text = input.payload ?? '';
  if (input.topic !== ADMIN_TOPIC && input.topic !== ROUTER_TOPIC) return text;
  try {
    const value: unknown = text.trim() === '' ? {} : JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return text;
    return JSON.stringify({ ...(value as Record<string, unknown>), host });
  } catch {
    return text;
  }
}
