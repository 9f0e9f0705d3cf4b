// grid.readings' dispatch (central/flows/records.ts dispatchReadings): a record of one JSON
// reading is handed on as its own bytes, the other forms decoded once; every record reaches the
// archive's callback once; the count is of readings, not records.
import type { Batch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { dispatchReadings, dispatchReadingsSlice } from '../../../central/flows/records.ts';
import { encodeForwardedReading, encodeForwardedReadingBatch, READINGS_BATCH_CONTRACT } from '../../../shared/contracts/forwarded-reading-avro.ts';

const reading = (meterId: string, seq: number) => ({ meterId, readingId: `${meterId}:${seq}`, seq, ts: 1_700_000_000_000 + seq * 1000, voltage: 231, edgeId: 'e1', substationId: 'S1', feederId: 'F1', transformerId: 'T1', receivedAt: 1_700_000_000_003 + seq * 1000 });

function batchOf(messages: { key: string | null; value: Buffer | null; headers?: Record<string, string> }[]): Batch {
  return { topic: 'grid.readings', partition: 0, messages: messages.map((m, i) => ({ ...m, offset: String(i), timestamp: '0', attributes: 0, headers: m.headers ?? {} })) } as unknown as Batch;
}

describe('dispatchReadings', () => {
  it('hands a single JSON reading on as its bytes, decodes Avro and several-reading records, and counts readings', () => {
    const single = Buffer.from(JSON.stringify(reading('M1', 1)));
    const lines = Buffer.from([reading('M2', 1), reading('M3', 1)].map((r) => JSON.stringify(r)).join('\n'));
    const avro = encodeForwardedReading(reading('M4', 1));
    const avroBatch = encodeForwardedReadingBatch([reading('M5', 1), reading('M5', 2), reading('M6', 1)]);
    const unknown = encodeForwardedReadingBatch([reading('M9', 1)]);
    unknown[6] = unknown[6]! ^ 0xff;
    const header = { 'gridwatch-contract': READINGS_BATCH_CONTRACT };
    const batch = batchOf([
      { key: 'M1', value: single },
      { key: null, value: lines, headers: header },
      { key: 'M4', value: avro },
      { key: null, value: avroBatch, headers: header },
      { key: 'M7', value: null },
      { key: null, value: unknown, headers: header },
    ]);
    const handled: [string | null, string][] = [];
    const each: [string, string | null, boolean][] = [];
    let invalid = 0;
    const n = dispatchReadings(batch, { inc: () => invalid++ } as never, (key, value) => {
      if (key === 'M1') expect(value).toBe(single); // the record's own bytes, not a copy or a text
      handled.push([key, typeof value === 'string' ? value : value.toString()]);
    }, (m, _key, text, decoded) => each.push([m.offset, text, decoded]));
    expect(handled.map(([k]) => k)).toEqual(['M1', 'M2', 'M3', 'M4', 'M5', 'M5', 'M6']);
    expect(handled.map(([, v]) => JSON.parse(v).readingId)).toEqual(['M1:1', 'M2:1', 'M3:1', 'M4:1', 'M5:1', 'M5:2', 'M6:1']);
    expect(n).toBe(1 + 2 + 1 + 3 + 1 + 1);
    expect(invalid).toBe(1);
    // Each record once: its own bytes (null text) or the text decoded here.
    expect(each.map(([o, text, decoded]) => [o, text === null ? null : 'text', decoded])).toEqual([['0', null, false], ['1', 'text', false], ['2', 'text', true], ['3', 'text', true], ['4', null, false], ['5', 'text', true]]);
    expect(JSON.parse(each[5]![1] as string)._undecodable).toMatch(/./);
  });

  it('in slices: each stops between records once its time is up and the next goes on from there, every reading once and in order', () => {
    const header = { 'gridwatch-contract': READINGS_BATCH_CONTRACT };
    const messages = [
      ...Array.from({ length: 150 }, (_, i) => ({ key: `M${i}`, value: Buffer.from(JSON.stringify(reading(`M${i}`, 1))) })),
      // A record of 100 readings is one record: a slice never ends inside it.
      { key: null, value: Buffer.from(Array.from({ length: 100 }, (_, i) => JSON.stringify(reading(`B${i}`, 1))).join('\n')), headers: header },
      ...Array.from({ length: 30 }, (_, i) => ({ key: `N${i}`, value: Buffer.from(JSON.stringify(reading(`N${i}`, 1))) })),
    ];
    const batch = batchOf(messages);
    const keys: (string | null)[] = [];
    const records: string[] = [];
    const slices: { readings: number; next: number }[] = [];
    // A time already past: every slice stops at its first look at the clock (after 64 readings).
    for (let at = 0; at < messages.length; ) {
      const r = dispatchReadingsSlice(batch, { inc: () => undefined } as never, (key) => keys.push(key), (m) => records.push(m.offset), at, -Infinity);
      expect(r.next).toBeGreaterThan(at);
      slices.push(r);
      at = r.next;
    }
    // The third slice takes the record of 100 whole (its look at the clock comes after it).
    expect(slices.map((s) => s.next)).toEqual([64, 128, 151, 181]);
    expect(slices.map((s) => s.readings)).toEqual([64, 64, 122, 30]);
    expect(keys).toEqual([...messages.slice(0, 150).map((m) => m.key), ...Array.from({ length: 100 }, (_, i) => `B${i}`), ...messages.slice(151).map((m) => m.key)]);
    expect(records).toEqual(messages.map((_, i) => String(i)));
    // With time to spare, one slice takes the whole batch (dispatchReadings is that).
    expect(dispatchReadingsSlice(batch, { inc: () => undefined } as never, () => undefined, undefined, 0, Infinity)).toEqual({ readings: 280, next: 181 });
  });
});
