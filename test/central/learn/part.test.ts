import { describe, expect, it } from 'vitest';
import { LearnedPart } from '../../../central/learn/part.ts';
import { DEFAULT_MODEL_DIR, loadModelDir } from '../../../central/learn/model-file.ts';
import type { OutRecord, ProducerPort } from '../../../central/publish/producer.ts';
import { Metrics, silentLogger, type Anomaly } from '../../../shared/index.ts';

// The part's own logic (the scorer has its tests in scorer.test.ts; Kafka in central.int.test.ts):
// what it refuses, and that an anomaly Kafka does not take is kept and sent on the next flush.
function producer(failures: number): ProducerPort & { sent: OutRecord[] } {
  const sent: OutRecord[] = [];
  let left = failures;
  return {
    sent,
    connect: async () => {},
    disconnect: async () => {},
    send: async (t) => {
      if (left-- > 0) throw new Error('broker not available');
      sent.push(...t[0]!.records);
    },
  };
}

const version = loadModelDir(DEFAULT_MODEL_DIR).manifest.version;
const anomaly = (meterId: string): Anomaly => ({ anomalyId: `learned:${version.slice(0, 12)}:${meterId}:1`, edgeId: 'central', meterId, substationId: 'sub-01', feederId: 'f1', transformerId: 't1', type: 'pattern', channel: 'none', state: 'open', severity: 'minor', startTs: 1, endTs: null, observed: 0.9, baseline: 0.5, detectedAt: 2, score: 0.9, threshold: 0.5, modelVersion: version });

describe('LearnedPart', () => {
  it('counts values that are not readings; keeps anomalies Kafka refused and produces them on the next flush, keyed by substation', async () => {
    const p = producer(1);
    const part = new LearnedPart({ modelDir: DEFAULT_MODEL_DIR, anomaliesTopic: 'x.grid.anomalies', producer: p, instanceId: 'test', logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), flushMs: 60_000 });
    await part.start();
    part.onReading('not json');
    part.onReading('{"meterId": 3}');
    part.onReading(JSON.stringify({ meterId: 'm1', ts: 1_000, voltage: Number.NaN }));
    expect(part.counters.invalid).toBe(2);
    expect(part.scorer.counters.bad).toBe(1);
    part.produce(anomaly('m1'));
    part.produce({ ...anomaly('m2'), score: Number.NaN, modelVersion: 'not-a-sha' });
    await part.flush();
    expect(p.sent).toEqual([]);
    expect(part.counters.produceFailures).toBe(1);
    await part.flush();
    expect(p.sent.map((r) => r.key)).toEqual(['sub-01']);
    expect(JSON.parse(p.sent[0]!.value)).toMatchObject({ meterId: 'm1', type: 'pattern', modelVersion: version });
    expect(part.counters).toMatchObject({ invalid: 3, produced: 1 });
    await part.stop(Date.now() + 1000);
  });
});
