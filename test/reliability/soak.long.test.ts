// Issue 14 item 7, the CI version of `gridwatch soak`: the whole pipeline (simulator through MQTT
// into real edges, Kafka, a real central, MinIO, InfluxDB) paced at 10,000 readings/s. Shortened
// from the issue's 2 minutes to a 60 s flood (with start-up and drain it is still about two
// minutes): every process's RSS and open handles after a 30 s warm-up must stay within 5 %, and
// no acknowledged reading may be missing from the archive. The hour runs as
// `gridwatch soak --duration 1h` (docs/reliability.md "Soak").
// In the reliability project, not in `npm test`: on an idle machine (load 3.4, 18:08 UTC on
// 2026-12-01) the pipeline reached 9,894 readings/s and lost 0 of 600,000, but central fell behind
// (lag up to 266k) and its RSS grew 46 % after the warm-up, so this check fails today (issue 14).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../cli/soak.ts';
import type { ProcessTrend } from '../../cli/soak-report.ts';
import { recordReliability } from './record.ts';

const DURATION = process.env.GRIDWATCH_SOAK_DURATION ?? '60s';

describe('gridwatch soak (CI length)', () => {
  it('keeps every process flat after the warm-up and loses nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-soak-'));
    const code = await run(['--duration', DURATION, '--warmup', '30s', '--sample', '2s', '--dir', dir]);
    const r = JSON.parse(readFileSync(join(dir, 'soak.json'), 'utf8')) as { lost: number; readingsAcked: number; reachedPerSec: number; askedPerSec: number; lagMax: number | null; flat: boolean; trends: ProcessTrend[]; loadAverage: string; readingsArchived: number; archiveDuplicates: number };
    const worst = [...r.trends].sort((a, b) => Math.max(b.rssChangePct, b.handlesChangePct) - Math.max(a.rssChangePct, a.handlesChangePct))[0];
    recordReliability({
      id: 'soak-ci',
      test: 'Soak: the whole pipeline, CI length',
      fault: `none: ${DURATION} flood, judged after a 30 s warm-up`,
      load: `simulator ${r.askedPerSec.toLocaleString('en')} readings/s asked, ${r.reachedPerSec.toLocaleString('en')}/s reached, 3 edges, 1 central, MinIO, InfluxDB (load average ${r.loadAverage.split(' ').slice(0, 3).join(' ')})`,
      lost: r.lost,
      duplicates: r.archiveDuplicates,
      recoverySeconds: null,
      note: `${r.trends.length} processes, largest change after warm-up ${worst ? `${worst.name} RSS ${worst.rssChangePct} %, handles ${worst.handlesChangePct} %` : '–'}; lag max ${String(r.lagMax)}`,
      suite: 'short',
    });
    expect(r.readingsAcked).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.archiveDuplicates).toBe(0);
    for (const name of ['central', 'simulator']) expect(r.trends.map((t) => t.name)).toContain(name);
    expect(r.trends.filter((t) => t.name.startsWith('edge-'))).toHaveLength(3);
    expect(r.trends.filter((t) => !t.flat)).toEqual([]);
    expect(code).toBe(0);
  }, 600_000);
});
