import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, Metrics, silentLogger } from '../../shared/index.ts';
import { loadEdgeConfig } from '../../edge/config.ts';
import { EdgeGateway } from '../../edge/gateway.ts';
import { offlineEdgeEnv } from './offline-env.ts';

// The pipeline's restore path with the dropout rule of edge/detect/README.md: readings committed,
// the gateway stopped for an hour, started again from the same data directory. No Kafka is needed
// (nothing listens on the configured broker; the outbox keeps everything).
const ANON = { kind: 'anonymous' as const, id: 'anonymous' };
const HOUR = 3_600_000;
const INTERVAL = 5_000;

function config(dataDir: string) {
  return loadEdgeConfig({
    env: offlineEdgeEnv(dataDir, {
      GRIDWATCH_DEFAULT_READING_INTERVAL_MS: String(INTERVAL),
      GRIDWATCH_DETECT_TICK_MS: '3600000', // the test ticks the detector itself
    }),
  });
}

async function start(dataDir: string, clock: ManualClock): Promise<EdgeGateway> {
  const gateway = new EdgeGateway({ config: config(dataDir), logger: silentLogger(), metrics: new Metrics('edge', { defaultMetrics: false }), clock });
  await gateway.start();
  return gateway;
}

function publish(p: EdgeGateway, meterId: string, seq: number, ts: number): Promise<void> {
  const payload = Buffer.from(JSON.stringify({ meterId, seq, ts, voltage: 230 }));
  return new Promise((resolve, reject) => p.intake.onPublish(ANON, 'c-1', `meters/${meterId}/reading`, payload, (err) => (err ? reject(err) : resolve())));
}

function publishEvent(p: EdgeGateway, meterId: string, ts: number): Promise<void> {
  const payload = Buffer.from(JSON.stringify({ meterId, ts, type: 'clock_set' }));
  return new Promise((resolve, reject) => p.intake.onPublish(ANON, 'c-1', `meters/${meterId}/event`, payload, (err) => (err ? reject(err) : resolve())));
}

describe('edge pipeline restart after a long stop', () => {
  it('restores the detector without a dropout storm; a meter still silent after the restart raises dropout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridwatch-edge-restart-'));
    const t0 = Date.now() - 2 * HOUR;
    const clock = new ManualClock(t0);
    const first = await start(dir, clock);
    for (let i = 0; i < 5; i++) {
      clock.set(t0 + i * INTERVAL);
      for (const m of ['a', 'b', 'c']) await publish(first, m, i, t0 + i * INTERVAL);
    }
    // An event checkpoints its meter (edge/README.md), so no reading of theirs is left to replay:
    // the detector comes back with the last-heard times of an hour ago, as after any checkpoint.
    for (const m of ['a', 'b', 'c']) await publishEvent(first, m, t0 + 4 * INTERVAL);
    await first.stop();

    const restart = t0 + 4 * INTERVAL + HOUR;
    clock.set(restart);
    const second = await start(dir, clock);
    try {
      expect(second.detector.meterCount()).toBe(3);
      expect(second.detector.tick()).toEqual([]);
      clock.set(restart + 3 * INTERVAL);
      await publish(second, 'a', 10, restart + 3 * INTERVAL);
      expect(second.detector.tick()).toEqual([]);
      clock.set(restart + 3 * INTERVAL + 1);
      expect(second.detector.tick().map((x) => [x.meterId, x.type, x.startTs])).toEqual([
        ['b', 'dropout', restart],
        ['c', 'dropout', restart],
      ]);
    } finally {
      await second.stop();
    }
  });
});
