import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avroFingerprint, decodeForwardedReading, encodeForwardedReading, FORWARDED_READING_AVRO_FINGERPRINT, UnknownEncoding } from '../../../shared/contracts/forwarded-reading-avro.ts';
import { AVRO_FILE, CONTRACTS_DIR, renderAvroSchema } from '../../../shared/contracts/generate.ts';
import { validators } from '../../../shared/index.ts';
import { valueText } from '../../../central/flows/records.ts';

const full = { meterId: 'm-000008', ts: 1793491200124, seq: 1, voltage: 231.56, current: 1.043, power: 0.223, reactivePower: 0.093, powerFactor: 0.922, frequency: 49.991, energy: 34536.138, readingId: 'm-000008:1', edgeId: 'edge-1', substationId: 'sub-01', feederId: 'sub-01-f04', transformerId: 'sub-01-f04-t001', receivedAt: 1793491200130 };

describe('grid.readings in the Avro single-object encoding', () => {
  it('round-trips a full reading exactly, in a third of the JSON bytes', () => {
    const b = encodeForwardedReading(full);
    expect(b[0]).toBe(0xc3);
    expect(b[1]).toBe(0x01);
    expect(b.subarray(2, 10).equals(FORWARDED_READING_AVRO_FINGERPRINT)).toBe(true);
    expect(decodeForwardedReading(b)).toEqual(full);
    expect(b.length).toBeLessThan(JSON.stringify(full).length / 3);
  });

  it('keeps values that are not exact at the scale, missing fields, nulls, flags, own readingIds and extra fields', () => {
    const odd = { meterId: 'm-1', ts: 5, voltage: 230.123456789, frequency: 1e-9, energy: 12.34567891, readingId: 'm-1:h:abc', edgeId: 'e', substationId: null, feederId: null, transformerId: null, receivedAt: 3, flags: ['clock_behind', 'unassigned'], vendor: { fw: '1.2' } };
    const back = decodeForwardedReading(encodeForwardedReading(odd));
    expect(back).toEqual(odd);
    const withSeq = { ...full, seq: 7, readingId: 'something-else' };
    expect(decodeForwardedReading(encodeForwardedReading(withSeq)).readingId).toBe('something-else');
    expect(validators.forwardedReading.check(back)).toBe(true);
  });

  it('uses the CRC-64-AVRO fingerprint of the specification', () => {
    // Test vector of the Avro specification's reference implementations: "null" -> 7195948357588979594.
    expect(avroFingerprint('"null"').readBigUInt64LE().toString()).toBe('7195948357588979594');
  });

  it('refuses another schema with a clear error, and central counts it instead of dropping it', () => {
    const b = encodeForwardedReading(full);
    b[5] = b[5]! ^ 0xff;
    expect(() => decodeForwardedReading(b)).toThrow(UnknownEncoding);
    expect(() => decodeForwardedReading(b)).toThrow(/fingerprint [0-9a-f]{16}, which this reader does not know/);
    const t = valueText(b);
    expect(t.undecodable).toBeInstanceOf(UnknownEncoding);
    expect(Buffer.from((JSON.parse(t.text) as { _base64: string })._base64, 'base64').equals(b)).toBe(true);
    // JSON values pass unchanged; Avro ones become the JSON contract's text.
    expect(valueText(Buffer.from('{"a":1}')).text).toBe('{"a":1}');
    expect(JSON.parse(valueText(encodeForwardedReading(full)).text)).toEqual(full);
  });

  it('is published beside the JSON Schemas (npm run contracts:generate)', () => {
    expect(readFileSync(join(CONTRACTS_DIR, AVRO_FILE), 'utf8')).toBe(renderAvroSchema());
  });
});
