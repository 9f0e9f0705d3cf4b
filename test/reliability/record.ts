/**
 * The figures a reliability test measured, one JSON file per test row in docs/reliability/, turned
 * into the table of docs/reliability.md by docs/reliability.ts (a test fails when the table drifts
 * from the files). A test always returns its row (so it can assert on it); it writes the file only
 * when GRIDWATCH_RECORD_RELIABILITY=1 (`npm run test:reliability:record`), so an ordinary `npm test`
 * leaves the tree clean and the committed figures are the ones a person chose to record.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReliabilityRow {
  /** file name and sort key, e.g. "link-latency-800ms" */
  id: string;
  /** the test, as a person names it: "Link faults: 800 ms latency with jitter" */
  test: string;
  /** what was done to the system: "toxiproxy latency 800 ms ± 200 ms edge→Kafka, 3 min" */
  fault: string;
  /** the load during the fault: "simulator 200 meters, 200 readings/s QoS 1 over 10 connections" */
  load: string;
  /** PUBACKed / acknowledged records not found at the end (must be 0) */
  lost: number;
  /** duplicates after central's de-duplication; null when the test has no central */
  duplicates: number | null;
  /** seconds from the end of the fault to fully drained / recovered; null when not applicable */
  recoverySeconds: number | null;
  /** other figures, free form but short: "drain 1,840 readings/s; anomaly p99 2.1 s" */
  note: string;
  /** 'short' runs in `npm test`, 'long' only in `npm run test:reliability` */
  suite: 'short' | 'long';
  /** ISO time of the run, set by recordReliability */
  measuredAt?: string;
}

export const RELIABILITY_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'reliability');

export function recordReliability(row: ReliabilityRow): ReliabilityRow {
  const full = { ...row, measuredAt: new Date().toISOString() };
  if (process.env.GRIDWATCH_RECORD_RELIABILITY === '1') {
    mkdirSync(RELIABILITY_DIR, { recursive: true });
    writeFileSync(join(RELIABILITY_DIR, `${row.id}.json`), `${JSON.stringify(full, null, 2)}\n`);
  }
  console.log(`[reliability] ${JSON.stringify(full)}`);
  return full;
}
