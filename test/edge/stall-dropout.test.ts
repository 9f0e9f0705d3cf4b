// The gateway's own stall is not its meters' silence (edge/detect/hearing.ts). A real gateway with
// its real dropout timer: meter `a` keeps sending, meter `b` stops for good; then the gateway's
// event loop is blocked for longer than the dropout limit. Before the hearing rule its first tick
// after the stall opened a dropout for `a` (silent by the clock, though it had kept sending); now
// `a` gets none, and `b` still gets its dropout once the gateway has caught up. No Kafka is needed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics, silentLogger } from '../../shared/index.ts';
import { loadEdgeConfig } from '../../edge/config.ts';
import { EdgeGateway } from '../../edge/gateway.ts';
import { offlineEdgeEnv } from './offline-env.ts';

const ANON = { kind: 'anonymous' as const, id: 'anonymous' };
const INTERVAL = 300; // dropout after 3 intervals: 900 ms
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function publish(p: EdgeGateway, meterId: string, seq: number): void {
  const payload = Buffer.from(JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230 }));
  p.intake.onPublish(ANON, 'c-1', `meters/${meterId}/reading`, payload, () => undefined);
}

describe('edge gateway: a stall of its own event loop', () => {
  it('opens no dropout for a meter that kept sending, and still opens one for a meter that stopped', async () => {
    const metrics = new Metrics('edge', { defaultMetrics: false });
    const gateway = new EdgeGateway({
      config: loadEdgeConfig({
        env: offlineEdgeEnv(mkdtempSync(join(tmpdir(), 'gridwatch-edge-stall-')), {
          GRIDWATCH_DEFAULT_READING_INTERVAL_MS: String(INTERVAL),
          GRIDWATCH_DETECT_TICK_MS: '100',
        }),
      }),
      logger: silentLogger(),
      metrics,
    });
    await gateway.start();
    const dropouts = () => gateway.intake.counts.anomalies.get('dropout:open') ?? 0;
    let seq = 0;
    const sender = setInterval(() => publish(gateway, 'a', seq++), INTERVAL / 3);
    try {
      publish(gateway, 'b', 0);
      await sleep(INTERVAL);
      // `b` stopped after one reading; wait for its dropout: the timer works.
      const t = Date.now();
      while (dropouts() === 0 && Date.now() - t < 5000) await sleep(50);
      expect(dropouts()).toBe(1);
      publish(gateway, 'b', 1); // `b` is back: its dropout closes
      await sleep(200);
      expect(gateway.detector.tick().filter((x) => x.type === 'dropout' && x.state === 'open')).toEqual([]);

      // The gateway stalls for 2.5 s, longer than the 900 ms dropout limit; `a`'s sender stalls with it,
      // and `b` stops for good.
      const until = Date.now() + 2500;
      while (Date.now() < until) { /* a starved gateway */ }
      await sleep(50);
      expect(dropouts()).toBe(1); // none for `a` (nor yet for `b`: the stall is not counted)
      const deferred = await metrics.registry.getSingleMetricAsString('gridwatch_edge_dropout_deferred_ticks_total');
      expect(deferred, deferred).toMatch(/reason="event_loop_stalled"[^}]*\} [1-9]/);

      // After it caught up, `b`'s silence is counted from then: its dropout comes after the limit.
      const caughtUp = Date.now();
      while (dropouts() === 1 && Date.now() - caughtUp < 5000) await sleep(50);
      expect(dropouts()).toBe(2);
      expect(Date.now() - caughtUp).toBeGreaterThanOrEqual(3 * INTERVAL - 100);
      expect(gateway.detector.tick().filter((x) => x.meterId === 'a')).toEqual([]);
    } finally {
      clearInterval(sender);
      await gateway.stop();
    }
  }, 30_000);
});
