import { describe, expect, it } from 'vitest';
import { validators } from '../../../shared/index.ts';
import { HeartbeatBuilder, type HeartbeatInputs } from '../../../edge/ops/heartbeat.ts';

const base: HeartbeatInputs = {
  edgeId: 'e1',
  substationId: 's1',
  startedAt: 1_000_000,
  now: 1_010_000,
  outbox: { depth: 5, bytes: 1000, oldestAgeMs: 250 },
  gaps: { records: 1, readings: 10 },
  totals: { accepted: 1000, rejected: 10, forwarded: 900 },
  medianSkewMs: 120,
  clockSkewMs: 300_000,
  meters: 42,
  version: '0.1.0',
};

describe('HeartbeatBuilder', () => {
  it('builds a valid v1 EdgeStatus with rates since the previous beat', () => {
    const h = new HeartbeatBuilder();
    const first = h.build(base);
    expect(validators.edgeStatus.check(first)).toBe(true);
    expect(first.rates).toEqual({ acceptedPerSec: 100, rejectedPerSec: 1, forwardedPerSec: 90 });
    expect(first.clock).toEqual({ state: 'ok', medianSkewMs: 120 });
    const second = h.build({ ...base, now: 1_020_000, totals: { accepted: 1500, rejected: 10, forwarded: 1900 }, medianSkewMs: -400_000 });
    expect(second.rates).toEqual({ acceptedPerSec: 50, rejectedPerSec: 0, forwardedPerSec: 100 });
    expect(second.clock.state).toBe('skewed');
    expect(h.build({ ...base, now: 1_030_000, medianSkewMs: null }).clock.state).toBe('unknown');
  });
});
