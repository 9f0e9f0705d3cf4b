/**
 * Measures the edge store: commit throughput by synchronous level and group size, the cost of
 * writing detector state per meter, a full checkpoint, and forwarded-row removal.
 *
 *   node --import tsx edge/store/bench.ts [dir]
 *
 * Uses a real snapshot from the detector (a meter after 200 readings on four channels) and forwarded
 * reading JSON of the v1 shape. `dir` should be on the disk the gateway uses (fsync is the point).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock, silentLogger } from '../../shared/index.ts';
import { Detector, type MeterContext } from '../detect/index.ts';
import { EdgeStore } from './edge-store.ts';
import type { OutboxRecord } from './types.ts';

const base = process.argv[2] ?? os.tmpdir();

function realSnapshot(): unknown {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ctx: MeterContext = { edgeId: 'b', substationId: 's1', feederId: 'f1', transformerId: 't1', nominalVoltage: 230, nominalFrequency: 50, expectedIntervalMs: 5000, ratedCurrentA: 60 };
  const d = new Detector({ edgeId: 'b', context: () => ctx, clock });
  for (let i = 0; i < 200; i++) {
    d.onReading({ meterId: 'm', ts: Date.UTC(2026, 0, 1) + i * 5000, seq: i, voltage: 230 + Math.sin(i) * 2, current: 10 + Math.cos(i), power: 2.3 + Math.sin(i / 3) / 10, frequency: 50 + Math.sin(i / 7) / 50 });
  }
  return d.exportMeter('m');
}

const snap = realSnapshot();

function reading(m: number, seq: number): OutboxRecord {
  const ts = Date.UTC(2026, 0, 1) + seq * 1000;
  const meterId = `meter-${m}`;
  const value = JSON.stringify({ meterId, ts, seq, voltage: 231.4, current: 12.1, power: 2.7, frequency: 50.01, edgeId: 'edge-1', substationId: 'sub-1', feederId: 'fdr-3', transformerId: 'tx-17', receivedAt: ts + 40 });
  return { topic: 'grid.readings', key: meterId, value, lane: 'readings', ts, meterId, seq };
}

function open(sync: 'NORMAL' | 'FULL', opts: { retainForReplay?: boolean } = {}): { store: EdgeStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(base, 'gw-bench-'));
  return { store: EdgeStore.open({ dir, edgeId: 'edge-1', budgetBytes: 1e12, synchronous: sync, clock: new ManualClock(), logger: silentLogger(), ...opts }), dir };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
}

function commitRun(sync: 'NORMAL' | 'FULL', group: number, withState: unknown | null, budgetMs = 2000, rolling = 0): { rowsPerSec: number; commitsPerSec: number; p50ms: number; p99ms: number } {
  const { store, dir } = open(sync);
  const meters = 10_000;
  const lat: number[] = [];
  let rows = 0;
  let seq = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    const records: OutboxRecord[] = [];
    const states: [string, unknown][] = [];
    for (let i = 0; i < group; i++, rows++) {
      const m = rows % meters;
      if (m === 0) seq++;
      records.push(reading(m, seq));
      if (withState !== null) states.push([`meter-${m}`, withState]);
    }
    const c0 = performance.now();
    const checkpoint: [string, unknown][] = [];
    for (let i = 0; i < rolling; i++) checkpoint.push([`meter-${(lat.length * rolling + i) % meters}`, snap]);
    store.commit(withState === null ? (rolling > 0 ? { records, checkpoint } : { records }) : { records, meterStates: states });
    lat.push(performance.now() - c0);
  }
  const s = (performance.now() - t0) / 1000;
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rowsPerSec: Math.round(rows / s), commitsPerSec: Math.round(lat.length / s), p50ms: +pct(lat, 0.5).toFixed(3), p99ms: +pct(lat, 0.99).toFixed(3) };
}

function checkpointRun(meters: number, snap: unknown): { ms: number } {
  const { store, dir } = open('FULL');
  const states: [string, unknown][] = Array.from({ length: meters }, (_, i) => [`meter-${i}`, snap]);
  const t0 = performance.now();
  store.commit({ records: [], checkpoint: states });
  const ms = performance.now() - t0;
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { ms: +ms.toFixed(1) };
}

function removeRun(retain: boolean): { rowsPerSec: number } {
  const { store, dir } = open('FULL', { retainForReplay: retain });
  for (let k = 0; k < 100; k++) store.commit({ records: Array.from({ length: 1000 }, (_, i) => reading(i, k)) });
  const t0 = performance.now();
  for (;;) {
    const rows = store.peek('readings', 2000);
    if (rows.length === 0) break;
    store.remove(rows.map((r) => r.id));
  }
  const s = (performance.now() - t0) / 1000;
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rowsPerSec: Math.round(100_000 / s) };
}

const snapBytes = JSON.stringify(snap).length;
const out: Record<string, unknown> = { dir: base, snapshotBytes: snapBytes, readingBytes: reading(1, 1).value.length };
for (const sync of ['NORMAL', 'FULL'] as const) {
  for (const group of [1, 10, 100, 300, 1000]) out[`commit ${sync} group=${group}`] = commitRun(sync, group, null);
}
for (const sync of ['NORMAL', 'FULL'] as const) out[`commit ${sync} group=300 + state per reading`] = commitRun(sync, 300, snap);
for (const k of [5, 20]) out[`commit FULL group=300 + rolling checkpoint ${k} meters/commit`] = commitRun('FULL', 300, null, 2000, k);
out['checkpoint 10k meters (FULL)'] = checkpointRun(10_000, snap);
out['peek+remove (delete)'] = removeRun(false);
out['peek+remove (retain for replay)'] = removeRun(true);
for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
