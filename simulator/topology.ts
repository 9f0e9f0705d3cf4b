/**
 * Seeded topology generator: substations -> feeders -> transformers -> meters, with the two
 * service profiles of GRID.md (230 V / 50 Hz, European transformers serving tens to a few hundred
 * meters; 120-240 V / 60 Hz, North American transformers serving 5-8 homes). It returns both the
 * true topology (what the model simulates) and the recorded one (what is written for edge and
 * central), which differ where meters are deliberately mislabelled, as 10-35 % of real utility
 * records are.
 */
import type { Phase, TopologyEntry } from '../shared/contracts/index.ts';
import { Rng } from './rng.ts';

export type GridProfile = 'eu' | 'na' | 'mixed';

export interface TopologyOptions {
  meters: number;
  seed: number;
  /** Default: one substation per 2,500 meters (at least 1). */
  substations?: number;
  /** Feeders per substation, drawn in this range (GRID.md: 3-30; default 3-8). */
  feedersPerSubstation?: [number, number];
  /** 'mixed' alternates the profile per substation (two grids in one file, for testing both). */
  profile?: GridProfile;
  /** Share of meters (0-1) whose recorded transformer is wrong. */
  mislabelShare?: number;
  /** Expected interval between readings, written into every entry. */
  readingIntervalMs?: number;
}

export interface Mislabel {
  meterId: string;
  trueTransformerId: string;
  recordedTransformerId: string;
}

export interface GeneratedTopology {
  /** What the grid really is: the model simulates this. */
  actual: TopologyEntry[];
  /** What the utility's records say: written to the topology file edge and central load. */
  recorded: TopologyEntry[];
  mislabelled: Mislabel[];
}

interface Profile {
  nominalVoltage: number;
  nominalFrequency: 50 | 60;
  metersPerTransformer: [number, number];
  transformerKva: number[];
}

export const PROFILES: Record<'eu' | 'na', Profile> = {
  // Meter counts per European transformer are kept at the small end so that small simulations
  // still have several transformers per feeder.
  eu: { nominalVoltage: 230, nominalFrequency: 50, metersPerTransformer: [20, 80], transformerKva: [100, 160, 250, 400] },
  na: { nominalVoltage: 240, nominalFrequency: 60, metersPerTransformer: [5, 8], transformerKva: [25, 37.5, 50] },
};

/** Typical peak demand per customer (kW) used to size transformers so that normal load stays under rating. */
const DESIGN_KW_PER_METER = { eu: 2.2, na: 4.5 };

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function generateTopology(opts: TopologyOptions): GeneratedTopology {
  const meters = Math.floor(opts.meters);
  if (!(meters >= 1)) throw new RangeError('meters must be at least 1');
  const rng = new Rng(opts.seed ^ 0x70b0);
  const substations = Math.max(1, Math.min(meters, Math.floor(opts.substations ?? Math.max(1, Math.round(meters / 2500)))));
  const [fMin, fMax] = opts.feedersPerSubstation ?? [3, 8];
  const profileMode = opts.profile ?? 'eu';
  const actual: TopologyEntry[] = [];
  let meterNo = 0;

  for (let s = 0; s < substations; s++) {
    const profileName: 'eu' | 'na' = profileMode === 'mixed' ? (s % 2 === 0 ? 'eu' : 'na') : profileMode;
    const profile = PROFILES[profileName];
    const substationId = `sub-${pad(s + 1, 2)}`;
    const metersHere = Math.floor(meters / substations) + (s < meters % substations ? 1 : 0);
    const feeders = Math.max(1, Math.min(metersHere, rng.int(fMin, fMax)));
    for (let f = 0; f < feeders; f++) {
      const feederId = `${substationId}-f${pad(f + 1, 2)}`;
      let left = Math.floor(metersHere / feeders) + (f < metersHere % feeders ? 1 : 0);
      let t = 0;
      while (left > 0) {
        const size = Math.min(left, rng.int(profile.metersPerTransformer[0], profile.metersPerTransformer[1]));
        t++;
        const transformerId = `${feederId}-t${pad(t, 3)}`;
        const kva = sizeTransformer(profile, size * DESIGN_KW_PER_METER[profileName]);
        // European transformers are three-phase with meters spread over the phases; a North
        // American one hangs off one primary phase and serves split-phase 120/240 V.
        const naPhase = rng.pick<Phase>(['A', 'B', 'C']);
        for (let i = 0; i < size; i++) {
          meterNo++;
          actual.push({
            meterId: `m-${pad(meterNo, 6)}`,
            transformerId,
            feederId,
            substationId,
            phase: profileName === 'eu' ? (['A', 'B', 'C'] as const)[i % 3]! : naPhase,
            nominalVoltage: profile.nominalVoltage,
            nominalFrequency: profile.nominalFrequency,
            transformerKva: kva,
            ...(opts.readingIntervalMs ? { readingIntervalMs: opts.readingIntervalMs } : {}),
          });
        }
        left -= size;
      }
    }
  }
  const { recorded, mislabelled } = mislabel(actual, opts.mislabelShare ?? 0, rng);
  return { actual, recorded, mislabelled };
}

function sizeTransformer(profile: Profile, designKw: number): number {
  // Smallest standard rating above the design peak; the largest rating if none is.
  return profile.transformerKva.find((k) => k >= designKw) ?? profile.transformerKva[profile.transformerKva.length - 1]!;
}

/**
 * Moves a share of meters to a wrong transformer in the records, preferring another transformer
 * on the same feeder (the usual error: the neighbour pole), then any transformer of the
 * substation with the same nominal voltage.
 */
function mislabel(actual: TopologyEntry[], share: number, rng: Rng): { recorded: TopologyEntry[]; mislabelled: Mislabel[] } {
  if (!(share > 0)) return { recorded: actual.map((e) => ({ ...e })), mislabelled: [] };
  const transformers = new Map<string, TopologyEntry>();
  for (const e of actual) if (!transformers.has(e.transformerId)) transformers.set(e.transformerId, e);
  const all = [...transformers.values()];
  const mislabelled: Mislabel[] = [];
  const recorded = actual.map((e) => {
    if (!rng.chance(share)) return { ...e };
    let candidates = all.filter((t) => t.feederId === e.feederId && t.transformerId !== e.transformerId);
    if (candidates.length === 0) candidates = all.filter((t) => t.substationId === e.substationId && t.transformerId !== e.transformerId && t.nominalVoltage === e.nominalVoltage);
    if (candidates.length === 0) return { ...e };
    const wrong = rng.pick(candidates);
    mislabelled.push({ meterId: e.meterId, trueTransformerId: e.transformerId, recordedTransformerId: wrong.transformerId });
    return { ...e, transformerId: wrong.transformerId, feederId: wrong.feederId, transformerKva: wrong.transformerKva };
  });
  return { recorded, mislabelled };
}

/**
 * Data concentrator of a meter. One concentrator per transformer (the usual PLC arrangement:
 * the concentrator sits in the secondary substation). Ids stay valid MQTT topic levels.
 */
export function concentratorOf(entry: Pick<TopologyEntry, 'transformerId'>): string {
  return `dc-${entry.transformerId}`;
}
