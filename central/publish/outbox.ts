// The grid-event outbox: everything central writes to Kafka (grid events and the hand-over state
// snapshots) goes through `publish`. Delivery is handled here and only here: requests are cut to
// the broker's size limit, a record too large even so is refused and counted, and the events of a
// failed publish are kept and sent first by the next one; the offset gate commits nothing while
// any wait (the correlator has absorbed the records that made them and would not make them again).
import { toGridwatchError, type GridEvent, type Logger } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';
import type { CentralMetrics } from '../metrics.ts';
import type { OutRecord, ProducerPort } from './producer.ts';

/** Uncompressed bytes per produce request (the broker refuses a record batch over message.max.bytes, 1 MB by default), and the largest single record (before gzip). */
export const MAX_REQUEST_BYTES = 512 * 1024;
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** Where the state snapshots of changed substations come from (substation ownership). */
export interface SnapshotSource {
  /** Snapshots of the substations changed since the last take. */
  takeSnapshots(): OutRecord[];
  /** Those snapshots were not written: take them again next time. */
  snapshotsFailed(substationIds: string[]): void;
}

export interface OutboxOptions {
  producer: ProducerPort;
  topics: { events: string; state: string };
  snapshots: SnapshotSource;
  metrics: Pick<CentralMetrics, 'events' | 'publish' | 'refused'>;
  logger: Logger;
  /** Each event once Kafka has it (event store, SSE, webhook). */
  onPublished: (e: GridEvent) => void;
  /** Applied to each new event before it is written (maintenance windows mark it planned). */
  prepare?: (e: GridEvent) => GridEvent;
  maxRequestBytes?: number;
  maxRecordBytes?: number;
}

export class GridEventOutbox implements Part {
  readonly name = 'grid-event outbox';
  /** Grid events a failed publish left behind, oldest first. */
  private unpublished: GridEvent[] = [];

  constructor(private readonly o: OutboxOptions) {}

  start(): Promise<void> {
    return this.o.producer.connect();
  }

  async stop(): Promise<void> {
    await this.o.producer.disconnect().catch((err: unknown) => this.o.logger.warn({ err }, 'producer disconnect failed'));
  }

  /** Grid events waiting for a publish to succeed. */
  get pending(): number {
    return this.unpublished.length;
  }

  /**
   * Produces the waiting events, then `fresh`, and the snapshots of changed substations. Never
   * throws: on failure the events and snapshots are kept for the next call, the error is logged
   * with `why`, and false is returned (at least once: a version may reach Kafka twice; readers
   * keep the highest version per eventId).
   */
  async publish(fresh: GridEvent[], why: string): Promise<boolean> {
    const prepare = this.o.prepare;
    const ready = prepare && fresh.length > 0 ? fresh.map((e) => prepare(e)) : fresh;
    const events = this.unpublished.length > 0 ? [...this.unpublished.splice(0), ...ready] : ready;
    const snapshots = this.o.snapshots.takeSnapshots();
    if (events.length === 0 && snapshots.length === 0) return true;
    try {
      await this.produce(events, snapshots);
    } catch (err) {
      this.unpublished = events.concat(this.unpublished);
      this.o.snapshots.snapshotsFailed(snapshots.map((s) => s.key));
      this.o.logger.error({ err: toGridwatchError(err, 'KAFKA_UNAVAILABLE', true), why, pending: this.unpublished.length, snapshots: snapshots.length }, 'publishing grid events failed; kept for the next attempt, offsets held');
      return false;
    }
    for (const e of events) {
      this.o.metrics.events.inc({ type: e.type, scope: e.scope, state: e.state });
      this.o.onPublished(e);
    }
    return true;
  }

  private async produce(events: GridEvent[], snapshots: OutRecord[]): Promise<void> {
    const { topics, metrics, logger } = this.o;
    const maxRequest = this.o.maxRequestBytes ?? MAX_REQUEST_BYTES;
    const maxRecord = this.o.maxRecordBytes ?? MAX_RECORD_BYTES;
    const all: { topic: string; key: string; value: string }[] = [
      ...events.map((e) => ({ topic: topics.events, key: e.substationId ?? 'grid', value: JSON.stringify(e) })),
      ...snapshots.map((s) => ({ topic: topics.state, key: s.key, value: s.value })),
    ];
    const end = metrics.publish.startTimer();
    let chunk: typeof all = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const byTopic = new Map<string, OutRecord[]>();
      for (const r of chunk) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push({ key: r.key, value: r.value });
      }
      chunk = [];
      bytes = 0;
      await this.o.producer.send([...byTopic].map(([topic, records]) => ({ topic, records })));
    };
    for (const r of all) {
      const size = r.value.length + r.key.length + 64;
      if (size > maxRecord) {
        metrics.refused.inc({ topic: r.topic });
        logger.error({ topic: r.topic, key: r.key, bytes: size }, 'record too large to publish; not sent');
        continue;
      }
      if (bytes + size > maxRequest) await flush();
      chunk.push(r);
      bytes += size;
    }
    await flush();
    end();
  }
}
