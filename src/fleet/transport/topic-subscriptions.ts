// The event topics a host subscribes to: those its watchers and subscribed workers want, plus every topic while a
// watcher takes them all. The server then sends a host only the events someone there wants (docs/fleet.md, events).
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Event } from '../../proto/types.js';
import type { EventInterest } from '../../router/events-hub.js';
import type { Subjects } from './subjects.js';

/** An event that came through both a topic's subscription and the every-topic one is dropped the second time. */
const SEEN_MS = 5000;

export class TopicSubscriptions {
  private all: Subscription | undefined;
  private readonly byTopic = new Map<string, Subscription>();
  /** Uuids of events that came once and may come again through the other subscription, with when to forget them. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly onMessage: (msg: Msg) => void,
    private readonly now: () => number,
  ) {}

  /** Subscribes to what `interest` names, and unsubscribes from what it no longer names; true when it subscribed to more. */
  follow(interest: EventInterest): boolean {
    let added = false;
    // new subscriptions first: an event is never in a gap between two of them
    if (interest.all && this.all === undefined) {
      this.all = this.subscribe(this.subjects.allTopics);
      added = true;
    }
    for (const topic of interest.topics) {
      if (this.byTopic.has(topic)) continue;
      this.byTopic.set(topic, this.subscribe(this.subjects.topic(topic)));
      added = true;
    }
    for (const [topic, sub] of this.byTopic) {
      if (interest.topics.has(topic)) continue;
      sub.unsubscribe();
      this.byTopic.delete(topic);
    }
    if (!interest.all && this.all !== undefined) {
      this.all.unsubscribe();
      this.all = undefined;
    }
    return added;
  }

  /** True for the second copy of an event that both the every-topic and its topic's subscription received. */
  duplicate(event: Event): boolean {
    const key = `${event.uuid} ${event.timestamp_ms}`;
    if (this.seen.size > 0) {
      if (this.seen.delete(key)) return true;
      const now = this.now();
      // in arrival order, the oldest first: a copy that never comes again is forgotten
      for (const [seenKey, until] of this.seen) {
        if (until > now) break;
        this.seen.delete(seenKey);
      }
    }
    if (this.all !== undefined && this.byTopic.has(event.topic)) this.seen.set(key, this.now() + SEEN_MS);
    return false;
  }

  close(): void {
    this.all?.unsubscribe();
    for (const sub of this.byTopic.values()) sub.unsubscribe();
    this.all = undefined;
    this.byTopic.clear();
  }

  private subscribe(subject: string): Subscription {
    return this.nc.subscribe(subject, { callback: (_error, msg) => this.onMessage(msg) });
  }
}
