import type { Topology } from '../../shared/index.ts';
import type { MeterContext } from '../detect/index.ts';

export interface MeterDefaults {
  nominalVoltage: number;
  nominalFrequency: 50 | 60;
  readingIntervalMs: number;
}

export interface MeterView extends MeterContext {
  /** In the loaded topology (false: unassigned, null topology ids, default nominal values). */
  assigned: boolean;
  /** `,"substationId":..,"feederId":..,"transformerId":..` as JSON.stringify writes them: the forwarded text's per-meter part, built once. */
  idsJson: string;
}

function idsJson(v: { substationId: string | null; feederId: string | null; transformerId: string | null }): string {
  return `,"substationId":${JSON.stringify(v.substationId)},"feederId":${JSON.stringify(v.feederId)},"transformerId":${JSON.stringify(v.transformerId)}`;
}

/**
 * Where each meter sits and what is normal for it, from the loaded topology (or defaults for
 * unassigned meters). Cached per meter: asked on every reading for the forwarded topology ids.
 */
export class MeterDirectory {
  private readonly cache = new Map<string, MeterView>();

  constructor(
    private readonly edgeId: string,
    private readonly topology: Topology | null,
    private readonly defaults: MeterDefaults,
  ) {}

  get hasTopology(): boolean {
    return this.topology !== null;
  }

  /** The detector's context function too. */
  context = (meterId: string): MeterView => {
    let c = this.cache.get(meterId);
    if (c !== undefined) return c;
    const e = this.topology?.meter(meterId);
    const d = this.defaults;
    const v: Omit<MeterView, 'idsJson'> = e
      ? {
          edgeId: this.edgeId,
          substationId: e.substationId,
          feederId: e.feederId,
          transformerId: e.transformerId,
          nominalVoltage: e.nominalVoltage,
          nominalFrequency: e.nominalFrequency,
          expectedIntervalMs: e.readingIntervalMs ?? d.readingIntervalMs,
          ...(e.transformerKva !== undefined ? { transformerKva: e.transformerKva } : {}),
          assigned: true,
        }
      : {
          edgeId: this.edgeId,
          substationId: null,
          feederId: null,
          transformerId: null,
          nominalVoltage: d.nominalVoltage,
          nominalFrequency: d.nominalFrequency,
          expectedIntervalMs: d.readingIntervalMs,
          assigned: false,
        };
    c = { ...v, idsJson: idsJson(v) };
    // Bound: a flood of invented meter ids cannot grow the cache without limit.
    if (this.cache.size >= 1_000_000) this.cache.clear();
    this.cache.set(meterId, c);
    return c;
  };
}
