/**
 * The scorer: compares detected anomalies and grid events with the injected ground truth. Pure;
 * `score-main.ts` does the reading of files and Kafka. The matching rules are the ones written in
 * docs/simulator.md; change both together.
 */
import type { Anomaly, AnomalyType, GridEvent, GridEventType } from '../shared/contracts/index.ts';
import type { FaultScope } from './faults.ts';
import type { TruthRecord } from './truth.ts';

/** Anomaly types that count as the same finding; the class is named after its first member. */
export const ANOMALY_CLASSES: readonly (readonly AnomalyType[])[] = [
  ['sag', 'undervoltage'],
  ['swell', 'overvoltage'],
  ['outage', 'interruption', 'dropout'],
  ['spike', 'dip'],
  ['stuck'],
  ['drift'],
  ['frequency_deviation'],
  ['overcurrent'],
  ['tamper'],
];
export const EVENT_CLASSES: readonly (readonly GridEventType[])[] = [
  ['sag', 'undervoltage'],
  ['swell', 'overvoltage'],
  ['outage'],
  ['silence', 'comms_loss'],
  ['frequency_deviation'],
  ['overload'],
  ['meter_fault'],
  ['tamper'],
  ['momentary'],
  ['pattern'],
];

const classOf = (classes: readonly (readonly string[])[], type: string): string => (classes.find((c) => c.includes(type))?.join('/') ?? type);
export const anomalyClass = (t: string) => classOf(ANOMALY_CLASSES, t);
export const eventClass = (t: string) => classOf(EVENT_CLASSES, t);

export interface ScoreOptions {
  /** A detection matches a fault if it starts within [fault start - tolerance, fault end + tolerance]. Default 120 s. */
  toleranceMs?: number;
  /** The window of the largest-burst measure: most events first published within this span. Default 60 s. */
  burstWindowMs?: number;
}

/** One anomaly after merging its open and closed records. */
interface Detected {
  id: string;
  meterId: string;
  type: string;
  startTs: number;
  detectedAt: number;
}
interface DetectedEvent {
  id: string;
  scope: string;
  rootId: string;
  type: string;
  meters: Set<string>;
  startTs: number;
  detectedAt: number;
  /** updatedAt of the first closed version (null: still open at the end). */
  closedAt: number | null;
}

export interface Prf {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface ScoreReport {
  toleranceMs: number;
  faults: number;
  anomalies: number;
  events: number;
  /** Anomalies not of an expected type but on a faulted meter during its fault: neither right nor false. */
  incidentalAnomalies: number;
  /** Per anomaly class; units: (fault, meter) pairs for recall, anomalies for precision. */
  anomalyTypes: Record<string, Prf>;
  anomalyTotal: Prf;
  /** Grid events per scope of the truth (recall) and of the event (precision). */
  eventScopes: Record<string, Prf>;
  eventTotal: Prf;
  /** Matched faults whose matching events include one with the fault's own scope and rootId. */
  rootAttribution: { correct: number; matched: number; accuracy: number | null };
  /** Event time from fault start to the first matching detection's startTs (works in fast-forward). */
  delayMs: { count: number; p50: number | null; p95: number | null };
  /** Wall-clock-ish: first matching detection's detectedAt (anomaly) or updatedAt (event) minus fault start; meaningful in realtime mode. */
  latencyMs: { count: number; p50: number | null; p95: number | null };
  /** Alarm floods: how many events an operator gets per fault, and how many at once. */
  flood: {
    /** Grid events attributed to a fault (each event to its best-matching fault), per fault that has any. 1.0 is the goal. */
    eventsPerFault: number | null;
    attributedEvents: number;
    faultsWithEvents: number;
    /** Meter events (tamper aside) first published while a device event listing that meter was open. */
    meterEventsUnderDeviceEvent: number;
    /** Most events first published within any burstWindowMs. */
    largestBurst: number;
    burstWindowMs: number;
  };
  /** Per fault: detected or not, and how. */
  perFault: {
    faultId: string;
    type: string;
    scope: string;
    detected: boolean;
    meterRecall: number | null;
    rootCorrect: boolean | null;
    delayMs: number | null;
    /** detectedAt of the first matching detection minus the fault's start (see latencyMs). */
    latencyMs: number | null;
    /** Grid events attributed to this fault. */
    events: number;
    /** Share of the fault's meters listed by its matching events (mislabelled meters adopted or not). */
    eventMeterRecall: number | null;
  }[];
}

export function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 = precision !== null && recall !== null ? (precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0) : null;
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision, recall, f1 };
}

/** Merges open/closed records by anomalyId; keeps the earliest startTs and detectedAt. */
function mergeAnomalies(anomalies: readonly Anomaly[]): Detected[] {
  const byId = new Map<string, Detected>();
  for (const a of anomalies) {
    const d = byId.get(a.anomalyId);
    if (!d) byId.set(a.anomalyId, { id: a.anomalyId, meterId: a.meterId, type: a.type, startTs: a.startTs, detectedAt: a.detectedAt });
    else {
      d.startTs = Math.min(d.startTs, a.startTs);
      d.detectedAt = Math.min(d.detectedAt, a.detectedAt);
    }
  }
  return [...byId.values()];
}

/** Keeps one entry per eventId: the union of affected meters over versions, the first updatedAt. */
function mergeEvents(events: readonly GridEvent[]): DetectedEvent[] {
  const byId = new Map<string, DetectedEvent & { version: number }>();
  for (const e of events) {
    const d = byId.get(e.eventId);
    const closedAt = e.state === 'closed' ? e.updatedAt : null;
    if (!d) {
      byId.set(e.eventId, { id: e.eventId, scope: e.scope, rootId: e.rootId, type: e.type, meters: new Set(e.affectedMeters), startTs: e.startTs, detectedAt: e.updatedAt, closedAt, version: e.version });
      continue;
    }
    for (const m of e.affectedMeters) d.meters.add(m);
    if (closedAt !== null) d.closedAt = d.closedAt === null ? closedAt : Math.min(d.closedAt, closedAt);
    d.startTs = Math.min(d.startTs, e.startTs);
    d.detectedAt = Math.min(d.detectedAt, e.updatedAt);
    if (e.version >= d.version) Object.assign(d, { scope: e.scope, rootId: e.rootId, type: e.type, version: e.version });
  }
  return [...byId.values()];
}

const inWindow = (ts: number, f: TruthRecord, tol: number) => ts >= f.startTs - tol && ts <= f.endTs + tol;

export function score(truth: readonly TruthRecord[], anomalies: readonly Anomaly[], events: readonly GridEvent[], opts: ScoreOptions = {}): ScoreReport {
  const tol = opts.toleranceMs ?? 120_000;
  const dets = mergeAnomalies(anomalies);
  const evs = mergeEvents(events);
  const meterSets = truth.map((f) => new Set(f.meters));

  // Anomalies: index by meter for speed (a grid-wide fault lists every meter).
  const byMeter = new Map<string, Detected[]>();
  for (const d of dets) (byMeter.get(d.meterId) ?? byMeter.set(d.meterId, []).get(d.meterId)!).push(d);
  const matchedAnomaly = new Set<string>();
  const pairTp = new Map<string, number>();
  const pairFn = new Map<string, number>();
  const firstHit = truth.map(() => ({ startTs: Infinity, detectedAt: Infinity }));
  const meterHits = truth.map(() => new Set<string>());

  truth.forEach((f, i) => {
    const classes = new Set(f.expect.anomalyTypes.map(anomalyClass));
    for (const c of classes) {
      let tp = 0;
      for (const m of f.meters) {
        const hits = (byMeter.get(m) ?? []).filter((d) => anomalyClass(d.type) === c && inWindow(d.startTs, f, tol));
        if (hits.length > 0) {
          tp++;
          meterHits[i]!.add(m);
          for (const h of hits) {
            matchedAnomaly.add(h.id);
            firstHit[i]!.startTs = Math.min(firstHit[i]!.startTs, h.startTs);
            firstHit[i]!.detectedAt = Math.min(firstHit[i]!.detectedAt, h.detectedAt);
          }
        }
      }
      pairTp.set(c, (pairTp.get(c) ?? 0) + tp);
      pairFn.set(c, (pairFn.get(c) ?? 0) + f.meters.length - tp);
    }
  });
  // Unmatched detections on a faulted meter inside a fault's window are incidental: real
  // consequences of the fault that its expectation does not list (the dip when a swell ends, the
  // current spikes of an overload). They are counted apart and are not false positives.
  const fpByClass = new Map<string, number>();
  let incidental = 0;
  for (const d of dets) {
    if (matchedAnomaly.has(d.id)) continue;
    if (truth.some((f, i) => meterSets[i]!.has(d.meterId) && inWindow(d.startTs, f, tol))) incidental++;
    else fpByClass.set(anomalyClass(d.type), (fpByClass.get(anomalyClass(d.type)) ?? 0) + 1);
  }
  const tpDetByClass = new Map<string, number>();
  for (const d of dets) if (matchedAnomaly.has(d.id)) tpDetByClass.set(anomalyClass(d.type), (tpDetByClass.get(anomalyClass(d.type)) ?? 0) + 1);

  const anomalyTypes: Record<string, Prf> = {};
  const allClasses = new Set([...pairTp.keys(), ...fpByClass.keys()]);
  let tTp = 0, tFp = 0, tFn = 0, tDet = 0;
  for (const c of [...allClasses].sort()) {
    // Precision counts detections, recall counts (fault, meter) pairs: a grid-wide fault has one
    // pair per meter, and one meter may rightly raise two anomalies of a class (open, close, re-open).
    const tpPairs = pairTp.get(c) ?? 0;
    const fn = pairFn.get(c) ?? 0;
    const fp = fpByClass.get(c) ?? 0;
    const tpDet = tpDetByClass.get(c) ?? 0;
    const r = prf(tpPairs, fp, fn);
    r.precision = tpDet + fp > 0 ? tpDet / (tpDet + fp) : null;
    r.f1 = r.precision !== null && r.recall !== null ? (r.precision + r.recall > 0 ? (2 * r.precision * r.recall) / (r.precision + r.recall) : 0) : null;
    anomalyTypes[c] = r;
    tTp += tpPairs;
    tFp += fp;
    tFn += fn;
    tDet += tpDet;
  }
  const anomalyTotal = prf(tTp, tFp, tFn);
  anomalyTotal.precision = tDet + tFp > 0 ? tDet / (tDet + tFp) : null;
  anomalyTotal.f1 = anomalyTotal.precision !== null && anomalyTotal.recall !== null ? (anomalyTotal.precision + anomalyTotal.recall > 0 ? (2 * anomalyTotal.precision * anomalyTotal.recall) / (anomalyTotal.precision + anomalyTotal.recall) : 0) : null;

  // Grid events: an event matches a fault if its class equals the fault's expected event class,
  // it starts within the window, and it touches the fault (shares a meter, or names the root).
  const matchedEvent = new Set<string>();
  const rootCorrect: (boolean | null)[] = truth.map(() => null);
  const eventHit = truth.map(() => false);
  const eventMeters = truth.map(() => new Set<string>());
  truth.forEach((f, i) => {
    if (!f.expect.eventType) return;
    const c = eventClass(f.expect.eventType);
    const meters = meterSets[i]!;
    for (const e of evs) {
      if (eventClass(e.type) !== c || !inWindow(e.startTs, f, tol)) continue;
      const touches = (e.scope === f.scope && e.rootId === f.rootId) || f.scope === 'grid' || [...e.meters].some((m) => meters.has(m));
      if (!touches) continue;
      matchedEvent.add(e.id);
      eventHit[i] = true;
      for (const m of e.meters) if (meters.has(m)) eventMeters[i]!.add(m);
      if (e.scope === f.scope && e.rootId === f.rootId) rootCorrect[i] = true;
      else if (rootCorrect[i] === null) rootCorrect[i] = false;
      firstHit[i]!.startTs = Math.min(firstHit[i]!.startTs, e.startTs);
      firstHit[i]!.detectedAt = Math.min(firstHit[i]!.detectedAt, e.detectedAt);
    }
  });
  const scopes: FaultScope[] = ['meter', 'transformer', 'feeder', 'substation', 'grid'];
  const eventScopes: Record<string, Prf> = {};
  let eTp = 0, eFp = 0, eFn = 0;
  for (const s of scopes) {
    const withEvent = truth.map((f, i) => ({ f, i })).filter(({ f }) => f.scope === s && f.expect.eventType);
    const tp = withEvent.filter(({ i }) => eventHit[i]).length;
    const fn = withEvent.length - tp;
    const fp = evs.filter((e) => e.scope === s && !matchedEvent.has(e.id)).length;
    if (tp + fn + fp === 0) continue;
    eventScopes[s] = prf(tp, fp, fn);
    eTp += tp;
    eFp += fp;
    eFn += fn;
  }
  const strayScopes = evs.filter((e) => !scopes.includes(e.scope as FaultScope) && !matchedEvent.has(e.id)).length;
  const eventTotal = prf(eTp, eFp + strayScopes, eFn);

  const flood = floodMeasures(truth, meterSets, evs, tol, opts.burstWindowMs ?? 60_000);
  const matchedFaults = rootCorrect.filter((r) => r !== null).length;
  const correct = rootCorrect.filter((r) => r === true).length;
  const delays: number[] = [];
  const latencies: number[] = [];
  const perFault = truth.map((f, i) => {
    const hit = firstHit[i]!;
    const detected = Number.isFinite(hit.startTs);
    const delay = detected ? Math.max(0, hit.startTs - f.startTs) : null;
    if (delay !== null) delays.push(delay);
    const latency = Number.isFinite(hit.detectedAt) ? Math.max(0, hit.detectedAt - f.startTs) : null;
    if (latency !== null) latencies.push(latency);
    return {
      faultId: f.faultId,
      type: f.type,
      scope: f.scope,
      detected,
      meterRecall: f.expect.anomalyTypes.length > 0 && f.meters.length > 0 ? meterHits[i]!.size / f.meters.length : null,
      rootCorrect: rootCorrect[i] ?? null,
      delayMs: delay,
      latencyMs: latency,
      events: flood.perFault[i]!,
      eventMeterRecall: eventHit[i] && f.meters.length > 0 ? eventMeters[i]!.size / f.meters.length : null,
    };
  });
  return {
    toleranceMs: tol,
    faults: truth.length,
    anomalies: dets.length,
    events: evs.length,
    incidentalAnomalies: incidental,
    anomalyTypes,
    anomalyTotal,
    eventScopes,
    eventTotal,
    rootAttribution: { correct, matched: matchedFaults, accuracy: matchedFaults > 0 ? correct / matchedFaults : null },
    delayMs: { count: delays.length, p50: percentile(delays, 0.5), p95: percentile(delays, 0.95) },
    latencyMs: { count: latencies.length, p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
    flood: flood.report,
    perFault,
  };
}

/**
 * Flood measures. Each event is attributed to one fault: among the faults it touches (same root,
 * a shared meter, or a grid-wide fault) within the tolerance, the one of its expected event class,
 * then of its own root, then the nearest start. Events touching no fault are precision's business.
 */
function floodMeasures(truth: readonly TruthRecord[], meterSets: readonly Set<string>[], evs: readonly DetectedEvent[], tol: number, burstWindowMs: number): { report: ScoreReport['flood']; perFault: number[] } {
  const perFault = truth.map(() => 0);
  let attributed = 0;
  for (const e of evs) {
    let best = -1;
    let bestRank: [number, number, number] = [0, 0, Infinity];
    truth.forEach((f, i) => {
      if (!inWindow(e.startTs, f, tol)) return;
      const sameRoot = e.scope === f.scope && e.rootId === f.rootId;
      if (!sameRoot && f.scope !== 'grid' && ![...e.meters].some((m) => meterSets[i]!.has(m))) return;
      const rank: [number, number, number] = [f.expect.eventType && eventClass(f.expect.eventType) === eventClass(e.type) ? 1 : 0, sameRoot ? 1 : 0, Math.abs(e.startTs - f.startTs)];
      if (best < 0 || rank[0] > bestRank[0] || (rank[0] === bestRank[0] && (rank[1] > bestRank[1] || (rank[1] === bestRank[1] && rank[2] < bestRank[2])))) {
        best = i;
        bestRank = rank;
      }
    });
    if (best >= 0) {
      perFault[best]!++;
      attributed++;
    }
  }
  const faultsWithEvents = perFault.filter((n) => n > 0).length;
  // A meter event raised while a device event that lists its meter was open: the flood the roll-up exists to prevent.
  const devices = evs.filter((e) => e.scope !== 'meter' && e.type !== 'comms_loss');
  let underDevice = 0;
  for (const m of evs) {
    if (m.scope !== 'meter' || m.type === 'tamper') continue;
    if (devices.some((d) => d.meters.has(m.rootId) && d.detectedAt <= m.detectedAt && (d.closedAt === null || m.detectedAt <= d.closedAt))) underDevice++;
  }
  const firsts = evs.map((e) => e.detectedAt).sort((a, b) => a - b);
  let largestBurst = 0;
  for (let i = 0, j = 0; j < firsts.length; j++) {
    while (firsts[j]! - firsts[i]! > burstWindowMs) i++;
    largestBurst = Math.max(largestBurst, j - i + 1);
  }
  return {
    report: { eventsPerFault: faultsWithEvents > 0 ? attributed / faultsWithEvents : null, attributedEvents: attributed, faultsWithEvents, meterEventsUnderDeviceEvent: underDevice, largestBurst, burstWindowMs },
    perFault,
  };
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * What a perfect detector would emit for this truth: for each expected anomaly class, one open and
 * one closed anomaly per affected meter, and one grid event at the fault's scope and root. Used
 * to check that the scorer gives perfect marks, and as a reference for detector authors.
 */
export function truthToDetections(truth: readonly TruthRecord[], edgeId = 'sim-perfect'): { anomalies: Anomaly[]; events: GridEvent[] } {
  const anomalies: Anomaly[] = [];
  const events: GridEvent[] = [];
  for (const f of truth) {
    for (const type of f.expect.anomalyTypes) {
      for (const meterId of f.meters) {
        const base = { anomalyId: `${f.faultId}:${type}:${meterId}`, edgeId, meterId, substationId: f.substationId, feederId: null, transformerId: null, type, channel: channelOf(type), severity: 'major', startTs: f.startTs, observed: null, baseline: null } as const;
        anomalies.push({ ...base, state: 'open', endTs: null, detectedAt: f.startTs });
        anomalies.push({ ...base, state: 'closed', endTs: f.endTs, detectedAt: f.endTs });
      }
    }
    if (f.expect.eventType) {
      events.push({
        eventId: `${f.faultId}:event`,
        scope: f.scope,
        rootId: f.rootId,
        substationId: f.substationId,
        type: f.expect.eventType,
        severity: 'major',
        state: 'closed',
        affectedMeters: f.meters.slice(0, 1000),
        affectedCount: f.meters.length,
        startTs: f.startTs,
        endTs: f.endTs,
        updatedAt: f.endTs,
        version: 1,
      });
    }
  }
  return { anomalies, events };
}

function channelOf(type: AnomalyType): Anomaly['channel'] {
  if (type === 'frequency_deviation') return 'frequency';
  if (type === 'overcurrent') return 'current';
  if (type === 'tamper' || type === 'outage' || type === 'dropout') return 'none';
  return 'voltage';
}
