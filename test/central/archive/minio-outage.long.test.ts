// The long variant of minio-outage.int.test.ts (`npm run test:reliability`): MinIO down for three
// minutes under a larger backlog, the same assertions and margins.
import { describe, expect, it } from 'vitest';
import { recordReliability } from '../../reliability/record.ts';
import { runMinioOutage } from './minio-outage.ts';

const BUDGET_MIB = 16;
const PARTITIONS = 6;

describe('central with MinIO stopped for minutes under load', () => {
  it('pauses at its byte budget, loses nothing and completes the archive after', async () => {
    const readingsBefore = 50_000;
    const readingsDuring = 400_000;
    const outageMs = 180_000;
    const r = await runMinioOutage({ outageMs, readingsBefore, readingsDuring, budgetMiB: BUDGET_MIB, partitions: PARTITIONS, log: (l) => console.log(`[minio-outage] ${l}`) });
    recordReliability({
      id: 'central-minio-outage-long',
      test: 'Central faults: MinIO stopped for minutes under load',
      fault: `central's MinIO stopped ${outageMs / 1000} s`,
      load: `${readingsBefore + readingsDuring} readings (${readingsDuring} while down), ${PARTITIONS} partitions, budget ${BUDGET_MIB} MiB`,
      lost: r.produced - r.uniqueReadings,
      duplicates: r.archivedLines - r.uniqueReadings,
      recoverySeconds: r.recoverySeconds,
      note: `RSS ${r.rssBeforeMiB} -> peak ${r.rssPeakDuringMiB} MiB; held peak ${r.heldPeakMiB} MiB; ${r.pauses} pauses, ${r.resumes} resumes`,
      suite: 'long',
    });
    expect(r.uniqueReadings).toBe(r.produced);
    expect(r.archivedLines).toBe(r.produced);
    expect(r.committed).toBe(r.produced);
    expect(r.pauses).toBeGreaterThan(0);
    expect(r.resumes).toBeGreaterThan(0);
    expect(r.consumedAtRestart).toBeLessThan(r.produced);
    expect(r.heldPeakMiB).toBeLessThanOrEqual(BUDGET_MIB + PARTITIONS * 4);
    expect(r.rssPeakDuringMiB - r.rssBeforeMiB).toBeLessThanOrEqual(BUDGET_MIB + 96);
  }, 1_200_000);
});
