import { describe, expect, it } from 'vitest';
import { Topology, type TopologyEntry } from '../../../shared/index.ts';
import { spliceAt } from '../../../edge/ingest/forwarded-text.ts';
import { makeIntake } from './helpers.ts';

const ANON = { kind: 'anonymous' as const, id: 'anonymous' };
const entry = (meterId: string): TopologyEntry => ({ meterId, transformerId: 't-1', feederId: 'f-1', substationId: 's-1', phase: 'A', nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 });

async function forwarded(text: string): Promise<{ value: string }> {
  const t = makeIntake({ topology: new Topology([entry('m-1')]) });
  const err = await new Promise<Error | undefined>((resolve) => t.intake.onPublish(ANON, 'c-1', 'meters/m-1/reading', Buffer.from(text.replaceAll('NOW', String(t.clock.now())).replaceAll('ISO', new Date(t.clock.now()).toISOString())), resolve));
  expect(err).toBeUndefined();
  const [rec] = t.committer.records('grid.readings');
  return { value: rec!.value };
}

describe('the forwarded text of a single reading', () => {
  it('is the sender text plus the gateway fields: byte for byte what JSON.stringify wrote for a compact text', async () => {
    const text = '{"meterId":"m-1","seq":7,"ts":NOW,"voltage":231.25,"current":12.5,"power":2.75,"frequency":50.01,"extra":{"a":[1,{"b":"x:y}"}]}}';
    const { value } = await forwarded(text);
    const obj = JSON.parse(value) as Record<string, unknown>;
    expect(obj).toMatchObject({ meterId: 'm-1', seq: 7, voltage: 231.25, extra: { a: [1, { b: 'x:y}' }] }, readingId: 'm-1:7', edgeId: 'edge-t', substationId: 's-1', feederId: 'f-1', transformerId: 't-1' });
    expect(value).toBe(JSON.stringify(obj)); // same key order, same spelling
  });

  it('means what the stringified object means when the sender spaces or spells numbers its own way', async () => {
    const { value } = await forwarded('{ "meterId" : "m-1", "seq": 8, "ts": NOW, "voltage": 231.250, "note": "e1" } ');
    expect(value.startsWith('{ "meterId" : "m-1"')).toBe(true); // the sender's text, kept
    expect(JSON.parse(value)).toMatchObject({ meterId: 'm-1', seq: 8, voltage: 231.25, note: 'e1', readingId: 'm-1:8' });
    expect(value.includes('\n')).toBe(false);
  });

  it('is stringified when a number has an exponent (an unknown 1e400 is Infinity, written null by stringify)', async () => {
    for (const c of ['{"meterId":"m-1","seq":8,"ts":NOW,"voltage":2.3125e2}', '{"meterId":"m-1","seq":8,"ts":NOW,"voltage":231.25,"x":1E400}']) {
      const { value } = await forwarded(c);
      const obj = JSON.parse(value) as Record<string, unknown>;
      expect(value).toBe(JSON.stringify(obj));
      expect(obj.voltage).toBe(231.25);
    }
  });

  it('is stringified instead when the text repeats a name, breaks lines, carries gateway fields or an ISO ts', async () => {
    const cases = [
      '{"meterId":"m-1","seq":9,"ts":NOW,"voltage":999,"voltage":231}',
      '{"meterId":"m-1",\n"seq":9,"ts":NOW,"voltage":231}',
      '{"meterId":"m-1","seq":9,"ts":NOW,"voltage":231,"flags":["forged"]}',
      '{"meterId":"m-1","seq":9,"ts":NOW,"voltage":231,"edgeId":"evil"}',
    ];
    for (const c of cases) {
      const { value } = await forwarded(c);
      const obj = JSON.parse(value) as Record<string, unknown>;
      expect(value).toBe(JSON.stringify(obj));
      expect(obj.voltage).toBe(231);
      expect(obj.edgeId).toBe('edge-t');
      expect(obj.flags).toBeUndefined();
    }
    const iso = await forwarded('{"meterId":"m-1","seq":9,"ts":"ISO","voltage":231}');
    expect(typeof (JSON.parse(iso.value) as { ts: unknown }).ts).toBe('number');
  });

  it('spliceAt counts top-level members only, outside strings and escapes', () => {
    const ok = '{"a":"x\\":y","b":{"c":1,"d":[":"]},"e":[{"f":2}]}';
    expect(spliceAt(ok, JSON.parse(ok) as Record<string, unknown>)).toBe(ok.length - 1);
    const dup = '{"a":1,"b":{"c":1},"a":2}';
    expect(spliceAt(dup, JSON.parse(dup) as Record<string, unknown>)).toBe(-1);
    const tab = '{"a":1,\t"b":2}';
    expect(spliceAt(tab, JSON.parse(tab) as Record<string, unknown>)).toBe(-1);
  });
});
