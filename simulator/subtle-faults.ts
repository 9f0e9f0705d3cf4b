/**
 * Subtle faults: the ones grid engineers find hardest, because they show as a change of pattern
 * and never as a crossed limit (issue 11). Kept apart from faults.ts so that the physics of each
 * lives in one place; faults.ts lists their scopes and magnitudes, model.ts calls the two hooks
 * below. Pure and seeded like the rest of the model.
 *
 * - `neutral` (meter): a loose or failing neutral. The meter's voltage swings with its own and its
 *   neighbours' load (neutral shift), and the swings grow each day the fault lasts.
 * - `diversion` (meter): energy diversion (a bypass ahead of the meter). The meter registers only
 *   `magnitude` of the energy drawn; the daily shape stays, and so does the voltage drop the real
 *   load causes on the service and the transformer.
 * - `pv_inverter` (meter): the PV inverter has failed: no export at midday while the neighbours
 *   export. The target is given rooftop PV from the start if it has none, so the fault can be seen.
 * - `transformer_degrading` (transformer): the voltage-versus-load slope of all its meters grows,
 *   linearly over the first quarter of the fault, to (1 + magnitude / 0.03) times the healthy slope.
 * - `load_profile` (meter): constant heavy night load (22:00-05:00 UTC) where there was none,
 *   `magnitude` x the customer's peak.
 */
import type { ResolvedFault } from './faults.ts';
import { hashSeed } from './rng.ts';

export type SubtleFaultType = 'neutral' | 'diversion' | 'pv_inverter' | 'transformer_degrading' | 'load_profile';
export const SUBTLE_FAULT_TYPES: readonly SubtleFaultType[] = ['neutral', 'diversion', 'pv_inverter', 'transformer_degrading', 'load_profile'];

export const SUBTLE_FAULT_SCOPES: Record<SubtleFaultType, readonly ('meter' | 'transformer')[]> = {
  neutral: ['meter'],
  diversion: ['meter'],
  pv_inverter: ['meter'],
  transformer_degrading: ['transformer'],
  load_profile: ['meter'],
};

/**
 * Defaults, each within the voltage limits: neutral swings of 0.6 % (x load, growing by one unit
 * per day), 35 % of the energy registered, an extra slope of 0.06 pu at full load at the end
 * (healthy: 0.03), a night load of 0.6 x peak.
 */
export const SUBTLE_DEFAULT_MAGNITUDE: Record<SubtleFaultType, number> = {
  neutral: 0.006,
  diversion: 0.35,
  pv_inverter: 0,
  transformer_degrading: 0.06,
  load_profile: 0.6,
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const isSubtle = (type: string): type is SubtleFaultType => (SUBTLE_FAULT_TYPES as readonly string[]).includes(type);

export const hourOfDay = (at: number): number => (((at % DAY) + DAY) % DAY) / HOUR;
export const isNight = (h: number): boolean => h >= 22 || h < 5;
/** Hours in which a PV system makes enough power for a failed inverter to show (sin > 0.5). */
export const isSunny = (h: number): boolean => h >= 8 && h <= 16;

/**
 * Whether a subtle fault can be seen in the readings at time `at`: a failed inverter only while
 * the sun shines, a night load only at night; the others all the time they are active. Labels
 * for training and scoring use this, so they agree with the physics.
 */
export function subtleVisibleAt(f: Pick<ResolvedFault, 'type' | 'startTs' | 'endTs'>, at: number): boolean {
  if (at < f.startTs || at >= f.endTs) return false;
  if (f.type === 'pv_inverter') return isSunny(hourOfDay(at));
  if (f.type === 'load_profile') return isNight(hourOfDay(at));
  return true;
}

/** PV size given to a `pv_inverter` target that has none (2-4 kWp, from the fault id, not the model's RNG). */
export function pvForFailedInverter(faultId: string, seed: number): number {
  return 2 + 2 * ((hashSeed(`pv:${faultId}`, seed) % 10_000) / 10_000);
}

/** Pass 1 of a tick: the physical load (kW) and the share of it the meter registers. */
export function subtleLoad(faults: readonly ResolvedFault[], at: number, kw: number, solarKw: number, peakKw: number): { kw: number; metered: number } {
  let metered = 1;
  for (const f of faults) {
    if (at < f.startTs || at >= f.endTs) continue;
    if (f.type === 'pv_inverter') kw += solarKw; // the export it would have made is gone
    else if (f.type === 'load_profile' && isNight(hourOfDay(at))) kw += f.magnitude * peakKw;
    else if (f.type === 'diversion') metered *= f.magnitude;
  }
  return { kw, metered };
}

/**
 * Pass 2: the voltage (pu) after the subtle faults. `loadPu` is the meter's own load as a share of
 * its peak, `transformerPu` its transformer's load; `normal` draws from the model's RNG (only for
 * meters with a neutral fault, so other meters' readings do not change).
 */
export function subtleVoltage(faults: readonly ResolvedFault[], at: number, vPu: number, loadPu: number, transformerPu: number, normal: () => number): number {
  for (const f of faults) {
    if (at < f.startTs || at >= f.endTs) continue;
    if (f.type === 'neutral') {
      const growth = 1 + (at - f.startTs) / DAY;
      vPu += growth * f.magnitude * (0.3 + loadPu + 2 * transformerPu) * normal();
    } else if (f.type === 'transformer_degrading') {
      const ramp = Math.min(1, (4 * (at - f.startTs)) / Math.max(1, f.endTs - f.startTs));
      vPu -= f.magnitude * ramp * transformerPu;
    }
  }
  return vPu;
}
