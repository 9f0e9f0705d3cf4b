import { describe, expect, it } from 'vitest';
import { parseTopology, topologyToCsv, Topology } from '../../../shared/topology/index.ts';

const CSV = `meterId,transformerId,feederId,substationId,phase,nominalVoltage,nominalFrequency,transformerKva,readingIntervalMs
m1,T1,F1,S1,A,230,50,100,
m2,T1,F1,S1,B,230,50,100,
m3,T2,F1,S1,C,230,50,,5000
m4,T3,F2,S2,A,120,60,25,
`;

describe('topology', () => {
  it('loads CSV, indexes meters under every ancestor and round-trips', () => {
    const entries = parseTopology(CSV, 'csv');
    const t = new Topology(entries);
    expect(t.size).toBe(4);
    expect([...t.metersUnder('transformer', 'T1')].sort()).toEqual(['m1', 'm2']);
    expect([...t.metersUnder('feeder', 'F1')].sort()).toEqual(['m1', 'm2', 'm3']);
    expect(t.metersUnder('grid', 'grid').size).toBe(4);
    expect(t.meter('m3')).toMatchObject({ readingIntervalMs: 5000, nominalFrequency: 50 });
    expect(t.meter('m3')?.transformerKva).toBeUndefined();
    expect(t.parentOf('transformer', 'T3')).toBe('F2');
    expect(t.parentOf('feeder', 'F2')).toBe('S2');
    expect(t.substations().sort()).toEqual(['S1', 'S2']);
    expect(parseTopology(topologyToCsv(entries), 'csv')).toEqual(entries);
  });

  it('loads JSON in both shapes', () => {
    const entries = parseTopology(CSV, 'csv');
    expect(parseTopology(JSON.stringify(entries), 'json')).toEqual(entries);
    expect(parseTopology(JSON.stringify({ meters: entries }), 'json')).toEqual(entries);
  });

  it('moves a meter when its entry is replaced', () => {
    const t = new Topology(parseTopology(CSV, 'csv'));
    t.upsert({ ...t.meter('m1')!, transformerId: 'T2' });
    expect([...t.metersUnder('transformer', 'T1')]).toEqual(['m2']);
    expect([...t.metersUnder('transformer', 'T2')].sort()).toEqual(['m1', 'm3']);
    t.remove('m4');
    expect(t.substations()).toEqual(['S1']);
  });

  it('reports every bad row with its line, and duplicates', () => {
    const bad = CSV + 'm5,T1,F1,S1,Z,230,50,,\nm1,T1,F1,S1,A,230,50,,\nm6,T1,F1,S1,A,-5,50,,\n';
    expect(() => parseTopology(bad, 'csv', 'topo.csv')).toThrow(/topo\.csv: 3 invalid row\(s\):[\s\S]*line 6: \/phase[\s\S]*line 7: meter m1 is listed more than once[\s\S]*line 8: \/nominalVoltage/);
  });
});

describe('topology CSV without quotes (the fast path) reads as csv-parse does', () => {
  const quoted = (text: string) => text.replace('m1,T1', '"m1",T1'); // one quote: csv-parse reads the file
  it('comments, blank lines, CRLF and spaces around fields', () => {
    const messy = '# exported 2026-12-01\r\n' + CSV.replace('m2,T1', ' m2 , T1 ').replace('m3,', '\r\n\r\nm3,').replace(/\n/g, '\r\n').replace('m4,T3,F2,S2,A,120,60,25,', 'm4,T3,F2,S2,A,120,60,25, # last one');
    const fast = parseTopology(messy, 'csv');
    expect(fast).toHaveLength(4);
    expect(fast).toEqual(parseTopology(CSV, 'csv'));
    expect(parseTopology(quoted(messy), 'csv')).toEqual(fast);
  });

  it('refuses a row with another number of fields than the header, both ways', () => {
    const short = CSV + 'm5,T1,F1\n';
    expect(() => parseTopology(short, 'csv', 'short.csv')).toThrow(/short\.csv: not valid CSV/);
    expect(() => parseTopology(quoted(short), 'csv', 'short.csv')).toThrow(/short\.csv: not valid CSV/);
  });

  it('names the real line of a bad row after comments and blank lines', () => {
    const bad = CSV.replace('m3,', '# a comment\n\nm3,') + 'm5,T1,F1,S1,Z,230,50,,\n';
    expect(() => parseTopology(bad, 'csv', 'topo.csv')).toThrow(/line 8: \/phase/);
  });
});
