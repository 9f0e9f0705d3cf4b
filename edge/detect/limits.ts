import type { DetectConfig } from './config.ts';
import type { AnomalyType, Channel } from '../../shared/contracts/index.ts';
import { track, type Emitter, type OpenAnomaly, type Severity } from './lifecycle.ts';
import type { ChannelState, MeterState } from './state.ts';

/**
 * Limit rules: judged against the meter's nominal values, not its history, so they need no warm-up.
 * Each returns true when the reading is within limits (and may then be judged statistically and
 * enter the window) and false while a limit condition is open.
 *
 * Hysteresis is by separate enter and exit thresholds: a condition opens on the first reading
 * beyond the enter threshold (a sag may be visible in one reading only when readings come seconds
 * to minutes apart) and closes on the first reading back inside the exit threshold, so a value
 * hovering at the enter threshold stays one anomaly.
 *
 * Voltage (IEEE 1159 mapped onto a reading stream): one voltage condition at a time per meter.
 *   < interruptionPu -> interruption; < sagPu -> sag; > swellPu -> swell.
 *   A sag (swell) still below sagPu (above swellPu) sustainedMs of event time after it started is
 *   reclassified: the sag closes at that reading and an undervoltage (overvoltage) opens with the
 *   original startTs and peak, since IEEE classes by total duration and a stream can only learn the
 *   duration as it goes. A reading in the hysteresis band keeps the condition open but does not
 *   escalate it. A sag deeper than 0.8 pu lasting over a minute has no IEEE class; it is reported as
 *   undervoltage with severity critical. An interruption stays an interruption however long.
 */
function sevSag(pu: number, c: DetectConfig): Severity {
  return pu < c.sagMajorPu ? 'major' : 'minor';
}
function sevUnder(pu: number, c: DetectConfig): Severity {
  return pu < c.undervoltageCriticalPu ? 'critical' : 'major';
}
function sevSwell(pu: number, c: DetectConfig): Severity {
  return pu > c.swellCriticalPu ? 'critical' : pu > c.swellMajorPu ? 'major' : 'minor';
}
function sevOver(pu: number, c: DetectConfig): Severity {
  return pu > c.overvoltageCriticalPu ? 'critical' : 'major';
}

export function judgeVoltage(em: Emitter, m: MeterState, c: ChannelState, v: number, ts: number): boolean {
  const cfg = em.cfg;
  const nominal = m.ctx.nominalVoltage;
  const pu = v / nominal;
  const o = c.limit;
  if (o !== null) {
    const t = o.a.type;
    if (t === 'interruption') {
      if (pu < cfg.interruptionExitPu) {
        track(o, v, 'critical');
        return false;
      }
    } else if (t === 'sag' || t === 'undervoltage') {
      if (pu >= cfg.interruptionPu && pu < cfg.sagExitPu) {
        const sag = t === 'sag';
        track(o, v, sag ? sevSag(pu, cfg) : sevUnder(pu, cfg));
        if (sag && pu < cfg.sagPu && ts - o.a.startTs >= cfg.sustainedMs) escalate(em, m, c, ts, sevUnder((o.p ?? v) / nominal, cfg), 'undervoltage');
        return false;
      }
    } else if (pu > cfg.swellExitPu) {
      const swell = t === 'swell';
      track(o, v, swell ? sevSwell(pu, cfg) : sevOver(pu, cfg));
      if (swell && pu > cfg.swellPu && ts - o.a.startTs >= cfg.sustainedMs) escalate(em, m, c, ts, sevOver((o.p ?? v) / nominal, cfg), 'overvoltage');
      return false;
    }
    em.close(m, o, ts);
    c.limit = null;
  }
  if (pu < cfg.interruptionPu) c.limit = openLimit(em, m, c, 'interruption', 'voltage', ts, v, nominal, 'critical');
  else if (pu < cfg.sagPu) c.limit = openLimit(em, m, c, 'sag', 'voltage', ts, v, nominal, sevSag(pu, cfg));
  else if (pu > cfg.swellPu) c.limit = openLimit(em, m, c, 'swell', 'voltage', ts, v, nominal, sevSwell(pu, cfg));
  else return true;
  return false;
}

/**
 * Opens a limit condition. An open spike/dip on the channel closes first (same ts): from here the
 * limit rule explains the values, and the records then read in the order things happened.
 */
function openLimit(em: Emitter, m: MeterState, c: ChannelState, type: AnomalyType, channel: Channel, ts: number, x: number, base: number, sev: Severity): OpenAnomaly {
  if (c.stat !== null) {
    em.close(m, c.stat, ts);
    c.stat = null;
    c.outlierRun = 0;
  }
  return em.open(m, type, channel, ts, x, base, sev);
}

function escalate(em: Emitter, m: MeterState, c: ChannelState, ts: number, sev: Severity, type: 'undervoltage' | 'overvoltage'): void {
  const o = c.limit;
  if (o === null) return;
  em.close(m, o, ts);
  const n = em.open(m, type, 'voltage', o.a.startTs, o.l, o.a.baseline, sev);
  n.p = o.p;
  c.limit = n;
}

/** Frequency outside nominal ± frequencyBand (EN 50160: ±1 %, 49.5-50.5 Hz at 50 Hz, 59.4-60.6 Hz at 60 Hz). */
export function judgeFrequency(em: Emitter, m: MeterState, c: ChannelState, f: number, ts: number): boolean {
  const cfg = em.cfg;
  const fn = m.ctx.nominalFrequency;
  const dev = (f - fn) / fn;
  const ad = dev < 0 ? -dev : dev;
  const sev: Severity = dev < -cfg.frequencyCriticalLow || dev > cfg.frequencyCriticalHigh ? 'critical' : 'major';
  const o = c.limit;
  if (o !== null) {
    if (ad > cfg.frequencyExitBand) {
      track(o, f, sev);
      return false;
    }
    em.close(m, o, ts);
    c.limit = null;
    return true;
  }
  if (ad > cfg.frequencyBand) {
    c.limit = openLimit(em, m, c, 'frequency_deviation', 'frequency', ts, f, fn, sev);
    return false;
  }
  return true;
}

/**
 * Current above ratedCurrentA (only when the context knows it). Judged on |current| since export
 * may be reported negative; observed and peak are magnitudes, baseline is the rating.
 */
export function judgeCurrent(em: Emitter, m: MeterState, c: ChannelState, i: number, ts: number): boolean {
  const rated = m.ctx.ratedCurrentA;
  if (rated === undefined || !(rated > 0)) return true;
  const cfg = em.cfg;
  const mag = i < 0 ? -i : i;
  const pu = mag / rated;
  const sev: Severity = pu > cfg.overcurrentCriticalPu ? 'critical' : pu > cfg.overcurrentMajorPu ? 'major' : 'minor';
  const o = c.limit;
  if (o !== null) {
    if (pu > cfg.overcurrentExitPu) {
      track(o, mag, sev);
      return false;
    }
    em.close(m, o, ts);
    c.limit = null;
    return true;
  }
  if (pu > cfg.overcurrentPu) {
    c.limit = openLimit(em, m, c, 'overcurrent', 'current', ts, mag, rated, sev);
    return false;
  }
  return true;
}

/** Whether a value is within limits, for readings that only feed the window (out of order, within the bound). */
export function withinLimits(cfg: DetectConfig, m: MeterState, channel: number, x: number): boolean {
  const ctx = m.ctx;
  if (channel === 0) {
    const pu = x / ctx.nominalVoltage;
    return pu >= cfg.sagPu && pu <= cfg.swellPu;
  }
  if (channel === 3) {
    const dev = Math.abs(x - ctx.nominalFrequency) / ctx.nominalFrequency;
    return dev <= cfg.frequencyBand;
  }
  if (channel === 1 && ctx.ratedCurrentA !== undefined && ctx.ratedCurrentA > 0) return Math.abs(x) <= ctx.ratedCurrentA * cfg.overcurrentPu;
  return true;
}
