// The model registry against the real MinIO and the real Kafka (SASL_SSL as the harness gives):
// two central instances follow grid.models; `gridwatch models` uploads to the bucket and writes
// the record; both switch within seconds without a restart. A shadow scores beside the active
// model and opens nothing; a corrupt file is refused (logged, counted) while the old version keeps
// serving; rollback goes back.
//
// Readings go straight into the learned part's entry point (what the group consumer calls with
// each grid.readings value): the Kafka path of readings and anomalies is central.int.test.ts's,
// here the subject is which model scores them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../../central/aggregator.ts';
import { DEFAULT_MODEL_DIR, loadModelDir } from '../../../central/learn/model-file.ts';
import { promote } from '../../../central/learn/registry-record.ts';
import { ModelStore } from '../../../central/learn/registry-store.ts';
import { run as models, readRecord, writeRecord } from '../../../cli/models.ts';
import { main } from '../../../cli/main.ts';
import { GridwatchError, Metrics, silentLogger, type Anomaly } from '../../../shared/index.ts';
import { modelsTopic } from '../../../shared/kafka/index.ts';
import { createSimulation } from '../../../simulator/generate.ts';
import { generateTopology } from '../../../simulator/topology.ts';
import { uniqueName } from '../../harness/env.ts';
import { kafka, testConfig, waitFor } from '../consume/helpers.ts';
import { variantModel } from './registry-helpers.ts';

const HOUR = 3_600_000;

/** What a CLI command prints (console.log), once it exited 0. */
async function capture(f: () => Promise<number>): Promise<string> {
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logged.push(a.join(' '));
  try {
    expect(await f()).toBe(0);
  } finally {
    console.log = log;
  }
  return logged.join('\n');
}
const tmp = mkdtempSync(join(tmpdir(), 'gw-registry-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('model registry (real MinIO, real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('upload, shadow, promote, a corrupt version refused while the old one serves, rollback, canary: both instances switch within seconds', async () => {
    const s3 = { s3Endpoint: process.env.GRIDWATCH_S3_ENDPOINT!, s3AccessKey: process.env.GRIDWATCH_S3_ACCESS_KEY!, s3SecretKey: process.env.GRIDWATCH_S3_SECRET_KEY! };
    const modelsBucket = uniqueName('models');
    const c = testConfig('central-registry', { ...s3, modelsBucket, s3Bucket: uniqueName('archive') });
    const env = { ...process.env, GRIDWATCH_KAFKA_TOPIC_PREFIX: c.kafkaTopicPrefix, GRIDWATCH_MODELS_BUCKET: modelsBucket, GRIDWATCH_CENTRAL_GROUP: c.centralGroup };
    const topic = modelsTopic(c);
    const shipped = loadModelDir(DEFAULT_MODEL_DIR).manifest.version;

    const produced: Anomaly[] = [];
    const start = async () => {
      const a = new Aggregator({ config: c, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), topicPartitions: 1 });
      cleanup.push(() => a.stop());
      await a.start();
      // Every anomaly the instance's learned part queues for grid.anomalies.
      const part = a.learned!;
      const produce = part.produce.bind(part);
      part.produce = (x: Anomaly) => {
        produced.push(x);
        produce(x);
      };
      return a;
    };
    const [x, y] = await Promise.all([start(), start()]);
    // No record on the topic: the shipped model serves.
    expect(x.modelRegistry!.record.active).toBe('default');
    expect(x.learned!.scorer.version).toBe(shipped);
    expect(y.learned!.scorer.version).toBe(shipped);

    // 30 meters, readings fed in order, a few hours at a time.
    const topo = generateTopology({ meters: 30, seed: 611, profile: 'eu', substations: 1, readingIntervalMs: 60_000 });
    const from = Date.UTC(2026, 10, 1);
    const sim = createSimulation({ topology: topo.actual, faults: [], from, to: from + 12 * HOUR, intervalMs: 60_000, seed: 611 });
    const where = new Map(topo.actual.map((e) => [e.meterId, e]));
    const items = [...sim.items()].filter((i) => i.kind === 'reading');
    let at = 0;
    const feed = async (hours: number) => {
      const end = Math.min(items.length, at + hours * 60 * 30);
      for (; at < end; at++) {
        const item = items[at]!;
        if (item.kind !== 'reading') continue;
        const e = where.get(item.meterId)!;
        x.learned!.onReading(JSON.stringify({ ...item.reading, readingId: `r${at}`, seq: at, edgeId: 'edge-sub-01', substationId: e.substationId, feederId: e.feederId, transformerId: e.transformerId, receivedAt: item.reading.ts }));
      }
      await x.learned!.scorer.flush();
    };

    // B: the shipped model with every window over its threshold (it opens an anomaly per meter), with reference bins.
    const b = variantModel(join(tmp, 'b'), 1, { threshold: -1 });
    expect(await models(['upload', b.dir], env)).toBe(0);
    // Shadow: B scores every window beside the active model, opens nothing, and is compared.
    expect(await models(['shadow', b.version.slice(0, 12)], env)).toBe(0);
    await waitFor(() => [x, y].every((a) => a.learned!.scorer.models.some((m) => m.role === 'shadow' && m.version === b.version)), 15_000, 'both instances shadowing B');
    await feed(2);
    const cmp = x.learned!.scorer.comparisons.find((k) => k.version === b.version)!;
    expect(cmp.role).toBe('shadow');
    expect(cmp.windows).toBeGreaterThan(200);
    expect(cmp.candidateOnly).toBeGreaterThan(0);
    expect(cmp.opens).toBeGreaterThan(0); // it would have opened them
    expect(produced.filter((a) => a.modelVersion === b.version)).toEqual([]);
    // The comparison goes to the bucket (every 15 s; written now), where `models list` shows it.
    await (x.modelRegistry as unknown as { writeComparisons(): Promise<void> }).writeComparisons();
    const listed = await capture(() => models(['list', '--json'], env));
    const shadowRow = (JSON.parse(listed) as { models: { version: string; roles: string; comparison: { windows: number; candidateOnly: number; instances: number } | null }[] }).models.find((m) => m.version === b.version)!;
    expect(shadowRow.roles).toBe('shadow');
    // Summed over instances: y scored nothing (its readings are x's), so the sums are x's.
    expect(shadowRow.comparison).toMatchObject({ windows: cmp.windows, candidateOnly: cmp.candidateOnly });
    const metricsText = (a: Aggregator) => a.metrics.text();
    expect(await metricsText(x)).toMatch(new RegExp(`gridwatch_learned_windows_scored_total\\{model_version="${b.version.slice(0, 12)}"[^}]*\\} [1-9]`));
    expect(await metricsText(x)).toMatch(new RegExp(`gridwatch_learned_model_role\\{model_version="${b.version.slice(0, 12)}",role="shadow"[^}]*\\} 1`));

    // Promote: both instances switch without a restart, within seconds.
    const t0 = Date.now();
    expect(await models(['promote', b.version], env)).toBe(0);
    await waitFor(() => [x, y].every((a) => a.learned!.scorer.version === b.version), 15_000, 'both instances on B');
    const switchMs = Date.now() - t0;
    console.log(`registry: promote to both instances switched in ${switchMs} ms`);
    expect(switchMs).toBeLessThan(10_000);
    expect(x.learned!.scorer.models.map((m) => m.role)).toEqual(['active']); // B left the shadow role
    await feed(1);
    expect(produced.filter((a) => a.modelVersion === b.version && a.state === 'open').length).toBeGreaterThanOrEqual(25);

    // The list shows the record and the two versions.
    expect(await capture(() => models(['list'], env))).toMatch(new RegExp(`active ${b.version.slice(0, 12)}, shadow -`));

    // C: a valid upload whose file is then corrupted in the bucket. The CLI refuses to name it
    // (a configuration error: exit 78 through main); a record naming it anyway is refused by
    // central, logged and counted, and B keeps serving.
    const cm = variantModel(join(tmp, 'c'), 2, { threshold: 0.3 });
    expect(await models(['upload', cm.dir], env)).toBe(0);
    const store = ModelStore.fromSettings({ ...s3, modelsBucket }, silentLogger());
    const corrupt = Buffer.from(cm.bytes);
    corrupt[100] = corrupt[100]! ^ 0xff;
    await store.putFiles(cm.manifest, corrupt);
    await expect(models(['promote', cm.version], env)).rejects.toThrow(GridwatchError);
    await expect(models(['promote', cm.version], env)).rejects.toThrow(/sha256 .* refused/);
    const k = kafka();
    await writeRecord(k, topic, promote(await readRecord(k, topic), cm.version, Date.now()));
    await waitFor(() => [x, y].every((a) => a.modelRegistry!.counters.refused >= 1), 15_000, 'both instances refusing C');
    expect(x.modelRegistry!.lastRefusal).toMatchObject({ version: cm.version, reason: 'sha256' });
    expect(x.learned!.scorer.version).toBe(b.version);
    expect(await metricsText(x)).toMatch(new RegExp(`gridwatch_learned_model_refusals_total\\{model_version="${cm.version.slice(0, 12)}",reason="sha256"[^}]*\\} 1`));
    const scoredBefore = x.learned!.scorer.counters.scored;
    await feed(1);
    expect(x.learned!.scorer.counters.scored).toBeGreaterThan(scoredBefore); // B still scores

    // Rollback from the refused C goes back to B (history), again to the shipped model.
    expect(await models(['rollback'], env)).toBe(0);
    await waitFor(() => [x, y].every((a) => a.modelRegistry!.record.active === b.version), 15_000, 'record back on B');
    expect(await models(['rollback'], env)).toBe(0);
    await waitFor(() => [x, y].every((a) => a.learned!.scorer.version === shipped), 15_000, 'both instances back on the shipped model');
    // B's open anomalies were closed when it stopped judging their meters.
    const openB = new Set(produced.filter((a) => a.modelVersion === b.version && a.state === 'open').map((a) => a.anomalyId));
    const closedB = new Set(produced.filter((a) => a.modelVersion === b.version && a.state === 'closed').map((a) => a.anomalyId));
    expect([...openB].every((id) => closedB.has(id))).toBe(true);
    // Canary: B judges sub-01 (every meter of this grid) instead of the active model.
    const before = produced.length;
    expect(await models(['canary', b.version.slice(0, 12), '--substations', 'sub-01'], env)).toBe(0);
    await waitFor(() => [x, y].every((a) => a.learned!.scorer.models.some((m) => m.role === 'canary' && m.version === b.version)), 15_000, 'both instances with canary B');
    await feed(1);
    const canaryOpens = produced.slice(before).filter((a) => a.state === 'open');
    expect(canaryOpens.length).toBeGreaterThanOrEqual(25);
    expect(canaryOpens.every((a) => a.modelVersion === b.version)).toBe(true);
    expect(x.learned!.scorer.comparisons.find((k) => k.version === b.version)).toMatchObject({ role: 'canary', opens: canaryOpens.length });
    await expect(models(['rollback'], env)).rejects.toThrow(/nothing to roll back to/);
    // main maps a configuration error to exit 78 like every command.
    expect(await main(['models', 'promote', 'not-a-version'])).toBe(78);
  }, 120_000);
});
