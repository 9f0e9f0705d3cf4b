import { describe, expect, it } from 'vitest';
import { validators, type GridEvent } from '../../../shared/contracts/index.ts';
import { T0, anomaly, metersOf, setup } from './fixtures.ts';

// Learned `pattern` anomalies (central/learn) roll up like any other class, but only as far as the
// transformer, and at severity minor: the model crossed no limit.
const brief = (e: GridEvent) => ({ scope: e.scope, rootId: e.rootId, type: e.type, state: e.state, affectedCount: e.affectedCount, severity: e.severity });
const learned = (m: string, ts: number) => anomaly(m, 'pattern', ts, { channel: 'none', score: 0.9, threshold: 0.5, modelVersion: 'a'.repeat(64) });

function valid(events: GridEvent[]): GridEvent[] {
  for (const e of events) expect(validators.gridEvent.validate(e).ok).toBe(true);
  return events;
}

describe('Correlator: learned patterns', () => {
  it('most meters of one transformer with a pattern: one transformer pattern event, minor, no meter events', () => {
    const { c, clock } = setup();
    for (const [i, m] of metersOf('T1').slice(0, 4).entries()) c.onAnomaly(learned(m, T0 + i * 1000));
    clock.advance(120_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'pattern', state: 'open', affectedCount: 4, severity: 'minor' }]);
  });

  it('one meter with a pattern is no device event; a meter event only where minor meter events are published', () => {
    const quiet = setup();
    quiet.c.onAnomaly(learned('T2.3', T0));
    quiet.clock.advance(120_000);
    expect(quiet.c.tick()).toEqual([]);
    const { c, clock } = setup({ meterEventMinSeverity: 'minor' });
    c.onAnomaly(learned('T2.3', T0));
    clock.advance(120_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'meter', rootId: 'T2.3', type: 'pattern', state: 'open', affectedCount: 1, severity: 'minor' }]);
  });

  it('patterns on most transformers of a feeder stay transformer events: no feeder roll-up', () => {
    const { c, clock } = setup();
    let ts = T0;
    for (const t of ['T1', 'T2', 'T3', 'T4']) for (const m of metersOf(t)) c.onAnomaly(learned(m, (ts += 100)));
    clock.advance(120_000);
    const out = valid(c.tick());
    expect(new Set(out.map((e) => e.scope))).toEqual(new Set(['transformer']));
    expect(out.map((e) => e.rootId).sort()).toEqual(['T1', 'T2', 'T3', 'T4']);
  });

  it('a pattern does not join a sag event of the same transformer (its own class)', () => {
    const { c, clock } = setup({ meterEventMinSeverity: 'minor' });
    for (const m of metersOf('T1').slice(0, 4)) c.onAnomaly(anomaly(m, 'sag', T0));
    clock.advance(10_000);
    c.tick();
    c.onAnomaly(learned('T1.5', T0 + 20_000));
    clock.advance(120_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'meter', rootId: 'T1.5', type: 'pattern', state: 'open', affectedCount: 1, severity: 'minor' }]);
  });
});
