/**
 * Micro-benchmark of the correlator's hot path: substation-wide bursts of last gasps (every
 * meter of a 10,000-meter substation, as a data concentrator sends them) followed by their
 * closes, with a tick every 5,000 records. Exercises roll-up through transformer, feeder and
 * substation, event growth, absorption and closing.
 *
 *   node --import tsx central/correlate/bench.ts [anomalies]
 */
import { ManualClock } from '../../shared/clock.ts';
import type { Anomaly, TopologyEntry } from '../../shared/contracts/index.ts';
import { Topology } from '../../shared/topology/model.ts';
import { Correlator } from './correlator.ts';

const FEEDERS = 20;
const TRANSFORMERS = 20; // per feeder
const METERS = 25; // per transformer: 10,000 per substation

export function benchCorrelator(n: number): { anomaliesPerSec: number; n: number; events: number; meters: number } {
  const substations = Math.max(1, Math.ceil(n / 2 / (FEEDERS * TRANSFORMERS * METERS)));
  const entries: TopologyEntry[] = [];
  for (let s = 0; s < substations; s++)
    for (let f = 0; f < FEEDERS; f++)
      for (let t = 0; t < TRANSFORMERS; t++)
        for (let m = 0; m < METERS; m++) {
          entries.push({ meterId: `m${s}.${f}.${t}.${m}`, transformerId: `t${s}.${f}.${t}`, feederId: `f${s}.${f}`, substationId: `s${s}`, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });
        }
  const topology = new Topology(entries);
  const t0 = Date.UTC(2026, 0, 1);
  const clock = new ManualClock(t0);
  const c = new Correlator({ topology, clock });
  const records: Anomaly[] = [];
  for (let i = 0; records.length < n; i++) {
    const e = entries[i % entries.length] as TopologyEntry;
    const open: Anomaly = {
      anomalyId: `${e.meterId}:outage:${i}`, edgeId: `edge-${e.substationId}`, meterId: e.meterId, substationId: e.substationId,
      feederId: e.feederId, transformerId: e.transformerId, type: 'outage', channel: 'none', state: 'open', severity: 'critical',
      startTs: t0 + i, endTs: null, observed: null, baseline: null, detectedAt: t0 + i,
    };
    records.push(open);
  }
  // Close them in the same order: restoration follows the outage.
  const half = Math.floor(n / 2);
  for (let i = 0; i < half; i++) {
    const o = records[i] as Anomaly;
    records[half + i] = { ...o, state: 'closed', endTs: o.startTs + 600_000 };
  }
  let events = 0;
  const start = performance.now();
  for (let i = 0; i < records.length; i++) {
    clock.advance(1);
    events += c.onAnomaly(records[i] as Anomaly).length;
    if (i % 5_000 === 4_999) events += c.tick().length;
  }
  clock.advance(600_000);
  events += c.tick().length;
  clock.advance(600_000);
  events += c.tick().length;
  const secs = (performance.now() - start) / 1000;
  return { anomaliesPerSec: Math.round(records.length / secs), n: records.length, events, meters: entries.length };
}

if (process.argv[1]?.endsWith('correlate/bench.ts')) {
  console.log(JSON.stringify(benchCorrelator(Number(process.argv[2] ?? 200_000))));
}
