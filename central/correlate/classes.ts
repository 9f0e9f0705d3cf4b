import type { Severity } from './config.ts';
import type { AnomalyType, GridEventType } from '../../shared/contracts/index.ts';
import { maxSeverity } from './config.ts';

/**
 * Classes of anomaly for the roll-up. Anomalies of one class under one device are one condition;
 * `meter_fault` and `tamper` are meter-local (a sensor or a customer, never a device upstream).
 */
export type AnomalyClass = 'voltage_low' | 'voltage_high' | 'outage' | 'frequency' | 'overload' | 'meter_fault' | 'tamper';
export type DeviceLevel = 'transformer' | 'feeder' | 'substation';
export type EventScope = 'meter' | DeviceLevel | 'grid';

const CLASS_OF: Record<AnomalyType, AnomalyClass> = {
  sag: 'voltage_low',
  undervoltage: 'voltage_low',
  interruption: 'voltage_low',
  swell: 'voltage_high',
  overvoltage: 'voltage_high',
  outage: 'outage',
  dropout: 'outage',
  frequency_deviation: 'frequency',
  overcurrent: 'overload',
  spike: 'meter_fault',
  dip: 'meter_fault',
  stuck: 'meter_fault',
  drift: 'meter_fault',
  tamper: 'tamper',
  // A learned finding is kept meter-local for now (like a drift): a transformer-wide pattern
  // still shows as one anomaly per meter; rolling patterns up to devices is left for later.
  pattern: 'meter_fault',
};

export function classOf(t: AnomalyType): AnomalyClass {
  return CLASS_OF[t];
}

/**
 * Levels a class may roll up to, lowest first. Overload is a transformer's rating, so it stops
 * there (a feeder with many overloaded transformers is many overloads); meter-local classes never
 * roll up. Only frequency goes on to the grid (it is set by the transmission system).
 */
export function rollupLevels(c: AnomalyClass): readonly DeviceLevel[] {
  if (c === 'meter_fault' || c === 'tamper') return [];
  if (c === 'overload') return ['transformer'];
  return ['transformer', 'feeder', 'substation'];
}

/** What an event has seen among its members; decides its type, which only ever upgrades. */
export interface MemberFlags {
  lastGasps: number; // members with an `outage` (last gasp) anomaly
  sustained: boolean; // an undervoltage / overvoltage member (IEEE 1159: > 1 min)
}

/**
 * Event type of a class. Outage: `outage` once any member sent a last gasp, else `silence` (many
 * silent meters with no last gasp is as likely a concentrator or link as a de-energised device,
 * and does not send a crew). Voltage: sag/swell until a member is sustained (under/overvoltage).
 */
export function eventTypeOf(c: AnomalyClass, f: MemberFlags, anomalyType?: AnomalyType): GridEventType {
  switch (c) {
    case 'voltage_low':
      return f.sustained ? 'undervoltage' : 'sag';
    case 'voltage_high':
      return f.sustained ? 'overvoltage' : 'swell';
    case 'outage':
      return f.lastGasps > 0 ? 'outage' : 'silence';
    case 'frequency':
      return 'frequency_deviation';
    case 'overload':
      return 'overload';
    case 'tamper':
      return 'tamper';
    case 'meter_fault':
      return anomalyType === 'tamper' ? 'tamper' : 'meter_fault';
  }
}

/**
 * Severity by scope and type. Device events: the base below, raised to the highest member
 * severity for voltage, frequency and overload (a transformer in interruption is critical).
 * Outage and silence are fixed by scope: every last gasp is `critical` at the edge, so the
 * members' severity would say nothing. Meter events carry the anomaly's own severity.
 *
 * | type | transformer | feeder | substation | grid |
 * |---|---|---|---|---|
 * | outage | major | critical | critical | - |
 * | silence | minor | major | major | - |
 * | sag, swell, under/overvoltage | minor | major | major | - |
 * | frequency_deviation | minor | major | major | critical |
 * | overload | major | - | - | - |
 * | comms_loss | - | - | major | - |
 */
export function severityOf(scope: EventScope, type: GridEventType, maxMember: Severity): Severity {
  if (scope === 'meter') return maxMember;
  if (scope === 'grid') return 'critical';
  if (type === 'comms_loss') return 'major';
  if (type === 'outage') return scope === 'transformer' ? 'major' : 'critical';
  if (type === 'silence') return scope === 'transformer' ? 'minor' : 'major';
  if (type === 'overload') return maxSeverity('major', maxMember);
  return maxSeverity(scope === 'transformer' ? 'minor' : 'major', maxMember);
}

export function isSustained(t: AnomalyType): boolean {
  return t === 'undervoltage' || t === 'overvoltage';
}
