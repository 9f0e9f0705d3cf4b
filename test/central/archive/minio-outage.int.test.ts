// MinIO stopped under load (issue 14 item 4, first part): a real `gridwatch central` with a byte
// budget of 8 MiB keeps its memory bounded by pausing the partitions while its own MinIO is down,
// loses nothing, and archives everything exactly once after MinIO is back. The stated margins:
// held bytes at most the budget plus one fetch (4 MiB) per partition, since each partition pauses
// after the batch that crossed the budget; RSS growth at most the budget plus 96 MiB (fetch
// buffers, built flushes and their retries, the V8 heap's slack). 40 s down here; the long variant
// (minutes) is test/reliability/central-minio-outage.long.test.ts.
import { describe, expect, it } from 'vitest';
import { recordReliability } from '../../reliability/record.ts';
import { runMinioOutage } from './minio-outage.ts';

const BUDGET_MIB = 8;
const PARTITIONS = 3;

describe('central with MinIO stopped under load', () => {
  it('pauses at its byte budget, loses nothing and completes the archive after', async () => {
    const readingsBefore = 20_000;
    const readingsDuring = 100_000;
    const outageMs = 40_000;
    const r = await runMinioOutage({ outageMs, readingsBefore, readingsDuring, budgetMiB: BUDGET_MIB, partitions: PARTITIONS, log: (l) => console.log(`[minio-outage] ${l}`) });
    console.log(`[minio-outage] ${JSON.stringify(r)}`);
    recordReliability({
      id: 'central-minio-outage-short',
      test: 'Central faults: MinIO stopped under load',
      fault: `central's MinIO stopped ${outageMs / 1000} s`,
      load: `${readingsBefore + readingsDuring} readings (${readingsDuring} while down), ${PARTITIONS} partitions, budget ${BUDGET_MIB} MiB`,
      lost: r.produced - r.uniqueReadings,
      duplicates: r.archivedLines - r.uniqueReadings,
      recoverySeconds: r.recoverySeconds,
      note: `RSS ${r.rssBeforeMiB} -> peak ${r.rssPeakDuringMiB} MiB; held peak ${r.heldPeakMiB} MiB; ${r.pauses} pauses, ${r.resumes} resumes`,
      suite: 'short',
    });
    expect(r.uniqueReadings).toBe(r.produced);
    expect(r.archivedLines).toBe(r.produced);
    expect(r.committed).toBe(r.produced);
    expect(r.pauses).toBeGreaterThan(0);
    expect(r.resumes).toBeGreaterThan(0);
    // It stopped reading instead of holding the backlog in memory.
    expect(r.consumedAtRestart).toBeLessThan(r.produced);
    expect(r.heldPeakMiB).toBeLessThanOrEqual(BUDGET_MIB + PARTITIONS * 4);
    expect(r.rssPeakDuringMiB - r.rssBeforeMiB).toBeLessThanOrEqual(BUDGET_MIB + 96);
  }, 300_000);
});
