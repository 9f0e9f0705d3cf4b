import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishedSchemas, toEpochMs, validators } from '../../../shared/contracts/index.ts';
import { CONTRACTS_DIR, renderSchema } from '../../../shared/contracts/generate.ts';

const reading = { meterId: 'M-0001', ts: 1795413600000, seq: 7, voltage: 231.2, current: 4.1, frequency: 50.01 };

describe('reading contract', () => {
  it('accepts a valid reading, ISO timestamps and unknown extra fields', () => {
    expect(validators.reading.validate(reading).ok).toBe(true);
    expect(validators.reading.check({ ...reading, ts: '2026-11-23T06:00:00.123Z' })).toBe(true);
    expect(validators.reading.check({ ...reading, ts: '2026-11-23T06:00:00+01:00' })).toBe(true);
    expect(validators.reading.check({ ...reading, vendorField: { x: 1 } })).toBe(true);
  });

  it('reports every problem with its field path', () => {
    const result = validators.reading.validate({ meterId: 'bad id!', ts: 'yesterday', voltage: 'high', seq: -1 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path).sort();
    expect(paths).toEqual(['/meterId', '/seq', '/ts', '/voltage']);
  });

  it('rejects a missing voltage, infinite values and impossible dates', () => {
    const { voltage: _v, ...noVoltage } = reading;
    expect(validators.reading.validate(noVoltage)).toMatchObject({ ok: false, problems: [{ path: '/voltage' }] });
    expect(validators.reading.check(JSON.parse('{"meterId":"m1","ts":1,"voltage":1e999}'))).toBe(false);
    expect(validators.reading.check({ ...reading, voltage: Number.NaN })).toBe(false);
    expect(validators.reading.check({ ...reading, ts: '2026-02-30T00:00:00Z' })).toBe(false);
    expect(validators.reading.check({ ...reading, ts: 1.5 })).toBe(false);
    expect(validators.reading.check({ ...reading, powerFactor: 1.2 })).toBe(false);
  });

  it('normalises timestamps to epoch milliseconds', () => {
    expect(toEpochMs('2026-11-23T06:00:00.000Z')).toBe(Date.UTC(2026, 10, 23, 6));
    expect(toEpochMs(42)).toBe(42);
  });
});

describe('other contracts', () => {
  it('meter events accept the known types only', () => {
    expect(validators.meterEvent.check({ meterId: 'm1', ts: 1, type: 'last_gasp' })).toBe(true);
    expect(validators.meterEvent.check({ meterId: 'm1', ts: 1, type: 'exploded' })).toBe(false);
  });

  it('anomalies need their lifecycle fields', () => {
    const anomaly = {
      anomalyId: 'e1:m1:sag:voltage:1', edgeId: 'e1', meterId: 'm1', substationId: 'S1', feederId: 'F1', transformerId: 'T1',
      type: 'sag', channel: 'voltage', state: 'open', severity: 'major', startTs: 1, endTs: null, observed: 180, baseline: 230, detectedAt: 2,
    };
    expect(validators.anomaly.validate(anomaly).ok).toBe(true);
    expect(validators.anomaly.check({ ...anomaly, state: 'ongoing' })).toBe(false);
  });

  it('topology entries refuse unknown columns and bad frequencies', () => {
    const entry = { meterId: 'm1', transformerId: 'T1', feederId: 'F1', substationId: 'S1', phase: 'A', nominalVoltage: 230, nominalFrequency: 50 };
    expect(validators.topologyEntry.check(entry)).toBe(true);
    expect(validators.topologyEntry.check({ ...entry, nominalFrequency: 55 })).toBe(false);
    expect(validators.topologyEntry.check({ ...entry, colour: 'red' })).toBe(false);
  });
});

describe('published JSON Schemas', () => {
  it.each(Object.entries(publishedSchemas))('%s matches its TypeBox source (run npm run contracts:generate)', (file, schema) => {
    const onDisk = readFileSync(join(CONTRACTS_DIR, file), 'utf8');
    expect(onDisk).toBe(renderSchema(schema));
  });
});
