import type { Severity } from './config.ts';
import type { Anomaly, AnomalyType, GridEventType } from '../../shared/contracts/index.ts';
import { maxSeverity } from './config.ts';

/**
 * Classes of anomaly for the roll-up. Anomalies of one class under one device are one condition;
 * `meter_fault` and `tamper` are meter-local (a sensor or a customer, never a device upstream).
 */
export type AnomalyClass = 'voltage_low' | 'voltage_high' | 'outage' | 'frequency' | 'overload' | 'meter_fault' | 'tamper' | 'pattern';
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
  // A learned finding (central/learn): its own class, so that a transformer whose meters change
  // pattern together (a degrading transformer) is one transformer event (rollupLevels).
  pattern: 'pattern',
};

export function classOf(t: AnomalyType): AnomalyClass {
  return CLASS_OF[t];
}

/** Statistical deviations: judged against the meter's own moving average, not against a limit. */
export function isDeviation(t: AnomalyType): boolean {
  return t === 'spike' || t === 'dip' || t === 'drift';
}

/**
 * The class an anomaly counts in. With coincident deviations on, a voltage spike, dip or drift
 * counts in the voltage class of its direction and a frequency one in frequency: a deviation that
 * a share of a device's meters share is a grid condition (a tap change, a sagging supply), and
 * the roll-up decides that, not the meter. Current and power deviations stay meter-local: they
 * follow each customer's own load (the edge rates them `info`), and a transformer's summed load is
 * the overload rule's. Stuck is a sensor fault whatever its neighbours do. A deviation without a
 * direction (no observed value or baseline) stays meter-local too.
 */
export function classOfAnomaly(a: Pick<Anomaly, 'type' | 'channel' | 'observed' | 'baseline'>, coincident: boolean): AnomalyClass {
  if (!coincident || !isDeviation(a.type)) return CLASS_OF[a.type];
  if (a.channel === 'frequency') return 'frequency';
  if (a.channel !== 'voltage' || a.observed === null || a.baseline === null) return CLASS_OF[a.type];
  if (a.type === 'dip') return 'voltage_low';
  if (a.type === 'spike') return 'voltage_high';
  return a.observed < a.baseline ? 'voltage_low' : 'voltage_high';
}

/**
 * Levels a class may roll up to, lowest first. Overload is a transformer's rating, so it stops
 * there (a feeder with many overloaded transformers is many overloads); meter-local classes never
 * roll up. Only frequency goes on to the grid (it is set by the transmission system).
 */
export function rollupLevels(c: AnomalyClass): readonly DeviceLevel[] {
  if (c === 'meter_fault' || c === 'tamper') return [];
  if (c === 'overload') return ['transformer'];
  // Conservative: a shared change of pattern names the transformer its meters hang on and stops
  // there. The model judges each meter against its transformer's neighbours, so a feeder or a
  // substation pattern is not evidence it was trained to give.
  if (c === 'pattern') return ['transformer'];
  return ['transformer', 'feeder', 'substation'];
}

/** What an event has seen among its members; decides its type, which only ever upgrades. */
export interface MemberFlags {
  lastGasps: number; // members with an `outage` (last gasp) anomaly
  sustained: boolean; // an undervoltage / overvoltage member (IEEE 1159: > 1 min)
  /** Meter scope only: the meter's evidence is statistical deviations only (a meter_fault, as before coincidence). */
  deviationOnly?: boolean;
}

/**
 * Event type of a class. Outage: `outage` once any member sent a last gasp, else `silence` (many
 * silent meters with no last gasp is as likely a concentrator or link as a de-energised device,
 * and does not send a crew). Voltage: sag/swell until a member is sustained (under/overvoltage).
 */
export function eventTypeOf(c: AnomalyClass, f: MemberFlags, anomalyType?: AnomalyType): GridEventType {
  if (f.deviationOnly) return 'meter_fault';
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
    case 'pattern':
      return 'pattern';
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
 * | momentary | info | info | info | - |
 * | pattern (learned) | minor | - | - | - |
 *
 * A device event whose members are statistical deviations only is `minor` at any scope: no limit
 * was crossed (the limit rules would have said so), so it is a condition to look at, not to
 * dispatch for, and below the notifier's default.
 */
export function severityOf(scope: EventScope, type: GridEventType, maxMember: Severity, deviationOnly = false): Severity {
  if (scope === 'meter') return maxMember;
  if (type === 'momentary') return 'info';
  // A model's finding crossed no limit: a condition to look at, never one to dispatch for.
  if (type === 'pattern') return 'minor';
  if (deviationOnly) return 'minor';
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
