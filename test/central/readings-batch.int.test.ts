// Central reading grid.readings records of several readings (contract forwarded-reading-batch/v1:
// JSON lines and the Avro batch) beside records of one reading, from the real Kafka: each reading
// reaches the API once (repeats dropped by readingId across both forms), the archive has a line per
// reading, an Avro batch of a schema central does not know is counted, not dropped silently.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { silentLogger, Metrics } from '../../shared/index.ts';
import { encodeForwardedReadingBatch, READINGS_BATCH_CONTRACT } from '../../shared/contracts/forwarded-reading-avro.ts';
import { FakeCorrelator } from './consume/fake-correlator.ts';
import { T0, apiTokens, kafka, producer, testConfig, waitFor } from './consume/helpers.ts';

const reading = (meterId: string, seq: number) => ({ meterId, readingId: `${meterId}:${seq}`, seq, ts: T0 + seq * 1000, voltage: 231 + seq / 10, edgeId: 'edge-S01', substationId: 'S01', feederId: 'F1', transformerId: 'T1', receivedAt: T0 + seq * 1000 + 3 });

function archivedLines(dir: string): { readingId?: string; _offset: string; _undecodable?: string }[] {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.jsonl.gz') && join(d.parentPath, d.name).includes('readings'));
  return files.flatMap((d) => gunzipSync(readFileSync(join(d.parentPath, d.name))).toString().trim().split('\n')).map((l) => JSON.parse(l) as { readingId?: string; _offset: string });
}

describe('central reads several readings per grid.readings record (real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('JSON lines and Avro batches beside single records: each reading once in the API and the archive, an unknown batch schema counted', async () => {
    const config = testConfig('central-batch');
    const k = kafka();
    const aggregator = new Aggregator({ config, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 3 });
    cleanup.push(() => aggregator.stop());
    await aggregator.start();
    const p = await producer(k);
    cleanup.push(() => p.disconnect());
    const topic = topicNames(config).readings;
    const batch = { 'gridwatch-contract': READINGS_BATCH_CONTRACT };
    const unknown = encodeForwardedReadingBatch([reading('M9', 1)]);
    unknown[6] = unknown[6]! ^ 0xff;
    await p.send({
      topic,
      messages: [
        { partition: 0, key: null, headers: batch, value: [reading('M1', 1), reading('M2', 1), reading('M1', 2)].map((r) => JSON.stringify(r)).join('\n') },
        { partition: 0, key: 'M1', value: JSON.stringify(reading('M1', 2)) }, // a repeat, in the single form
        { partition: 0, key: null, headers: batch, value: encodeForwardedReadingBatch([reading('M3', 1), reading('M3', 2), reading('M1', 3)]) },
        { partition: 0, key: null, headers: batch, value: unknown },
      ],
    });

    const base = `http://127.0.0.1:${aggregator.httpPort}`;
    const readingsOf = async (m: string) => {
      const r = await fetch(`${base}/api/meters/${m}`, { headers: apiTokens.headers() });
      return r.status === 200 ? ((await r.json()) as { readings: { seq: number; voltage: number }[] }).readings : [];
    };
    await waitFor(async () => (await readingsOf('M1')).length === 3 && (await readingsOf('M3')).length === 2, 30_000, 'the readings in the API');
    expect((await readingsOf('M1')).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await readingsOf('M2')).map((r) => r.seq)).toEqual([1]);
    expect(await readingsOf('M3')).toEqual([reading('M3', 1), reading('M3', 2)].map((r) => expect.objectContaining({ seq: r.seq, voltage: r.voltage })));
    expect(await readingsOf('M9')).toEqual([]);
    const metrics = await (await fetch(`${base}/metrics`, { headers: apiTokens.headers() })).text();
    expect(metrics).toMatch(/gridwatch_central_duplicates_total\{kind="reading"[^}]*\} 1/);
    // Consumed counts readings, not records: 3 + 1 + 3 in the three readable records, and the unknown one.
    const consumed = metrics.split('\n').find((l) => l.startsWith('gridwatch_central_records_consumed_total{') && l.includes(`topic="${topic}"`) && l.includes('consumer="group"'));
    expect(consumed?.split(' ').pop()).toBe('8');
    expect(metrics).toMatch(new RegExp(`gridwatch_central_records_invalid_total\\{topic="${topic.replace(/\./g, '\\.')}"[^}]*\\} 1`));

    // The archive: one line per reading with its record's offset, the repeat dropped, the unknown one kept.
    await waitFor(() => archivedLines(config.archiveDir as string).length >= 7, 20_000, 'the archive');
    const lines = archivedLines(config.archiveDir as string);
    expect(lines.filter((l) => l.readingId !== undefined).map((l) => [l.readingId, l._offset]).sort()).toEqual([['M1:1', '0'], ['M1:2', '0'], ['M1:3', '2'], ['M2:1', '0'], ['M3:1', '2'], ['M3:2', '2']]);
    expect(lines.filter((l) => l.readingId === undefined)).toHaveLength(1);
  });
});
