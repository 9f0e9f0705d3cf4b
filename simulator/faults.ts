/**
 * Fault injection: what can be injected, the scenario file (JSON or YAML) that lists faults, the
 * random mode that draws them from a seed, and resolution of a fault to the meters it touches.
 * Pure: no I/O besides `loadScenarioFile`, which only reads the file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { TopologyEntry } from '../shared/contracts/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import { parseDuration } from '../shared/duration.ts';
import { Rng } from './rng.ts';
import { SUBTLE_DEFAULT_MAGNITUDE, SUBTLE_FAULT_SCOPES, type SubtleFaultType } from './subtle-faults.ts';

export type FaultScope = 'meter' | 'transformer' | 'feeder' | 'substation' | 'grid';
export type FaultType = SubtleFaultType | 'spike' | 'stuck' | 'drift' | 'dropout' | 'tamper' | 'overload' | 'sag' | 'swell' | 'outage' | 'frequency';

/** Which scopes each fault type may be injected at (the list; sag/swell/outage also wider). */
export const FAULT_SCOPES: Record<FaultType, readonly FaultScope[]> = {
  spike: ['meter'],
  stuck: ['meter'],
  drift: ['meter'],
  dropout: ['meter'],
  tamper: ['meter'],
  overload: ['transformer'],
  sag: ['transformer', 'feeder', 'substation'],
  swell: ['transformer', 'feeder'],
  outage: ['transformer', 'feeder', 'substation'],
  frequency: ['grid'],
  ...SUBTLE_FAULT_SCOPES,
};

/**
 * Default magnitudes, chosen to be clearly detectable (GRID.md): a voltage spike of +25 %, a
 * meter drifting to +6 % (the detector's drift threshold is 4 %), a sag to 0.82 pu (below the
 * 0.9 pu sag limit, within IEEE 1159 undervoltage 0.8-0.9), a swell to 1.13 pu, a transformer
 * loaded to 1.35 x its rating, a frequency excursion of -1.5 % (EN 50160 band: 1 %), tamper to 2 %
 * of normal consumption.
 */
export const DEFAULT_MAGNITUDE: Record<FaultType, number> = {
  spike: 0.25,
  stuck: 0,
  drift: 0.06,
  dropout: 0,
  tamper: 0.02,
  overload: 1.35,
  sag: 0.82,
  swell: 1.13,
  outage: 0,
  frequency: -0.015,
  ...SUBTLE_DEFAULT_MAGNITUDE,
};

/** A fault as a scenario lists it. Times are offsets from the simulation start unless absolute. */
export interface FaultSpec {
  id?: string;
  type: FaultType;
  scope?: FaultScope;
  /** Device id at `scope` (a meter, transformer, feeder or substation id; `grid` for grid). Omitted: drawn from the seed. */
  target?: string;
  /** Offset ("90s", "10m", "1h"; a number only from code, in ms) from the simulation start, or an ISO-8601 date-time. */
  start: string | number;
  duration: string | number;
  magnitude?: number;
}

export interface Scenario {
  seed?: number;
  faults: FaultSpec[];
  /** Add this many random faults on top of the listed ones. */
  random?: { count: number; types?: FaultType[] };
}

/** A fault resolved against a topology and a start time: everything the model and the truth need. */
export interface ResolvedFault {
  faultId: string;
  type: FaultType;
  scope: FaultScope;
  rootId: string;
  substationId: string | null;
  meters: string[];
  startTs: number;
  endTs: number;
  magnitude: number;
}

export { parseDuration };

function parseStart(value: string | number, from: number): number {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new GridwatchError('CONFIG_INVALID', `fault start: not a date-time: ${value}`);
    return t;
  }
  return from + (typeof value === 'number' ? value : parseDuration(value, 'fault start'));
}

export function parseScenario(text: string, format: 'json' | 'yaml', sourceName = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `${sourceName}: not valid ${format.toUpperCase()}: ${(err as Error).message}`, { cause: err });
  }
  const obj = (Array.isArray(raw) ? { faults: raw } : raw) as Partial<Scenario> | null;
  if (!obj || typeof obj !== 'object') throw new GridwatchError('CONFIG_INVALID', `${sourceName}: expected { faults: [...] }`);
  const faults = obj.faults ?? [];
  if (!Array.isArray(faults)) throw new GridwatchError('CONFIG_INVALID', `${sourceName}: faults must be a list`);
  const problems: string[] = [];
  faults.forEach((f, i) => {
    const where = `${sourceName}: faults[${i}]`;
    if (!f || typeof f !== 'object') return void problems.push(`${where}: not an object`);
    if (!(f.type in FAULT_SCOPES)) return void problems.push(`${where}: unknown type ${JSON.stringify(f.type)} (one of ${Object.keys(FAULT_SCOPES).join(', ')})`);
    const scope = f.scope ?? FAULT_SCOPES[f.type][0];
    if (!FAULT_SCOPES[f.type].includes(scope!)) problems.push(`${where}: ${f.type} cannot be injected at scope ${scope} (allowed: ${FAULT_SCOPES[f.type].join(', ')})`);
    if (f.start === undefined || f.duration === undefined) problems.push(`${where}: start and duration are required`);
    // A file's numbers have no unit: refused here (the random mode's specs carry milliseconds from code).
    if (f.duration !== undefined) checkDuration(f.duration, `${where}: duration`, problems);
    if (f.start !== undefined && !(typeof f.start === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(f.start))) checkDuration(f.start, `${where}: start (or an ISO-8601 date-time)`, problems);
    if (f.magnitude !== undefined && typeof f.magnitude !== 'number') problems.push(`${where}: magnitude must be a number`);
  });
  if (obj.random !== undefined && !(Number.isInteger(obj.random.count) && obj.random.count >= 0)) problems.push(`${sourceName}: random.count must be a non-negative integer`);
  if (problems.length > 0) throw new GridwatchError('CONFIG_INVALID', problems.join('\n'));
  return { ...(obj.seed !== undefined ? { seed: obj.seed } : {}), faults, ...(obj.random ? { random: obj.random } : {}) };
}

function checkDuration(value: unknown, what: string, problems: string[]): void {
  try {
    parseDuration(value, what);
  } catch (err) {
    problems.push((err as Error).message);
  }
}

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `cannot read scenario ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseScenario(text, path.toLowerCase().endsWith('.json') ? 'json' : 'yaml', path);
}

/** Index of the topology by level, for resolving targets. */
function devices(topology: readonly TopologyEntry[]): Record<Exclude<FaultScope, 'grid'>, Map<string, TopologyEntry[]>> {
  const out = { meter: new Map(), transformer: new Map(), feeder: new Map(), substation: new Map() } as Record<Exclude<FaultScope, 'grid'>, Map<string, TopologyEntry[]>>;
  for (const e of topology) {
    for (const [level, id] of [['meter', e.meterId], ['transformer', e.transformerId], ['feeder', e.feederId], ['substation', e.substationId]] as const) {
      let list = out[level].get(id);
      if (!list) out[level].set(id, (list = []));
      list.push(e);
    }
  }
  return out;
}

/**
 * Resolves faults against the actual topology: picks missing targets from the seed, turns
 * offsets into event times, and lists the meters each fault touches. Fault ids are stable:
 * `f{index}-{type}-{scope}`.
 */
export function resolveFaults(specs: readonly FaultSpec[], topology: readonly TopologyEntry[], from: number, seed: number): ResolvedFault[] {
  const rng = new Rng(seed ^ 0xfa17);
  const index = devices(topology);
  return specs.map((spec, i) => {
    const scope = spec.scope ?? FAULT_SCOPES[spec.type][0]!;
    let rootId: string;
    let entries: TopologyEntry[];
    if (scope === 'grid') {
      rootId = 'grid';
      entries = [...topology];
    } else {
      const level = index[scope];
      rootId = spec.target ?? rng.pick([...level.keys()]);
      const found = level.get(rootId);
      if (!found) throw new GridwatchError('CONFIG_INVALID', `fault ${spec.id ?? i}: no ${scope} ${rootId} in the topology`);
      entries = found;
    }
    const startTs = parseStart(spec.start, from);
    const durationMs = typeof spec.duration === 'number' ? spec.duration : parseDuration(spec.duration, 'fault duration');
    if (durationMs <= 0) throw new GridwatchError('CONFIG_INVALID', `fault ${spec.id ?? i}: duration must be positive`);
    return {
      faultId: spec.id ?? `f${String(i + 1).padStart(3, '0')}-${spec.type}-${scope}`,
      type: spec.type,
      scope,
      rootId,
      substationId: scope === 'grid' ? null : entries[0]!.substationId,
      meters: entries.map((e) => e.meterId),
      startTs,
      endTs: startTs + durationMs,
      magnitude: spec.magnitude ?? DEFAULT_MAGNITUDE[spec.type],
    };
  });
}

/** Readings a drift detector's long baseline needs (the edge detector's default is 1,440). */
export const DRIFT_BASELINE_INTERVALS = 1500;

/** Every (type, scope) pair the random mode draws from, in a fixed order. */
export const RANDOM_KINDS: readonly { type: FaultType; scope: FaultScope }[] = [
  { type: 'spike', scope: 'meter' },
  { type: 'stuck', scope: 'meter' },
  { type: 'drift', scope: 'meter' },
  { type: 'dropout', scope: 'meter' },
  { type: 'tamper', scope: 'meter' },
  { type: 'overload', scope: 'transformer' },
  { type: 'sag', scope: 'transformer' },
  { type: 'sag', scope: 'feeder' },
  { type: 'swell', scope: 'feeder' },
  { type: 'outage', scope: 'feeder' },
  { type: 'outage', scope: 'substation' },
  { type: 'frequency', scope: 'grid' },
];

export interface RandomFaultOptions {
  count: number;
  from: number;
  to: number;
  intervalMs: number;
  seed: number;
  kinds?: readonly { type: FaultType; scope: FaultScope }[];
}

/** How many of the asked random faults fit in [from, to), and the span all of them would need. */
export interface RandomFaultFit {
  asked: number;
  fit: number;
  /** Shortest `to - from` in which every asked fault gets its slot (warm-up included). */
  neededSpanMs: number;
}

export function randomFaultFit(opts: RandomFaultOptions): RandomFaultFit {
  const { warmup, minSlot, count, weightOf } = randomPlan(opts);
  return { asked: Math.max(0, opts.count), fit: count, neededSpanMs: warmup + weightOf(Math.max(0, opts.count)) * minSlot };
}

/** The seeded order of kinds and how many faults fit: shared by randomFaults and randomFaultFit. */
function randomPlan(opts: RandomFaultOptions) {
  const rng = new Rng(opts.seed ^ 0x5eed);
  const kinds = opts.kinds ?? RANDOM_KINDS;
  const warmup = 70 * opts.intervalMs;
  const span = opts.to - opts.from - warmup;
  const minSlot = Math.max(2 * 25 * opts.intervalMs, 2 * 150_000);
  let count = Math.max(0, Math.min(opts.count, Math.floor(span / minSlot)));
  // Cycle through the kinds in a seeded order, so that N >= kinds.length faults cover every kind.
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Drift gets a triple slot: a detector compares a short-window mean (tens of readings) with a
  // long baseline, so the drifted level has to hold for longer than that window.
  const weight = (k: { type: FaultType }) => (k.type === 'drift' ? 3 : 1);
  const weightOf = (n: number) => Array.from({ length: n }, (_, i) => weight(order[i % order.length]!)).reduce((s, w) => s + w, 0);
  while (count > 0 && span / weightOf(count) < minSlot) count--;
  return { rng, order, warmup, span, minSlot, count, weight, weightOf };
}

/**
 * Random mode. The detectable span (after a warm-up of 70 intervals, which the detectors need to
 * learn a baseline) is cut into `count` slots (equal, except that drift gets three), one fault per slot, so faults never overlap
 * and each one is scored on its own. A fault lasts 40-60 % of its slot, at least 25 intervals
 * (stuck needs 20 identical readings) and at least 2 minutes for outages (a last gasp follows
 * 30-45 s of lost voltage). Spikes last one interval.
 */
export function randomFaults(opts: RandomFaultOptions): FaultSpec[] {
  const { rng, order, warmup, span, count, weight } = randomPlan(opts);
  // Drift goes last, and only where at least DRIFT_BASELINE_INTERVALS readings precede it (a long
  // baseline must exist before a departure from it means anything); otherwise it becomes a stuck fault.
  const chosen = Array.from({ length: count }, (_, i) => order[i % order.length]!);
  chosen.sort((a, b) => Number(a.type === 'drift') - Number(b.type === 'drift'));
  let unit: number;
  for (;;) {
    unit = count > 0 ? span / chosen.reduce((s, k) => s + weight(k), 0) : 0;
    const first = chosen.findIndex((k) => k.type === 'drift');
    if (first < 0 || warmup + unit * first >= DRIFT_BASELINE_INTERVALS * opts.intervalMs) break;
    chosen[first] = { type: 'stuck', scope: 'meter' };
    chosen.sort((a, b) => Number(a.type === 'drift') - Number(b.type === 'drift'));
  }
  const specs: FaultSpec[] = [];
  let slotStart = warmup;
  for (const kind of chosen) {
    const slot = unit * weight(kind);
    const durationMs = kind.type === 'spike' ? opts.intervalMs : Math.round(slot * rng.uniform(0.4, 0.6));
    const lead = Math.round(rng.uniform(0.05, 0.3) * (slot - durationMs));
    // Spikes alternate between beyond the voltage limits (+-25 %, also a swell or sag) and within
    // them (+-8 %, a purely statistical outlier); frequency excursions go either way.
    const magnitude = kind.type === 'spike' ? rng.pick([0.25, -0.25, 0.08, -0.08]) : kind.type === 'frequency' ? rng.pick([0.015, -0.015]) : undefined;
    specs.push({ type: kind.type, scope: kind.scope, start: Math.round(slotStart + lead), duration: durationMs, ...(magnitude !== undefined ? { magnitude } : {}) });
    slotStart += slot;
  }
  return specs;
}
