import { describe, expect, it } from 'vitest';
import { checkEvent, checkReading, parseJson, PARSE_FAILED, routeTopic } from '../../../edge/ingest/validate.ts';
import { BOUNDS } from './helpers.ts';

const NOW = Date.UTC(2026, 10, 23, 6, 0, 0);
const ok = { meterId: 'm-1', ts: NOW, seq: 7, voltage: 230.2 };

describe('routeTopic', () => {
  it('routes the three v1 topics and nothing else', () => {
    expect(routeTopic('meters/m-1/reading')).toEqual({ kind: 'reading', meterId: 'm-1' });
    expect(routeTopic('meters/m-1/event')).toEqual({ kind: 'event', meterId: 'm-1' });
    expect(routeTopic('concentrators/c-9/readings')).toEqual({ kind: 'readings', concentratorId: 'c-9' });
    for (const t of ['meters/m-1/reading/x', 'meters//reading', '$SYS/x/y', 'meters/m-1', 'concentrators/c/reading', 'x/m/reading', '/m/reading']) {
      expect(routeTopic(t)).toBeNull();
    }
  });
});

describe('checkReading', () => {
  const reason = (v: unknown, topic: string | null = 'm-1') => {
    const r = checkReading(v, topic, NOW, BOUNDS);
    return r.ok ? 'ok' : r.reason;
  };

  it('accepts a valid reading and normalises ISO-8601 ts to epoch ms', () => {
    const r = checkReading({ ...ok, ts: '2026-11-23T06:00:00.000Z', extra: 'kept' }, 'm-1', NOW, BOUNDS);
    expect(r.ok && r.reading.ts).toBe(NOW);
    expect(r.ok && r.reading.extra).toBe('kept');
    expect(r.ok && r.flags).toBeNull();
  });

  it('rejects each kind of bad reading with its reason', () => {
    expect(reason(null)).toBe('not_object');
    expect(reason([ok])).toBe('not_object');
    expect(reason('x')).toBe('not_object');
    expect(reason({ ...ok, voltage: undefined })).toBe('missing_field');
    expect(reason({ meterId: 'm-1', ts: NOW })).toBe('missing_field');
    expect(reason({ ...ok, voltage: '230' })).toBe('wrong_type');
    expect(reason({ ...ok, seq: 1.5 })).toBe('wrong_type');
    expect(reason({ ...ok, voltage: Infinity })).toBe('non_finite');
    expect(reason(parseJson('{"meterId":"m-1","ts":1,"voltage":1e999}'))).toBe('non_finite');
    expect(reason({ ...ok, voltage: -5 })).toBe('out_of_range');
    expect(reason({ ...ok, powerFactor: 3 })).toBe('out_of_range');
    expect(reason({ ...ok, meterId: 'm-2' })).toBe('topic_mismatch');
    expect(reason({ ...ok, meterId: 'bad id with spaces' }, null)).toBe('out_of_range');
    expect(reason({ ...ok, ts: '2026-02-30T00:00:00Z' })).toBe('wrong_type');
    expect(reason({ ...ok, ts: NOW + 2 * 86_400_000 })).toBe('clock_absurd');
    expect(reason({ ...ok, ts: NOW - 40 * 86_400_000 })).toBe('clock_absurd');
  });

  it('tags implausible but possible clocks instead of dropping', () => {
    const ahead = checkReading({ ...ok, ts: NOW + 600_000 }, 'm-1', NOW, BOUNDS);
    expect(ahead.ok && ahead.flags).toEqual(['clock_ahead']);
    const behind = checkReading({ ...ok, ts: NOW - 2 * 86_400_000 }, 'm-1', NOW, BOUNDS);
    expect(behind.ok && behind.flags).toEqual(['clock_behind']);
  });

  it('keeps the identity of a rejected reading for a gap', () => {
    const r = checkReading({ ...ok, voltage: 'x' }, 'm-1', NOW, BOUNDS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.meterId, r.seq, r.ts]).toEqual(['m-1', 7, NOW]);
  });
});

describe('checkEvent and parseJson', () => {
  it('checks meter events', () => {
    expect(checkEvent({ meterId: 'm-1', ts: NOW, type: 'last_gasp' }, 'm-1', NOW, BOUNDS).ok).toBe(true);
    const bad = checkEvent({ meterId: 'm-1', ts: NOW, type: 'explode' }, 'm-1', NOW, BOUNDS);
    expect(!bad.ok && bad.reason).toBe('wrong_type');
  });
  it('never throws on garbage', () => {
    expect(parseJson(Buffer.from([0xff, 0xfe, 0x00]))).toBe(PARSE_FAILED);
    expect(parseJson('[' .repeat(100_000))).toBe(PARSE_FAILED);
    expect(Array.isArray(parseJson('['.repeat(5000) + ']'.repeat(5000)))).toBe(true);
  });
});
