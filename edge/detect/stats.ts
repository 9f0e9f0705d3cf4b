import type { Channel } from '../../shared/contracts/index.ts';
import { track, type Emitter, type Severity } from './lifecycle.ts';
import type { ChannelState, MeterState } from './state.ts';

/**
 * Statistical rules on one channel: spike/dip against the moving window, stuck (flatline) and
 * drift (short window against a long baseline).
 */

/**
 * Spike (above) / dip (below): |x - mean| > sigmaEnter * max(sigma, floor). Returns whether the
 * reading entered the window.
 *
 * Outliers stay out of the window so one bad reading does not poison the baseline (nor widen sigma
 * so that the next bad reading passes). Only for outlierHoldReadings readings, though: a value that
 * stays at its new level is a level shift (a tap change, a new load), and keeping it out forever
 * would leave the channel frozen on the old level with a spike open for good. After the hold the
 * new values enter the window, the mean and sigma follow, and the spike closes once the value is
 * within sigmaExit of them. No verdict before warmupReadings values are in the window.
 */
export function judgeSpike(em: Emitter, m: MeterState, c: ChannelState, channel: Channel, x: number, ts: number, floor: number): boolean {
  const cfg = em.cfg;
  const st = c.stats;
  if (st.count < cfg.warmupReadings) {
    st.push(x);
    return true;
  }
  const mean = st.mean();
  let sd = st.std();
  if (sd < floor) sd = floor;
  const z = (x - mean) / sd;
  const o = c.stat;
  if (o !== null) {
    const stillOut = o.a.type === 'spike' ? z > cfg.sigmaExit : z < -cfg.sigmaExit;
    if (stillOut) {
      if (o.s !== 'info') track(o, x, sevSpike(z, cfg.sigmaEnter));
      else track(o, x, 'info');
      if (++c.outlierRun > cfg.outlierHoldReadings) {
        st.push(x);
        return true;
      }
      return false;
    }
    em.close(m, o, ts);
    c.stat = null;
    c.outlierRun = 0;
  }
  if (z > cfg.sigmaEnter || z < -cfg.sigmaEnter) {
    c.stat = em.open(m, z > 0 ? 'spike' : 'dip', channel, ts, x, mean, channel === 'current' || channel === 'power' ? 'info' : sevSpike(z, cfg.sigmaEnter));
    c.outlierRun = 1;
    if (c.outlierRun > cfg.outlierHoldReadings) {
      st.push(x);
      return true;
    }
    return false;
  }
  st.push(x);
  return true;
}

/**
 * A voltage or frequency spike is a sensor matter: minor, major when twice as far out as the
 * threshold. On current and power a jump is usually an appliance switching: info.
 */
function sevSpike(z: number, k: number): Severity {
  return z > 2 * k || z < -2 * k ? 'major' : 'minor';
}

/** Closes an open spike/dip when the channel is taken over by a limit rule (the limit explains the value). */
export function endSpike(em: Emitter, m: MeterState, c: ChannelState, ts: number): void {
  if (c.stat !== null) {
    em.close(m, c.stat, ts);
    c.stat = null;
    c.outlierRun = 0;
  }
}

/**
 * Stuck: `n` identical consecutive readings (judged in order). Opens at the n-th with startTs of
 * the first; closes at the first different value. Exact zeros never count: no current or power at
 * night, in an empty house or with export netting to zero is real, and zero voltage is an
 * interruption, which the limit rules report.
 */
export function judgeStuck(em: Emitter, m: MeterState, c: ChannelState, channel: Channel, x: number, ts: number, n: number): void {
  if (n <= 0) return;
  if (c.stuckRun > 0 && x === c.stuckVal && x !== 0) {
    if (++c.stuckRun === n) {
      const base = c.stats.count >= em.cfg.warmupReadings ? c.stats.mean() : null;
      c.stuck = em.open(m, 'stuck', channel, c.stuckStart, x, base, 'minor');
    }
    return;
  }
  if (c.stuck !== null) {
    em.close(m, c.stuck, ts);
    c.stuck = null;
  }
  c.stuckVal = x;
  c.stuckRun = 1;
  c.stuckStart = ts;
}

/**
 * Drift: the short-window mean (the spike window) departs from the long baseline by more than
 * `frac` of it. The baseline is the plain mean of the first driftLongReadings accepted values, then
 * an EWMA with alpha 1/driftLongReadings: O(1) and a few numbers in the snapshot instead of a long
 * ring. It is fed only with readings that entered the window (no outliers, nothing out of limits),
 * so a spike cannot cause drift, and it is frozen while drift is open so it does not chase the
 * drift it reports. Closes when the departure falls below frac * driftExitRatio. Minor; major when
 * twice the threshold.
 */
export function judgeDrift(em: Emitter, m: MeterState, c: ChannelState, channel: Channel, x: number, ts: number, frac: number): void {
  const cfg = em.cfg;
  const L = cfg.driftLongReadings;
  if (c.ewmaN < L) {
    c.ewmaN++;
    c.ewma += (x - c.ewma) / c.ewmaN;
    return;
  }
  const base = c.ewma;
  if (base === 0) return;
  const short = c.stats.mean();
  const diff = short - base;
  const dev = (diff < 0 ? -diff : diff) / (base < 0 ? -base : base);
  const o = c.drift;
  if (o === null) {
    if (dev > frac) c.drift = em.open(m, 'drift', channel, ts, short, base, dev > 2 * frac ? 'major' : 'minor');
    else c.ewma += (x - base) / L;
    return;
  }
  if (dev <= frac * cfg.driftExitRatio) {
    em.close(m, o, ts);
    c.drift = null;
    return;
  }
  track(o, short, dev > 2 * frac ? 'major' : 'minor');
}
