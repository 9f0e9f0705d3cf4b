// Grid events a failed publish leaves behind: kept, sent first by the next publish, and offsets
// are not committed while any wait (the correlator has absorbed the records that made them and
// would not make them again on a redelivery). The Kafka producer is replaced by a stub here; the
// real-Kafka paths are in test/central/*.int.test.ts.
import { describe, expect, it } from 'vitest';
import { CentralConfigSchema } from '../../../central/config.ts';
import { CentralPipeline } from '../../../central/pipeline.ts';
import { Metrics, loadConfig, silentLogger, type GridEvent } from '../../../shared/index.ts';
import { FakeCorrelator } from './fake-correlator.ts';

const event = (eventId: string): GridEvent => ({
  eventId,
  scope: 'transformer',
  rootId: 'T1',
  substationId: 'S01',
  type: 'sag',
  state: 'open',
  severity: 'minor',
  startTs: 1_700_000_000_000,
  endTs: null,
  affectedMeters: ['M1', 'M2', 'M3'],
  affectedCount: 3,
  version: 1,
  updatedAt: 1_700_000_000_000,
  summary: 'test',
});

interface Internals {
  producer: { sendBatch: (req: { topicMessages: { topic: string; messages: { value: string }[] }[] }) => Promise<unknown> };
  group: { commit: (offsets: unknown[]) => Promise<void> };
  processed: Map<string, { topic: string; partition: number; offset: string }>;
  publish(events: GridEvent[], why: string): Promise<void>;
}

function setup() {
  const config = loadConfig(CentralConfigSchema, { env: {}, overrides: { kafkaBrokers: ['127.0.0.1:1'], httpPort: 0 } });
  const metrics = new Metrics('central', { defaultMetrics: false });
  const pipeline = new CentralPipeline({ config, logger: silentLogger(), metrics, correlator: (o) => new FakeCorrelator(o) });
  const inner = pipeline as unknown as Internals;
  const sent: string[] = [];
  let failing = true;
  inner.producer.sendBatch = async (req) => {
    if (failing) throw Object.assign(new Error('broker unavailable'), { retriable: true });
    for (const t of req.topicMessages) for (const m of t.messages) if (t.topic === config.topicEvents) sent.push((JSON.parse(m.value) as GridEvent).eventId);
    return [];
  };
  const commits: unknown[][] = [];
  inner.group.commit = async (offsets) => void commits.push(offsets);
  return { pipeline, inner, metrics, sent, commits, heal: () => (failing = false) };
}

describe('central: grid events a failed publish left behind', () => {
  it('keeps them, holds the offsets, and sends them first once Kafka takes them', async () => {
    const { pipeline, inner, metrics, sent, commits, heal } = setup();
    await expect(inner.publish([event('e1')], 'anomalies')).rejects.toThrow('broker unavailable');
    await expect(inner.publish([event('e2')], 'tick')).rejects.toThrow('broker unavailable');
    expect(pipeline.health().details.unpublishedEvents).toBe(2);
    expect(await metrics.text()).toMatch(/gridwatch_central_events_unpublished(\{[^}]*\})? 2\n/);
    expect(pipeline.events.counts().open).toBe(0); // not shown as published

    // Offsets of processed records wait while the events are not in Kafka.
    inner.processed.set('t\u00000', { topic: 't', partition: 0, offset: '10' });
    await pipeline.commitDue(false);
    expect(commits).toEqual([]);

    heal();
    await pipeline.commitDue(false);
    expect(sent).toEqual(['e1', 'e2']);
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '10' }]]);
    expect(pipeline.health().details.unpublishedEvents).toBe(0);
    expect(pipeline.events.counts().open).toBe(2);

    await inner.publish([event('e3')], 'tick');
    expect(sent).toEqual(['e1', 'e2', 'e3']);
  });
});
