import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Batch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeForwardedReadings, encodeForwardedReading, encodeForwardedReadingBatch, FORWARDED_READING_AVRO_FINGERPRINT, FORWARDED_READING_BATCH_AVRO_FINGERPRINT, READINGS_BATCH_CONTRACT, UnknownEncoding } from '../../../shared/contracts/forwarded-reading-avro.ts';
import { AVRO_BATCH_FILE, CONTRACTS_DIR, renderAvroBatchSchema } from '../../../shared/contracts/generate.ts';
import { dispatch, meterIdOf, onRaw, valueText } from '../../../central/flows/records.ts';
import { buildFlush, packRequest } from '../../../central/archive/build.ts';
import { TOPICS } from '../../../shared/index.ts';

const reading = (meterId: string, seq: number) => ({ meterId, ts: 1793491200000 + seq * 1000, seq, voltage: 231.5 + seq / 100, current: 1.043, power: 0.223, readingId: `${meterId}:${seq}`, edgeId: 'edge-1', substationId: 'sub-01', feederId: 'sub-01-f04', transformerId: 'sub-01-f04-t001', receivedAt: 1793491200130 + seq * 1000 });
const readings = [reading('m-1', 1), reading('m-2', 1), reading('m-1', 2), reading('m-3', 7)];

function batchOf(messages: { value: Buffer; key?: string | null; headers?: Record<string, string> }[]): Batch {
  return { topic: TOPICS.readings, partition: 3, messages: messages.map((m, i) => ({ key: m.key === undefined || m.key === null ? null : Buffer.from(m.key), value: m.value, headers: m.headers ?? {}, offset: String(100 + i), timestamp: '1793491200000', attributes: 0 })) } as unknown as Batch;
}

function run(batch: Batch) {
  const seen: { key: string | null; value: string | null; offset: string }[] = [];
  const records: { key: string | null; value: string | null; decoded: boolean }[] = [];
  let invalid = 0;
  dispatch(batch, onRaw((r) => seen.push({ key: r.key, value: r.value, offset: r.offset })), {}, { inc: () => void invalid++ } as never, (_m, key, value, decoded) => records.push({ key, value, decoded }));
  return { seen, records, invalid };
}

describe('several readings per grid.readings record (forwarded-reading-batch/v1)', () => {
  it('round-trips a batch in the Avro batch schema, under its own fingerprint', () => {
    const b = encodeForwardedReadingBatch(readings);
    expect(b.subarray(0, 2).equals(Buffer.from([0xc3, 0x01]))).toBe(true);
    expect(b.subarray(2, 10).equals(FORWARDED_READING_BATCH_AVRO_FINGERPRINT)).toBe(true);
    expect(FORWARDED_READING_BATCH_AVRO_FINGERPRINT.equals(FORWARDED_READING_AVRO_FINGERPRINT)).toBe(false);
    expect(decodeForwardedReadings(b)).toEqual(readings);
    // A single reading still decodes as one.
    expect(decodeForwardedReadings(encodeForwardedReading(readings[0]!))).toEqual([readings[0]]);
    // Smaller than the singles together (one header, no per-record framing).
    const singles = readings.reduce((n, r) => n + encodeForwardedReading(r).length, 0);
    expect(b.length).toBeLessThan(singles);
  });

  it('central hands each reading of a JSON-lines record to the handler in order, keyed by its meter, and archives the record once', () => {
    const texts = readings.map((r) => JSON.stringify(r));
    const { seen, records, invalid } = run(batchOf([{ value: Buffer.from(texts.join('\n')), headers: { 'gridwatch-contract': READINGS_BATCH_CONTRACT } }, { value: Buffer.from(texts[0]!), key: 'm-1' }]));
    expect(invalid).toBe(0);
    expect(seen).toEqual([...texts.map((t, i) => ({ key: readings[i]!.meterId, value: t, offset: '100' })), { key: 'm-1', value: texts[0], offset: '101' }]);
    expect(records).toEqual([{ key: null, value: texts.join('\n'), decoded: false }, { key: 'm-1', value: texts[0], decoded: false }]);
  });

  it('central decodes an Avro batch once to the JSON contract texts', () => {
    const { seen, records, invalid } = run(batchOf([{ value: encodeForwardedReadingBatch(readings), headers: { 'gridwatch-contract': READINGS_BATCH_CONTRACT } }]));
    expect(invalid).toBe(0);
    expect(seen.map((s) => [s.key, JSON.parse(s.value!)])).toEqual(readings.map((r) => [r.meterId, r]));
    expect(records).toHaveLength(1);
    expect(records[0]!.decoded).toBe(true);
    expect(records[0]!.value!.split('\n').map((l) => JSON.parse(l))).toEqual(readings);
    expect(valueText(encodeForwardedReadingBatch(readings)).text).toBe(records[0]!.value);
  });

  it('an Avro batch of a schema central does not know is counted and kept, not dropped', () => {
    const b = encodeForwardedReadingBatch(readings);
    b[4] = b[4]! ^ 0xff;
    expect(() => decodeForwardedReadings(b)).toThrow(UnknownEncoding);
    const { seen, records, invalid } = run(batchOf([{ value: b }]));
    expect(invalid).toBe(1);
    expect(seen).toEqual([]);
    expect(Buffer.from((JSON.parse(records[0]!.value!) as { _base64: string })._base64, 'base64').equals(b)).toBe(true);
  });

  it('a reading line without a meterId reaches the handler with no key (the readings flow counts it invalid)', () => {
    expect(meterIdOf('{"meterId":"m-9","ts":1}')).toBe('m-9');
    expect(meterIdOf('{"ts":1}')).toBeNull();
    const { seen } = run(batchOf([{ value: Buffer.from('{"ts":1}\n' + JSON.stringify(readings[0])), headers: { 'gridwatch-contract': READINGS_BATCH_CONTRACT } }]));
    expect(seen.map((s) => s.key)).toEqual([null, 'm-1']);
  });

  it('the archive writes one line per reading of a batch record and drops repeats by readingId across both forms', () => {
    const texts = readings.map((r) => JSON.stringify(r));
    const req = packRequest({ topic: TOPICS.readings, partition: 3, kind: 'readings', seen: { meters: {}, others: [] }, influx: 'none' }, [
      { offset: 100n, timestamp: '1793491200000', value: Buffer.from(texts[0]!) },
      { offset: 101n, timestamp: '1793491200000', value: Buffer.from(texts.join('\n')) },
    ]);
    const r = buildFlush(req);
    expect(r.kept).toBe(4);
    expect(r.duplicates).toBe(1);
    const lines = r.objects.flatMap((o) => gunzipSync(o.body).toString().trim().split('\n')).map((l) => JSON.parse(l) as { readingId: string; _offset: string });
    expect(lines.map((l) => [l.readingId, l._offset]).sort()).toEqual([['m-1:1', '100'], ['m-1:2', '101'], ['m-2:1', '101'], ['m-3:7', '101']]);
  });

  it('is published beside the JSON Schemas (npm run contracts:generate)', () => {
    expect(readFileSync(join(CONTRACTS_DIR, AVRO_BATCH_FILE), 'utf8')).toBe(renderAvroBatchSchema());
  });
});
