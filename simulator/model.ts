/**
 * The meter model: pure and seeded. Time is always an argument (event time); nothing here reads
 * the wall clock. One call to `tick(k)` produces every message meters send during the k-th
 * reading interval, in event-time order, with the injected faults applied.
 *
 * Physics, kept simple but coupled the way real feeders are:
 * - load per customer follows a daily curve (residential morning and evening peaks, commercial
 *   office hours, some rooftop PV exporting at midday) with 5 % noise;
 * - voltage (pu) = substation bus (1.01 +- 0.4 %, slow wander) - 2.5 % x feeder load
 *   - 3 % x transformer load - a small service drop + 0.15 % noise, so meters under one
 *   transformer move together (which is how mislabelled meters can be found);
 * - one grid frequency per tick shared by every meter (pu of each meter's nominal);
 * - power factor 0.90-0.99 per customer; current and reactive power follow; an import energy
 *   register that only increases.
 */
import type { MeterEvent, MeterEventType, Reading, TopologyEntry } from '../shared/contracts/index.ts';
import type { ResolvedFault } from './faults.ts';
import { Rng, hashSeed } from './rng.ts';
import { concentratorOf } from './topology.ts';
import { pvForFailedInverter, subtleLoad, subtleVoltage } from './subtle-faults.ts';

/** One message a meter (or its concentrator) sends; `at` is the true event time it was produced. */
export type SimItem =
  | { kind: 'reading'; at: number; meterId: string; substationId: string; concentratorId: string; reading: Reading }
  | { kind: 'event'; at: number; meterId: string; substationId: string; concentratorId: string; event: MeterEvent };

export interface ModelOptions {
  /** The actual topology (not the mislabelled records). */
  topology: readonly TopologyEntry[];
  faults: readonly ResolvedFault[];
  seed: number;
  /** Start of tick 0, epoch ms. */
  from: number;
  intervalMs: number;
  /** Meter clocks start up to +-2 s off and drift up to +-1 s per day (GRID.md). Default off. */
  clockDrift?: boolean;
}

interface MeterState {
  entry: TopologyEntry;
  concentratorId: string;
  customer: 'residential' | 'commercial';
  peakKw: number;
  pvKw: number;
  pf: number;
  energyKwh: number;
  seq: number;
  offsetMs: number;
  clockOffsetMs: number;
  driftMsPerDay: number;
  faults: ResolvedFault[];
  last: Reading | undefined;
  frozen: Reading | undefined;
  out: boolean;
  kw: number;
  /** Share of the load the meter registers (below 1 under energy diversion). */
  metered: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const bump = (h: number, centre: number, width: number) => Math.exp(-0.5 * ((h - centre) / width) ** 2);

/** Daily load shape in [0.15, 1] (fraction of the customer's peak) at hour-of-day h (UTC). */
export function loadShape(customer: 'residential' | 'commercial', h: number): number {
  if (customer === 'commercial') return 0.2 + 0.8 / (1 + Math.exp(-2 * (h - 8))) / (1 + Math.exp(2 * (h - 18)));
  return Math.min(1, 0.15 + 0.45 * bump(h, 7.5, 1.2) + 0.85 * bump(h, 19.5, 2));
}

export class GridModel {
  private readonly meters: MeterState[];
  private readonly byTransformer = new Map<string, MeterState[]>();
  private readonly byFeeder = new Map<string, MeterState[]>();
  private readonly feederCapacityKva = new Map<string, number>();
  private readonly gridFaults: ResolvedFault[];
  private readonly overloads: ResolvedFault[];
  private readonly rng: Rng;
  private readonly subPhase = new Map<string, number>();

  constructor(private readonly opts: ModelOptions) {
    this.rng = new Rng(hashSeed('model', opts.seed));
    const faultsByMeter = new Map<string, ResolvedFault[]>();
    for (const f of opts.faults) {
      if (f.scope === 'grid' || f.type === 'overload') continue;
      for (const m of f.meters) {
        let list = faultsByMeter.get(m);
        if (!list) faultsByMeter.set(m, (list = []));
        list.push(f);
      }
    }
    this.gridFaults = opts.faults.filter((f) => f.scope === 'grid');
    this.overloads = opts.faults.filter((f) => f.type === 'overload');
    const setup = new Rng(hashSeed('meters', opts.seed));
    this.meters = opts.topology.map((entry) => {
      const customer = setup.chance(0.15) ? 'commercial' : 'residential';
      const na = entry.nominalFrequency === 60;
      const state: MeterState = {
        entry,
        concentratorId: concentratorOf(entry),
        customer,
        peakKw: na ? setup.uniform(1.5, 4) : setup.uniform(0.8, 2),
        pvKw: customer === 'residential' && setup.chance(0.1) ? setup.uniform(2, 4) : 0,
        pf: setup.uniform(0.9, 0.99),
        energyKwh: setup.uniform(1000, 50_000),
        seq: 0,
        offsetMs: Math.floor(setup.next() * opts.intervalMs),
        clockOffsetMs: opts.clockDrift ? setup.normal(0, 2000) : 0,
        driftMsPerDay: opts.clockDrift ? setup.uniform(-1000, 1000) : 0,
        faults: faultsByMeter.get(entry.meterId) ?? [],
        last: undefined,
        frozen: undefined,
        out: false,
        kw: 0,
        metered: 1,
      };
      const failedPv = state.faults.find((f) => f.type === 'pv_inverter');
      if (failedPv && state.pvKw === 0) state.pvKw = pvForFailedInverter(failedPv.faultId, opts.seed);
      push(this.byTransformer, entry.transformerId, state);
      push(this.byFeeder, entry.feederId, state);
      if (!this.subPhase.has(entry.substationId)) this.subPhase.set(entry.substationId, setup.uniform(0, 2 * Math.PI));
      return state;
    });
    // Readings inside a tick go out in offset order, which is event-time order.
    this.meters.sort((a, b) => a.offsetMs - b.offsetMs);
    for (const [feederId, list] of this.byFeeder) {
      const seen = new Set<string>();
      let kva = 0;
      for (const m of list) {
        if (seen.has(m.entry.transformerId)) continue;
        seen.add(m.entry.transformerId);
        kva += m.entry.transformerKva ?? 50;
      }
      this.feederCapacityKva.set(feederId, kva * 0.7);
    }
  }

  get meterCount(): number {
    return this.meters.length;
  }

  /** Messages of tick k (event times in [from + k*interval, from + (k+1)*interval)), in event-time order. */
  tick(k: number): SimItem[] {
    const { from, intervalMs } = this.opts;
    const t0 = from + k * intervalMs;
    const items: SimItem[] = [];
    let eventsAdded = false;

    // Pass 1: who is out, and everyone's load (the load sets the voltage drops of pass 2).
    for (const m of this.meters) {
      const at = t0 + m.offsetMs;
      const outage = m.faults.find((f) => f.type === 'outage' && at >= f.startTs && at < f.endTs);
      m.out = outage !== undefined;
      const h = (((at % DAY) + DAY) % DAY) / HOUR;
      const solar = m.pvKw * Math.max(0, Math.sin((Math.PI * (h - 6)) / 12));
      m.kw = m.out ? 0 : m.peakKw * loadShape(m.customer, h) * (1 + this.rng.normal(0, 0.05)) - solar;
      const tamper = m.faults.find((f) => f.type === 'tamper' && at >= f.startTs && at < f.endTs);
      if (tamper) m.kw *= tamper.magnitude;
      ({ kw: m.kw, metered: m.metered } = m.faults.length > 0 ? subtleLoad(m.faults, at, m.kw, solar, m.peakKw) : { kw: m.kw, metered: 1 });
    }
    // The feeder drop is taken before any overload: an overload's extra load is left out of it so
    // that the fault stays local to its transformer (otherwise every meter of the feeder dips).
    const feederPu = new Map<string, number>();
    for (const [id, list] of this.byFeeder) feederPu.set(id, list.reduce((s, m) => s + Math.abs(m.kw) / m.pf, 0) / this.feederCapacityKva.get(id)!);
    // Overload: scale the transformer's customers so the summed apparent power reaches magnitude x
    // rating, ramping in over the first 30 % of the fault (load builds up; it does not jump).
    for (const f of this.overloads) {
      const at = t0 + intervalMs / 2;
      if (at < f.startTs || at >= f.endTs) continue;
      const list = this.byTransformer.get(f.rootId) ?? [];
      const kva = list.reduce((s, m) => s + Math.abs(m.kw) / m.pf, 0);
      const rating = list[0]?.entry.transformerKva ?? 50;
      const ramp = Math.min(1, (at - f.startTs) / (0.3 * (f.endTs - f.startTs)));
      const target = Math.max(1, (f.magnitude * rating) / Math.max(kva, 1e-6));
      if (kva > 0) for (const m of list) m.kw = Math.abs(m.kw) * (1 + (target - 1) * ramp);
    }
    const transformerPu = new Map<string, number>();
    for (const [id, list] of this.byTransformer) transformerPu.set(id, list.reduce((s, m) => s + Math.abs(m.kw) / m.pf, 0) / (list[0]!.entry.transformerKva ?? 50));

    const freqFault = this.gridFaults.find((f) => f.type === 'frequency' && t0 >= f.startTs && t0 < f.endTs);
    const freqPu = freqFault ? 1 + freqFault.magnitude + this.rng.normal(0, 0.0001) : 1 + 0.0004 * Math.sin((2 * Math.PI * t0) / 600_000) + this.rng.normal(0, 0.0002);

    // Pass 2: readings and events.
    for (const m of this.meters) {
      const at = t0 + m.offsetMs;
      const e = m.entry;
      if (this.outageEvents(m, t0, items)) eventsAdded = true;
      if (m.out) continue;
      const tamper = m.faults.find((f) => f.type === 'tamper' && f.startTs >= t0 && f.startTs < t0 + intervalMs);
      if (tamper) {
        items.push(this.event(m, tamper.startTs, 'tamper'));
        eventsAdded = true;
      }

      const bus = 1.01 + 0.004 * Math.sin((2 * Math.PI * at) / (3 * HOUR) + this.subPhase.get(e.substationId)!);
      let vPu = bus - 0.025 * feederPu.get(e.feederId)! - 0.03 * transformerPu.get(e.transformerId)! - 0.004 * (Math.abs(m.kw) / m.peakKw) + this.rng.normal(0, 0.0015);
      if (m.faults.length > 0) vPu = subtleVoltage(m.faults, at, vPu, Math.abs(m.kw) / m.peakKw, transformerPu.get(e.transformerId)!, () => this.rng.normal(0, 1));
      const active = m.faults.filter((f) => at >= f.startTs && at < f.endTs);
      for (const f of active) {
        if (f.type === 'sag' || f.type === 'swell') vPu = f.magnitude + this.rng.normal(0, 0.002);
      }
      for (const f of active) {
        // Drift: ramps to its magnitude over the first third of the fault, then holds, so that a
        // short-window mean (tens of readings) can depart from the long baseline.
        if (f.type === 'drift') vPu *= 1 + f.magnitude * Math.min(1, (3 * (at - f.startTs)) / (f.endTs - f.startTs));
        if (f.type === 'spike') vPu *= 1 + f.magnitude;
      }
      const voltage = vPu * e.nominalVoltage;
      const pf = Math.min(1, Math.max(0.5, m.pf + this.rng.normal(0, 0.003)));
      // Diversion: the meter registers only part of the load; the voltage above used all of it.
      const kwMetered = m.kw * m.metered;
      const kva = Math.abs(kwMetered) / pf;
      const frequency = freqPu * e.nominalFrequency + this.rng.normal(0, 0.001);
      m.energyKwh += (Math.max(0, kwMetered) * intervalMs) / HOUR;
      m.seq++;
      const stuck = active.find((f) => f.type === 'stuck');
      if (!stuck) m.frozen = undefined;
      else if (!m.frozen) m.frozen = m.last;
      if (active.some((f) => f.type === 'dropout')) continue; // taken but never delivered: seq jumps
      const ts = Math.round(at + m.clockOffsetMs + (m.driftMsPerDay * (at - this.opts.from)) / DAY);
      const reading: Reading =
        stuck && m.frozen
          ? { ...m.frozen, meterId: e.meterId, ts, seq: m.seq }
          : {
              meterId: e.meterId,
              ts,
              seq: m.seq,
              voltage: round(voltage, 2),
              current: round((kva * 1000) / voltage, 3),
              power: round(kwMetered, 3),
              reactivePower: round(Math.sign(kwMetered || 1) * Math.sqrt(Math.max(0, kva * kva - kwMetered * kwMetered)), 3),
              powerFactor: round(pf, 3),
              frequency: round(frequency, 3),
              energy: round(m.energyKwh, 3),
            };
      m.last = reading;
      items.push({ kind: 'reading', at, meterId: e.meterId, substationId: e.substationId, concentratorId: m.concentratorId, reading });
    }
    if (eventsAdded) items.sort((a, b) => a.at - b.at);
    return items;
  }

  /**
   * Last gasp and power restored for outages starting or ending in this tick. A last gasp goes
   * out 30-45 s after the voltage is lost (GRID.md); the delay is drawn per concentrator, so a
   * concentrator reports all its meters at once. Power restored follows the end by 1-5 s.
   */
  private outageEvents(m: MeterState, t0: number, items: SimItem[]): boolean {
    let added = false;
    const t1 = t0 + this.opts.intervalMs;
    for (const f of m.faults) {
      if (f.type !== 'outage') continue;
      const gasp = f.startTs + 30_000 + (hashSeed(`${f.faultId}:${m.concentratorId}`, this.opts.seed) % 15_001);
      if (gasp >= t0 && gasp < t1 && gasp < f.endTs) {
        items.push(this.event(m, gasp, 'last_gasp'));
        added = true;
      }
      const restored = f.endTs + 1000 + (hashSeed(`${f.faultId}:${m.concentratorId}:up`, this.opts.seed) % 4001);
      if (restored >= t0 && restored < t1) {
        items.push(this.event(m, restored, 'power_restored'));
        added = true;
      }
    }
    return added;
  }

  // No detail text: it would leak the fault id to the detector under test.
  private event(m: MeterState, at: number, type: MeterEventType): SimItem {
    const ts = Math.round(at + m.clockOffsetMs + (m.driftMsPerDay * (at - this.opts.from)) / DAY);
    return { kind: 'event', at, meterId: m.entry.meterId, substationId: m.entry.substationId, concentratorId: m.concentratorId, event: { meterId: m.entry.meterId, ts, type } };
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
}
