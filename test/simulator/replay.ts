// In-process replay for scenario tests: the simulator's meter model -> one pure edge Detector per
// substation -> the pure Correlator, on one manual clock that follows event time. No servers: the
// scenario tests that need Kafka and real edges are the integration ones; this gives the same
// cores the same messages in the same order, fast and deterministic.
import type { Anomaly, GridEvent, TopologyEntry } from '../../shared/contracts/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { Topology } from '../../shared/topology/index.ts';
import { Detector } from '../../edge/detect/index.ts';
import { Correlator, type CorrelateConfig } from '../../central/correlate/index.ts';
import { createSimulation } from '../../simulator/generate.ts';
import type { Scenario } from '../../simulator/faults.ts';
import { generateTopology } from '../../simulator/topology.ts';
import type { TruthRecord } from '../../simulator/truth.ts';

export interface ReplayOptions {
  scenario: Scenario;
  meters?: number;
  substations?: number;
  seed?: number;
  intervalMs?: number;
  durationMs?: number;
  mislabelShare?: number;
  correlator?: Partial<CorrelateConfig>;
  /** Delivery delay from meter to central (edge commit + Kafka), ms. */
  latencyMs?: number;
  /** Another build of the correlator (to compare before/after a change); default this one. */
  correlatorClass?: typeof Correlator;
}

export interface Replay {
  truth: TruthRecord[];
  anomalies: Anomaly[];
  events: GridEvent[];
  recorded: TopologyEntry[];
  correlator: Correlator;
}

export function replay(o: ReplayOptions): Replay {
  const intervalMs = o.intervalMs ?? 1000;
  const seed = o.seed ?? 7;
  const { actual, recorded } = generateTopology({ meters: o.meters ?? 600, seed, substations: o.substations ?? 3, profile: 'eu', readingIntervalMs: intervalMs, mislabelShare: o.mislabelShare ?? o.scenario.mislabel ?? 0 });
  const from = Date.UTC(2026, 10, 23, 12, 0, 0);
  const sim = createSimulation({ topology: actual, scenario: o.scenario, from, to: from + (o.durationMs ?? 300_000), intervalMs, seed });
  const topology = new Topology(recorded);
  const clock = new ManualClock(from);
  const detectors = new Map<string, Detector>();
  const detectorOf = (substationId: string) => {
    let d = detectors.get(substationId);
    if (!d) {
      const edgeId = `edge-${substationId}`;
      d = new Detector({
        edgeId,
        clock,
        context: (meterId) => {
          const e = topology.meter(meterId)!;
          return { edgeId, substationId: e.substationId, feederId: e.feederId, transformerId: e.transformerId, nominalVoltage: e.nominalVoltage, nominalFrequency: e.nominalFrequency, expectedIntervalMs: intervalMs, ...(e.transformerKva !== undefined ? { transformerKva: e.transformerKva } : {}) };
        },
      });
      detectors.set(substationId, d);
    }
    return d;
  };
  const correlator = new (o.correlatorClass ?? Correlator)({ topology, clock, ...(o.correlator ? { config: o.correlator } : {}) });
  const anomalies: Anomaly[] = [];
  const events: GridEvent[] = [];
  const latency = o.latencyMs ?? 200;
  let nextTick = from + 1000;
  const take = (list: readonly Anomaly[]) => {
    for (const a of list) {
      anomalies.push(a);
      events.push(...correlator.onAnomaly(a));
    }
  };
  const tickUntil = (t: number, edges = true) => {
    while (nextTick <= t) {
      clock.set(nextTick);
      if (edges) for (const d of detectors.values()) take(d.tick());
      events.push(...correlator.tick());
      nextTick += 1000;
    }
  };
  for (const item of sim.items()) {
    tickUntil(item.deliverAt + latency);
    clock.set(Math.max(clock.now(), item.deliverAt + latency));
    const d = detectorOf(item.substationId);
    if (item.kind === 'reading') take(d.onReading({ ...item.reading, ts: item.reading.ts as number }).anomalies);
    else take(d.onMeterEvent({ ...item.event, ts: item.event.ts as number }));
  }
  // Let central's holds and close delays run out after the last reading (the edges stop with the
  // simulation: ticking them on would open a dropout for every meter).
  tickUntil(clock.now() + 180_000, false);
  return { truth: sim.truth, anomalies, events, recorded, correlator };
}
