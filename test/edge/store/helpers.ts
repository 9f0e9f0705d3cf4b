import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { ManualClock, silentLogger } from '../../../shared/index.ts';
import { EdgeStore, type EdgeStoreOptions, type OutboxRecord } from '../../../edge/store/index.ts';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gw-store-'));
}

export function openStore(dir: string, opts: Partial<EdgeStoreOptions> = {}): EdgeStore {
  return EdgeStore.open({ dir, edgeId: 'edge-1', budgetBytes: 1e9, synchronous: 'NORMAL', clock: new ManualClock(), logger: silentLogger(), ...opts });
}

export function reading(meterId: string, seq: number, ts = 1_700_000_000_000 + seq * 1000): OutboxRecord {
  const value = JSON.stringify({ meterId, seq, ts, voltage: 230.1, edgeId: 'edge-1', substationId: 'S1', feederId: 'F1', transformerId: 'T1', receivedAt: ts });
  return { topic: 'grid.readings', key: meterId, value, lane: 'readings', ts, meterId, seq };
}

export function anomaly(meterId: string, n: number, ts = 1_700_000_000_000): OutboxRecord {
  return { topic: 'grid.anomalies', key: 'S1', value: JSON.stringify({ anomalyId: `${meterId}-${n}`, meterId, state: 'open' }), lane: 'control', ts, meterId };
}

/** `track(store)` closes the store after the test (registers the test file's afterEach). */
export function trackStores(): (s: EdgeStore) => EdgeStore {
  const open: EdgeStore[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  return (s) => {
    open.push(s);
    return s;
  };
}
