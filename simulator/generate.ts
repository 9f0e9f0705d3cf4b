/**
 * The programmatic face of the simulator, without MQTT: build a simulation from a topology and
 * faults, then iterate its messages in delivery order (event time, unless late, out-of-order or
 * duplicate delivery is switched on). Edge, central and demo tests use this directly.
 */
import type { MeterEvent, Reading, TopologyEntry } from '../shared/contracts/index.ts';
import { resolveFaults, randomFaults, randomFaultFit, type FaultSpec, type RandomFaultFit, type ResolvedFault, type Scenario } from './faults.ts';
import { GridModel, type SimItem } from './model.ts';
import { Rng, hashSeed } from './rng.ts';
import { toTruth, type TruthRecord } from './truth.ts';

export interface DeliveryOptions {
  /** Share of readings (0-1) delivered late, by up to `maxLateMs` (so out of order too). */
  lateShare?: number;
  maxLateMs?: number;
  /** Share of readings delivered twice; the second copy carries a slightly different value (an estimate replaced by the real read). */
  duplicateShare?: number;
}

export interface SimulationOptions {
  /** The actual topology the grid has (GeneratedTopology.actual). */
  topology: readonly TopologyEntry[];
  /** Faults to inject (offsets from `from`). */
  faults?: readonly FaultSpec[];
  /** A parsed scenario file: its faults are added, and its random count used unless randomFaults is given. */
  scenario?: Scenario;
  /** Add this many random faults drawn from the seed (see randomFaults). */
  randomFaults?: number;
  from: number;
  to: number;
  intervalMs: number;
  seed: number;
  clockDrift?: boolean;
  delivery?: DeliveryOptions;
}

export interface Simulation {
  faults: ResolvedFault[];
  /** Faults of the scenario that start at or after `to`: not injected, not in the truth. */
  skipped: ResolvedFault[];
  truth: TruthRecord[];
  /** Random faults asked, how many fit in the span, and the span all of them need (null: none asked). */
  randomFit: RandomFaultFit | null;
  /** Number of ticks (reading intervals) in [from, to). */
  ticks: number;
  /** Messages in delivery order; `deliverAt` is the event time the message leaves the meter. */
  items(): Generator<DeliveredItem>;
}

/** `repeat`: the second copy of a reading delivered twice (DeliveryOptions.duplicateShare); same meter and seq as the first. */
export type DeliveredItem = SimItem & { deliverAt: number; repeat?: true };

export function createSimulation(opts: SimulationOptions): Simulation {
  const specs = [...(opts.faults ?? []), ...(opts.scenario?.faults ?? [])];
  const randomCount = opts.randomFaults ?? opts.scenario?.random?.count ?? 0;
  const random = { count: randomCount, from: opts.from, to: opts.to, intervalMs: opts.intervalMs, seed: opts.seed };
  if (randomCount > 0) specs.push(...randomFaults(random));
  // A fault that starts after the simulated span is never injected, so it is not in the truth
  // either (a scenario longer than --duration); `skipped` says which.
  const resolved = resolveFaults(specs, opts.topology, opts.from, opts.seed);
  const faults = resolved.filter((f) => f.startTs < opts.to);
  const skipped = resolved.filter((f) => f.startTs >= opts.to);
  const ticks = Math.max(0, Math.ceil((opts.to - opts.from) / opts.intervalMs));
  return {
    faults,
    skipped,
    truth: faults.map(toTruth),
    randomFit: randomCount > 0 ? randomFaultFit(random) : null,
    ticks,
    items: () => deliver(opts, faults, ticks),
  };
}

function* deliver(opts: SimulationOptions, faults: ResolvedFault[], ticks: number): Generator<DeliveredItem> {
  const model = new GridModel({ topology: opts.topology, faults, seed: opts.seed, from: opts.from, intervalMs: opts.intervalMs, clockDrift: opts.clockDrift ?? false });
  const d = opts.delivery ?? {};
  const lateShare = d.lateShare ?? 0;
  const dupShare = d.duplicateShare ?? 0;
  const maxLate = d.maxLateMs ?? 5 * opts.intervalMs;
  const rng = new Rng(hashSeed('delivery', opts.seed));
  // Delayed messages wait here (sorted by deliverAt) until the stream passes their time.
  const pending: DeliveredItem[] = [];
  for (let k = 0; k < ticks; k++) {
    for (const item of model.tick(k)) {
      if (item.at >= opts.to) continue;
      while (pending.length > 0 && pending[0]!.deliverAt <= item.at) yield pending.shift()!;
      if (item.kind === 'reading' && lateShare > 0 && rng.chance(lateShare)) {
        insertSorted(pending, { ...item, deliverAt: item.at + Math.round(rng.uniform(opts.intervalMs, maxLate)) });
      } else {
        yield { ...item, deliverAt: item.at };
      }
      if (item.kind === 'reading' && dupShare > 0 && rng.chance(dupShare)) {
        const again: Reading = { ...item.reading, voltage: Math.round(item.reading.voltage * (1 + rng.normal(0, 0.001)) * 100) / 100 };
        insertSorted(pending, { ...item, reading: again, deliverAt: item.at + Math.round(rng.uniform(1, opts.intervalMs)), repeat: true });
      }
    }
  }
  // Late messages due after the end are still delivered: they were produced inside the window.
  for (const p of pending) yield p;
}

function insertSorted(list: DeliveredItem[], item: DeliveredItem): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.deliverAt > item.deliverAt) i--;
  list.splice(i, 0, item);
}

export interface SimulationArrays {
  readings: Reading[];
  events: MeterEvent[];
  truth: TruthRecord[];
  items: DeliveredItem[];
}

/** Runs a (small) simulation to arrays. Bounded by the caller's topology size and time span. */
export function simulateToArrays(opts: SimulationOptions): SimulationArrays {
  const sim = createSimulation(opts);
  const items = [...sim.items()];
  return {
    readings: items.flatMap((i) => (i.kind === 'reading' ? [i.reading] : [])),
    events: items.flatMap((i) => (i.kind === 'event' ? [i.event] : [])),
    truth: sim.truth,
    items,
  };
}

/** Alias with the shape the issue suggests: readings, events and truth in event-time order. */
export function generateReadings(opts: SimulationOptions): Generator<DeliveredItem> {
  return createSimulation(opts).items();
}
