// Learned scoring inside central, through the real Kafka: simulated readings of a small grid go to
// grid.readings, central's learned scorer (the shipped model, in its worker thread) scores their
// windows, and the `pattern` anomaly it opens for an abnormal night load comes back through
// grid.anomalies (valid v1, with score, threshold and model version), into the API like any other.
// One partition: the feature windows close on event time, so the test keeps the readings in order.
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../../central/aggregator.ts';
import { DEFAULT_MODEL_DIR, loadModelDir } from '../../../central/learn/model-file.ts';
import { Metrics, silentLogger, validators, type Anomaly } from '../../../shared/index.ts';
import { topicNames } from '../../../shared/kafka/index.ts';
import { createSimulation } from '../../../simulator/generate.ts';
import { generateTopology } from '../../../simulator/topology.ts';
import { uniqueName } from '../../harness/env.ts';
import { apiTokens, kafka, testConfig as config, waitFor } from '../consume/helpers.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('learned scoring in central (real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('an abnormal night load becomes a pattern anomaly on grid.anomalies, with score, threshold and model version, listed by the API', async () => {
    const c = config('central-learned');
    const t = topicNames(c);
    const aggregator = new Aggregator({ config: c, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), topicPartitions: 1 });
    cleanup.push(() => aggregator.stop());
    await aggregator.start();
    expect(aggregator.learned).not.toBeNull();
    const { manifest } = loadModelDir(DEFAULT_MODEL_DIR);

    // 30 meters, day 1 healthy (the hour-of-day baselines), a constant heavy night load on one
    // meter from midnight of day 2.
    const topo = generateTopology({ meters: 30, seed: 501, profile: 'eu', substations: 1, readingIntervalMs: 60_000 });
    const from = Date.UTC(2026, 10, 1);
    const target = topo.actual[6]!.meterId;
    const sim = createSimulation({ topology: topo.actual, faults: [{ type: 'load_profile', target, start: DAY, duration: 5 * HOUR }] as never, from, to: from + DAY + 3 * HOUR, intervalMs: 60_000, seed: 501 });
    const where = new Map(topo.actual.map((e) => [e.meterId, e]));

    const k = kafka();
    const p = k.producer({ allowAutoTopicCreation: false });
    await p.connect();
    cleanup.push(() => p.disconnect());
    const seen: Anomaly[] = [];
    const reader = k.consumer({ groupId: uniqueName('learned-reader'), maxWaitTimeInMs: 100 });
    await reader.connect();
    cleanup.push(() => reader.disconnect());
    await reader.subscribe({ topic: t.anomalies, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(JSON.parse(String(message.value)) as Anomaly) });

    let batch: { key: string; value: string }[] = [];
    let seq = 0;
    const send = async () => {
      if (batch.length > 0) await p.send({ topic: t.readings, messages: batch, acks: 1 });
      batch = [];
    };
    // One record that is no reading: counted, never a crash.
    batch.push({ key: 'm-bad', value: '{"not":"a reading"}' });
    for (const item of sim.items()) {
      if (item.kind !== 'reading') continue;
      const e = where.get(item.meterId)!;
      const ts = item.reading.ts as number;
      batch.push({ key: item.meterId, value: JSON.stringify({ ...item.reading, readingId: `${item.meterId}:${++seq}`, seq, edgeId: 'edge-sub-01', substationId: e.substationId, feederId: e.feederId, transformerId: e.transformerId, receivedAt: ts }) });
      if (batch.length >= 1000) await send();
    }
    await send();

    await waitFor(() => seen.some((a) => a.meterId === target && a.type === 'pattern' && a.state === 'open'), 180_000, 'the learned anomaly of the night load');
    const opened = seen.filter((a) => a.type === 'pattern' && a.state === 'open');
    for (const a of opened) {
      expect(validators.anomaly.check(a)).toBe(true);
      expect(a).toMatchObject({ edgeId: 'central', channel: 'none', threshold: manifest.threshold, modelVersion: manifest.version, substationId: 'sub-01' });
      expect(a.score!).toBeGreaterThan(manifest.threshold);
    }
    // The night load starts at midnight of day 2; the anomaly opens on its first windows.
    const mine = opened.find((a) => a.meterId === target)!;
    expect(mine.startTs).toBeGreaterThanOrEqual(from + DAY);
    expect(mine.startTs).toBeLessThan(from + DAY + HOUR);
    // No flood: at most one other meter of 30 with a finding over the 27 hours.
    expect(new Set(opened.map((a) => a.meterId)).size).toBeLessThanOrEqual(2);

    // The API lists it (central reads grid.anomalies back like an edge's), and the metrics count it.
    const base = `http://127.0.0.1:${aggregator.httpPort}`;
    await waitFor(async () => {
      const res = await fetch(`${base}/api/anomalies?meter=${target}&type=pattern`, { headers: apiTokens.headers() });
      const body = (await res.json()) as { anomalies: Anomaly[] };
      return body.anomalies.some((a) => a.anomalyId === mine.anomalyId);
    }, 20_000, 'the API anomaly');
    const metrics = await (await fetch(`${base}/metrics`, { headers: apiTokens.headers() })).text();
    const v = manifest.version.slice(0, 12);
    expect(metrics).toMatch(new RegExp(`gridwatch_learned_windows_scored_total\\{model_version="${v}"[^}]*\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`gridwatch_learned_anomalies_total\\{model_version="${v}",state="open"[^}]*\\} [1-9]`));
    expect(metrics).toMatch(/gridwatch_learned_inference_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/gridwatch_learned_windows_skipped\{reason="invalid"[^}]*\} 1/);
    expect(aggregator.learned!.counters.produceFailures).toBe(0);
    expect(aggregator.learned!.scorer.counters).toMatchObject({ inferenceFailures: 0, bad: 0 });
  }, 240_000);

  it('learnedScoring off: no scorer; a model directory that is refused stops central at start with the reason', async () => {
    const off = new Aggregator({ config: config('central-learned-off', { learnedScoring: 'off' }), logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), topicPartitions: 1 });
    expect(off.learned).toBeNull();
    const bad = new Aggregator({ config: config('central-learned-bad', { learnedModelDir: '/nonexistent/model' }), logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), topicPartitions: 1 });
    await expect(bad.start()).rejects.toThrow(/model \/nonexistent\/model: cannot read manifest\.json/);
  }, 60_000);
});
