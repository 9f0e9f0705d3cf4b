// The soak of issue 14 item 7 as a test, shared by the CI length (soak-ci.soak.test.ts, in
// `npm test`), the 5,000/s one (soak-5k.long.test.ts) and the hour (soak.long.test.ts, both in
// `npm run test:reliability`): `gridwatch soak` (cli/soak.ts)
// runs the whole pipeline (simulator through MQTT into three real edges, Kafka, a real central,
// MinIO, InfluxDB) at 10,000 readings/s; every process's open handles after the warm-up, and its
// RSS where the run is long enough to tell a leak from the heap's breathing (cli/soak-report.ts),
// must stay within 5 %, no RSS past its budget, central's consumer lag under one archive flush plus
// 5 s of the flood, and no acknowledged reading may be missing from the archive. The row goes to
// docs/reliability.md like the other tests'.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { run } from '../../cli/soak.ts';
import type { ProcessTrend } from '../../cli/soak-report.ts';
import { recordReliability } from './record.ts';

export interface SoakCase {
  id: string;
  test: string;
  /** Flood length and warm-up (not judged), as `gridwatch soak` takes them. */
  duration: string;
  warmup: string;
  sample: string;
  /** Simulated meters, one reading a second each (default 10,000: `gridwatch soak`'s rate). */
  meters?: number;
  /** After the flood, how long the pipeline may take to drain before anything is judged lost. */
  drainTimeout?: string;
  suite: 'short' | 'long';
}

interface SoakJson {
  lost: number;
  readingsAcked: number;
  reachedPerSec: number;
  askedPerSec: number;
  lagMax: number | null;
  lagBound: number;
  lagAfterWarmup: number | null;
  windowMs: number;
  lag: { t: number; records: number; readings: number }[];
  warmupMs: number;
  fullRateAtMs: number | null;
  storeFullAtMs: number | null;
  judgedFromMs: number | null;
  flat: boolean;
  trends: ProcessTrend[];
  loadAverage: string;
  readingsArchived: number;
  archiveDuplicates: number;
  readingsPerRecord: number;
  drain: { ms: number; drained: boolean; outboxes: number | null; lag: number } | null;
  cpu: { name: string; cores: number }[];
}

export async function soakCase(c: SoakCase): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-soak-'));
  const code = await run(['--duration', c.duration, '--warmup', c.warmup, '--sample', c.sample, '--dir', dir, ...(c.meters ? ['--meters', String(c.meters)] : []), ...(c.drainTimeout ? ['--drain-timeout', c.drainTimeout] : [])]);
  const r = JSON.parse(readFileSync(join(dir, 'soak.json'), 'utf8')) as SoakJson;
  // In readings (cli/soak.ts: the readings topic's records at the run's mean readings per record).
  const lagAfterWarmup = r.lagAfterWarmup ?? Math.max(0, ...r.lag.map((l) => l.readings));
  const decided = r.trends.some((t) => t.judged && t.rssDecided);
  const peak = r.trends.filter((t) => t.judged && t.rssBudgetMiB !== null).sort((a, b) => b.rssPeakMiB / (b.rssBudgetMiB as number) - a.rssPeakMiB / (a.rssBudgetMiB as number))[0];
  const worst = r.trends.filter((t) => t.judged).sort((a, b) => Math.max(b.rssChangePct, b.handlesChangePct) - Math.max(a.rssChangePct, a.handlesChangePct))[0];
  recordReliability({
    id: c.id,
    test: c.test,
    fault: `none: ${c.duration} flood, judged from ${r.judgedFromMs === null ? '(never: the rate or the full recent-readings store not reached)' : `t+${Math.round(r.judgedFromMs / 1000)} s`}, the later of a ${c.warmup} warm-up from ${r.fullRateAtMs === null ? '(never)' : `t+${Math.round(r.fullRateAtMs / 1000)} s`} (90 % of the rate) and central's recent-readings store full (${r.storeFullAtMs === null ? 'never' : `t+${Math.round(r.storeFullAtMs / 1000)} s`})`,
    load: `simulator ${r.askedPerSec.toLocaleString('en')} readings/s asked, ${r.reachedPerSec.toLocaleString('en')}/s reached, 3 edges, 1 central with learned scoring, MinIO, InfluxDB (load average ${r.loadAverage.split(' ').slice(0, 3).join(' ')})`,
    lost: r.lost,
    duplicates: r.archiveDuplicates,
    // The drain after the flood: until the outboxes were empty and central's lag 0.
    recoverySeconds: r.drain?.drained ? Math.round(r.drain.ms / 100) / 10 : null,
    note: `${r.trends.length} processes, largest change after warm-up ${worst ? `${worst.name} RSS ${worst.rssChangePct} %, handles ${worst.handlesChangePct} %` : '–'} (windows of ${Math.round(r.windowMs / 1000)} s: RSS ${decided ? 'decided' : 'not decided, shorter than a GC cycle; handles and the budget judged'}); highest RSS for its budget ${peak ? `${peak.name} ${peak.rssPeakMiB} of ${peak.rssBudgetMiB} MiB` : '–'}; lag max after warm-up ${lagAfterWarmup} readings (bound ${r.lagBound}); ${r.readingsPerRecord} readings per record; ${r.drain === null ? 'no drain' : r.drain.drained ? `drained ${(r.drain.ms / 1000).toFixed(1)} s after the flood` : `not drained within the bound (${String(r.drain.outboxes)} in the outboxes, lag ${r.drain.lag})`}; cores ${r.cpu.map((x) => `${x.name} ${x.cores}`).join(', ')}`,
    suite: c.suite,
  });
  expect(r.readingsAcked).toBeGreaterThan(0);
  expect(r.fullRateAtMs, 'the flood reached 90 % of its rate').not.toBeNull();
  expect(r.storeFullAtMs, "central's recent-readings store filled").not.toBeNull();
  expect(r.drain?.drained, 'the outboxes emptied and central caught up within the drain bound').toBe(true);
  expect(r.lost).toBe(0);
  expect(r.archiveDuplicates).toBe(0);
  for (const name of ['central', 'simulator']) expect(r.trends.map((t) => t.name)).toContain(name);
  expect(r.trends.filter((t) => t.name.startsWith('edge-'))).toHaveLength(3);
  expect(r.trends.filter((t) => t.judged && !t.passed)).toEqual([]);
  expect(lagAfterWarmup).toBeLessThanOrEqual(r.lagBound);
  expect(code).toBe(0);
}
