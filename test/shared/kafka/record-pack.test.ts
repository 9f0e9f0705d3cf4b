import { describe, expect, it } from 'vitest';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import { kafkaError } from '../../../shared/kafka/index.ts';
import { errorFromData, errorToData, packBatch, unpackBatch } from '../../../shared/kafka/record-pack.ts';
import { classifyKafkaRefusal } from '../../../shared/kafka/security.ts';
import { PLAINTEXT } from '../../../shared/kafka/client.ts';
import type { TopicRecords } from '../../../shared/kafka/producer.ts';

/** What crosses to the producer thread: a structured clone, the buffer transferred. */
function across<T>(value: T, transfer: ArrayBuffer[] = []): T {
  return structuredClone(value, { transfer });
}

const text = (b: Buffer | undefined): string | undefined => b?.toString('utf8');

describe('packBatch / unpackBatch (records to the producer thread)', () => {
  it('every field of every record arrives whole and in order: keys or none, partitions or none, string and Buffer values, headers, non-ASCII text', () => {
    const binary = Buffer.from([0, 255, 1, 254, 0x0a]);
    const batch: TopicRecords[] = [
      { topic: 'grid.readings', records: [
        { key: 'm-1', value: '{"v":230.1}', headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': 'edge-1:1' } },
        { key: 'mètre-Ω', value: binary },
        { key: null, value: 'no key', partition: 5 },
        { key: 'k', value: '', partition: 0, headers: { 'ünïcode-name': 'välue ✓' } },
      ] },
      { topic: 'grid.empty', records: [] },
      { topic: 'grid.anomalies', records: [{ key: 'a', value: 'x'.repeat(70_000) }] },
    ];
    const packed = packBatch(batch);
    expect(packed.topics).toEqual([['grid.readings', 4], ['grid.anomalies', 1]]);
    const got = unpackBatch(across(packed, [packed.buffer]));
    expect(packed.buffer.byteLength).toBe(0); // transferred, not copied
    expect(got.map((m) => m.topic)).toEqual(['grid.readings', 'grid.readings', 'grid.readings', 'grid.readings', 'grid.anomalies']);
    expect(got.map((m) => text(m.key))).toEqual(['m-1', 'mètre-Ω', undefined, 'k', 'a']);
    expect(got.map((m) => m.partition)).toEqual([undefined, undefined, 5, 0, undefined]);
    expect(text(got[0]!.value)).toBe('{"v":230.1}');
    expect(got[1]!.value.equals(binary)).toBe(true);
    expect(got[3]!.value.length).toBe(0);
    expect(got[4]!.value.length).toBe(70_000);
    expect([...got[0]!.headers!].map(([k, v]) => [text(k), text(v)])).toEqual([['gridwatch-contract', 'forwarded-reading/v1'], ['gridwatch-record-id', 'edge-1:1']]);
    expect([...got[3]!.headers!].map(([k, v]) => [text(k), text(v)])).toEqual([['ünïcode-name', 'välue ✓']]);
    expect(got[1]!.headers).toBeUndefined();
  });

  it('grows past its first estimate (values of multi-byte text) and reads back exactly what it wrote', () => {
    const records = Array.from({ length: 2_000 }, (_, i) => ({ key: `m-${i}`, value: '€'.repeat(i % 50), headers: { h: '✓'.repeat(i % 7) } }));
    const got = unpackBatch(packBatch([{ topic: 't', records }]));
    expect(got).toHaveLength(2_000);
    for (let i = 0; i < 2_000; i += 97) {
      expect(text(got[i]!.value)).toBe('€'.repeat(i % 50));
      expect(text(got[i]!.headers!.values().next().value)).toBe('✓'.repeat(i % 7));
    }
  });

  it('a buffer that does not hold what its topics say is refused, not read short', () => {
    const packed = packBatch([{ topic: 't', records: [{ key: 'a', value: 'b' }] }]);
    expect(() => unpackBatch({ ...packed, topics: [['t', 2]] })).toThrow();
    expect(() => unpackBatch({ ...packed, length: packed.length + 3 })).toThrow(/read/);
  });
});

describe('errorToData / errorFromData (errors back from the producer thread)', () => {
  // Each as the classifiers judge it on this side, and after crossing.
  const cases: [string, Error][] = [
    ['network', new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })])],
    ['timeout', new TimeoutError('Request timed out')],
    ['not leader, after retries', new MultipleErrors('produce failed 3 times.', [new ProtocolError('NOT_LEADER_OR_FOLLOWER'), new ProtocolError('NOT_LEADER_OR_FOLLOWER')])],
    ['login refused', new AuthenticationError('SASL authentication failed.')],
    ['too large after a network error', new MultipleErrors('produce failed 2 times.', [new NetworkError('Connection closed'), new ProtocolError('MESSAGE_TOO_LARGE')])],
    ['misuse', new UserError('Unknown topic grid.x.')],
    ['ACL', new MultipleErrors('produce failed.', [new ProtocolError('TOPIC_AUTHORIZATION_FAILED')])],
    ['not a library error', new Error('something else')],
  ];
  it.each(cases)('%s: the same code, retryability, message and refusal as the original', (_, original) => {
    const back = errorFromData(across(errorToData(original)));
    const a = kafkaError(original, 'forwarding');
    const b = kafkaError(back, 'forwarding');
    expect({ code: b.code, retryable: b.retryable, message: b.message }).toEqual({ code: a.code, retryable: a.retryable, message: a.message });
    const ctx = { brokers: ['127.0.0.1:9'], security: PLAINTEXT };
    expect(classifyKafkaRefusal(back, ctx)).toEqual(classifyKafkaRefusal(original, ctx));
  });

  it('the refusals are still named after crossing: a refused login, a denied ACL', () => {
    const ctx = { brokers: ['127.0.0.1:9'], security: PLAINTEXT };
    const back = (e: Error): Error => errorFromData(across(errorToData(e)));
    expect(classifyKafkaRefusal(back(cases[3]![1]), ctx)?.code).toBe('KAFKA_AUTH_FAILED');
    expect(classifyKafkaRefusal(back(cases[6]![1]), ctx)?.code).toBe('KAFKA_ACL_DENIED');
    expect(kafkaError(back(cases[2]![1]), 'x').message).toMatch(/leader/i);
  });

  it('a thrown non-error still comes back as an Error with its text', () => {
    expect(errorFromData(errorToData('plain text')).message).toContain('producer thread');
    const e = errorFromData(across(errorToData(new RangeError('bad'))));
    expect([e.name, e.message]).toEqual(['RangeError', 'bad']);
  });
});
