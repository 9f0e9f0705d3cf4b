// A deployment with a Kafka topic prefix archives readings under the prefixed topic's name
// (site1.grid.readings/...), not readings/...: replay must read the root it is given, or it finds nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSink, topicPrefix } from '../../../central/archive/index.ts';
import { replay, type ReplayBatch } from '../../../central/history/replay.ts';
import { archiveReadings, smallGrid } from './archive-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-replay-roots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function counting() {
  let records = 0;
  return {
    target: { describe: () => 'count', write: (b: ReplayBatch) => void (records += b.values.length), flush: async () => undefined, close: async () => undefined },
    records: () => records,
  };
}

describe('replay under a topic prefix', () => {
  it('reads the prefixed key root it is given, and nothing under the bare kind', async () => {
    const sink = createSink({ dir });
    const from = Date.UTC(2026, 10, 22, 10, 0, 0);
    const root = topicPrefix('site1.grid.readings');
    const run = await archiveReadings(sink, { topology: smallGrid(2), from, seconds: 120, topic: 'site1.grid.readings' });
    expect((await sink.list(`${root}/`)).length).toBeGreaterThan(0);
    const bare = counting();
    await replay({ sink, target: bare.target, from, to: from + 120_000, kinds: ['readings'] });
    expect(bare.records()).toBe(0);
    const rooted = counting();
    await replay({ sink, target: rooted.target, from, to: from + 120_000, kinds: ['readings'], roots: { readings: root } });
    expect(rooted.records()).toBe(run.readings);
  });
});
