/**
 * Ground truth: one JSONL record per injected fault, saying what a perfect detector would report.
 * The format is documented in docs/simulator.md; the scorer reads it back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AnomalyType, GridEventType } from '../shared/contracts/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import type { ResolvedFault } from './faults.ts';

/** A resolved fault (`substationId` null for grid-wide faults) and what detection should make of it. */
export interface TruthRecord extends ResolvedFault {
  expect: { anomalyTypes: AnomalyType[]; eventType?: GridEventType };
}

/**
 * What each fault should produce. A voltage spike of +25 % is also a swell by IEEE 1159 (any
 * duration from half a cycle), so both are expected (an 8 % spike only as a spike); a sag or swell that lasts beyond a minute
 * is expected as undervoltage/overvoltage too (the scorer treats them as one class). An overload
 * is seen only by summing a transformer's meters, which is central's job, so it expects a grid
 * event and no per-meter anomaly.
 */
export function expectationOf(f: Pick<ResolvedFault, 'type' | 'scope' | 'magnitude' | 'startTs' | 'endTs'>): TruthRecord['expect'] {
  const long = f.endTs - f.startTs > 60_000;
  switch (f.type) {
    case 'spike':
      // Normal voltage is 0.95-1.05 pu, so +12 % surely crosses the 1.1 pu swell limit and -14 %
      // the 0.9 pu sag limit; smaller spikes stay within limits and are only statistical outliers.
      // No grid event is expected for the meter-local data faults (spike, stuck, drift, one
      // meter's dropout): central's policy (central/correlate/README.md, meterEventMinSeverity)
      // keeps minor and transient meter conditions as archived anomalies, not operator events.
      if (f.magnitude >= 0) return { anomalyTypes: f.magnitude >= 0.12 ? ['spike', 'swell'] : ['spike'] };
      return { anomalyTypes: f.magnitude <= -0.14 ? ['dip', 'sag'] : ['dip'] };
    case 'stuck':
      return { anomalyTypes: ['stuck'] };
    case 'drift':
      return { anomalyTypes: ['drift'] };
    case 'dropout':
      return { anomalyTypes: ['dropout'] };
    case 'tamper':
      return { anomalyTypes: ['tamper'], eventType: 'tamper' };
    case 'overload':
      return { anomalyTypes: [], eventType: 'overload' };
    case 'sag':
      return { anomalyTypes: long ? ['sag', 'undervoltage'] : ['sag'], eventType: long ? 'undervoltage' : 'sag' };
    case 'swell':
      return { anomalyTypes: long ? ['swell', 'overvoltage'] : ['swell'], eventType: long ? 'overvoltage' : 'swell' };
    case 'outage':
      return { anomalyTypes: ['outage'], eventType: 'outage' };
    case 'frequency':
      return { anomalyTypes: ['frequency_deviation'], eventType: 'frequency_deviation' };
    case 'step':
      // Within the limits the moving average sees it on every meter: one device event of the
      // voltage class (central rolls the shared deviation up), no meter event.
      return f.magnitude < 0 ? { anomalyTypes: ['dip'], eventType: 'sag' } : { anomalyTypes: ['spike'], eventType: 'swell' };
    case 'momentary':
      return { anomalyTypes: ['interruption'], eventType: 'momentary' };
    // Subtle faults (simulator/subtle-faults.ts) cross no limit: only a learned scorer sees them,
    // as a `pattern` anomaly on each affected meter. A degrading transformer's meters roll up to a
    // transformer `pattern` event in central; a meter's own pattern is minor, below the severity
    // of published meter events (correlate meterEventMinSeverity), so no event is expected of it.
    case 'transformer_degrading':
      return { anomalyTypes: ['pattern'], eventType: 'pattern' };
    case 'neutral':
    case 'diversion':
    case 'pv_inverter':
    case 'load_profile':
      return { anomalyTypes: ['pattern'] };
  }
}

export function toTruth(f: ResolvedFault): TruthRecord {
  return {
    faultId: f.faultId,
    type: f.type,
    scope: f.scope,
    rootId: f.rootId,
    substationId: f.substationId,
    meters: [...f.meters],
    startTs: f.startTs,
    endTs: f.endTs,
    magnitude: f.magnitude,
    expect: expectationOf(f),
  };
}

export function truthToJsonl(records: readonly TruthRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

export function parseTruthJsonl(text: string, sourceName = 'truth'): TruthRecord[] {
  const out: TruthRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: TruthRecord;
    try {
      rec = JSON.parse(line) as TruthRecord;
    } catch (err) {
      throw new GridwatchError('CONFIG_INVALID', `${sourceName}:${i + 1}: not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (typeof rec.faultId !== 'string' || !Array.isArray(rec.meters) || typeof rec.startTs !== 'number' || typeof rec.endTs !== 'number' || !rec.expect) {
      throw new GridwatchError('CONFIG_INVALID', `${sourceName}:${i + 1}: not a ground-truth record (needs faultId, meters, startTs, endTs, expect)`);
    }
    out.push(rec);
  });
  return out;
}

export function writeTruthFile(path: string, records: readonly TruthRecord[]): void {
  writeFileSync(path, truthToJsonl(records));
}

export function readTruthFile(path: string): TruthRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `cannot read truth file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseTruthJsonl(text, path);
}
