import { describe, expect, it } from 'vitest';
import { parseAnomalyQuery, parseEventQuery, parsePathId, parseTopologyQuery } from '../../../central/api/query.ts';

const q = (s: string) => new URLSearchParams(s);

describe('parseEventQuery', () => {
  it('accepts every filter', () => {
    const r = parseEventQuery(q('state=open&scope=transformer&substation=S01&type=sag&from=1000&to=2026-11-23T06:00:00Z&limit=5'));
    expect(r).toEqual({ ok: true, value: { state: 'open', scope: 'transformer', substation: 'S01', type: 'sag', from: 1000, to: Date.UTC(2026, 10, 23, 6), limit: 5 } });
  });
  it('defaults the limit', () => {
    expect(parseEventQuery(q(''))).toEqual({ ok: true, value: { limit: 100 } });
  });
  it.each([
    ['state=half', /state="half": expected one of open, closed/],
    ['scope=planet', /scope="planet"/],
    ['limit=0', /limit="0": expected an integer in 1..1000/],
    ['limit=5000', /limit/],
    ['limit=abc', /limit/],
    ['from=yesterday', /from="yesterday": expected epoch milliseconds or an ISO-8601/],
    ['from=2000&to=1000', /from is after to/],
    ['substation=S%2F01', /substation=.*expected an id/],
    ['state=open&state=closed', /state: given 2 times/],
    ['stat=open', /unknown parameter "stat"/],
  ])('refuses %s with a reason', (query, reason) => {
    const r = parseEventQuery(q(query));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('parseAnomalyQuery / parseTopologyQuery / parsePathId', () => {
  it('parses anomaly filters', () => {
    expect(parseAnomalyQuery(q('meter=M1&state=closed'))).toEqual({ ok: true, value: { meter: 'M1', state: 'closed', limit: 100 } });
    expect(parseAnomalyQuery(q('scope=grid')).ok).toBe(false);
  });
  it('parses the topology filter', () => {
    expect(parseTopologyQuery(q('substation=S01'))).toEqual({ ok: true, value: { substation: 'S01' } });
    expect(parseTopologyQuery(q('feeder=F1')).ok).toBe(false);
  });
  it('checks path ids', () => {
    expect(parsePathId('M-001', 'meter id')).toEqual({ ok: true, value: 'M-001' });
    expect(parsePathId('%E0%A4%A', 'meter id').ok).toBe(false);
    expect(parsePathId('a'.repeat(65), 'meter id').ok).toBe(false);
    expect(parsePathId('', 'meter id').ok).toBe(false);
  });
});
