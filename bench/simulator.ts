/**
 * Simulator benchmark: how fast the model generates readings, and the flood's achieved rate at
 * QoS 0 and QoS 1 against Mosquitto (from the harness, GRIDWATCH_MQTT_URL) and against a bare
 * aedes running in this same process (so the flood and the broker share one core's event loop).
 * Run alone with `node --import tsx bench/simulator.ts` (SIM_BENCH_METERS=N, default 10,000), or
 * through `gridwatch bench --only simulator [--readings N]`.
 */
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { createSimulation } from '../simulator/generate.ts';
import { flood, type FloodReport } from '../simulator/flood.ts';
import { generateTopology } from '../simulator/topology.ts';

export interface SimulatorBenchOptions {
  meters?: number;
  /** Event time simulated per flood case (readings = meters x duration / interval). */
  durationMs?: number;
  intervalMs?: number;
  /** Mosquitto URL; default GRIDWATCH_MQTT_URL. Without one the Mosquitto cases are reported as skipped. */
  mqttUrl?: string;
  /** Wall-time cap per flood case. */
  maxWallMs?: number;
  /** Readings per flood case (bench/main.ts's --readings); sets meters = readings / intervals. */
  readings?: number;
  print?: boolean;
  /** Where the table goes (bench/main.ts passes one); console.log by default. */
  log?: (line: string) => void;
}

const FROM = Date.UTC(2026, 10, 23, 12, 0, 0);

async function withAedes<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}

export async function benchSimulator(opts: SimulatorBenchOptions = {}): Promise<Record<string, unknown>> {
  const intervalMs = opts.intervalMs ?? 10_000;
  const durationMs = opts.durationMs ?? 5 * 60_000;
  const meters = opts.meters ?? (opts.readings ? Math.max(1, Math.ceil(opts.readings / (durationMs / intervalMs))) : 10_000);
  const maxWallMs = opts.maxWallMs ?? 20_000;
  const mqttUrl = opts.mqttUrl ?? process.env.GRIDWATCH_MQTT_URL;
  const topology = generateTopology({ meters, seed: 1 }).actual;
  const sim = () => createSimulation({ topology, from: FROM, to: FROM + durationMs, intervalMs, seed: 1 });

  // Generation alone: iterate a one-hour simulation without publishing.
  const genSim = createSimulation({ topology, from: FROM, to: FROM + 3_600_000, intervalMs, seed: 1, randomFaults: 6 });
  const g0 = performance.now();
  let generated = 0;
  for (const item of genSim.items()) if (item.kind === 'reading') generated++;
  const genMs = performance.now() - g0;

  const cases: { name: string; broker: 'mosquitto' | 'aedes'; qos: 0 | 1; connection: 'meter' | 'concentrator' }[] = [];
  for (const broker of ['mosquitto', 'aedes'] as const) {
    for (const qos of [0, 1] as const) cases.push({ name: `${broker} qos${qos} per-meter`, broker, qos, connection: 'meter' });
    cases.push({ name: `${broker} qos1 concentrators`, broker, qos: 1, connection: 'concentrator' });
  }
  const results: Record<string, FloodReport | { skipped: string }> = {};
  for (const c of cases) {
    const run = (url: string) => flood({ brokers: [url], items: sim().items(), from: FROM, intervalMs, qos: c.qos, connection: c.connection, maxConnections: 100, inFlight: 1000, maxWallMs, clientIdPrefix: `bench-${process.pid}-${c.broker}-${c.qos}-${c.connection}` });
    if (c.broker === 'mosquitto') results[c.name] = mqttUrl ? await run(mqttUrl) : { skipped: 'no GRIDWATCH_MQTT_URL' };
    else results[c.name] = await withAedes(run);
  }

  const out = {
    meters,
    intervalMs,
    eventTimePerCaseMs: durationMs,
    generation: { readings: generated, ms: Math.round(genMs), readingsPerSec: Math.round((generated * 1000) / genMs) },
    flood: results,
  };
  if (opts.print ?? true) {
    const lines = [
      `simulator bench: ${meters} meters, interval ${intervalMs} ms, ${durationMs / 1000} s of event time per case (${(meters * durationMs) / intervalMs} readings), wall cap ${maxWallMs / 1000} s`,
      `generation only: ${out.generation.readingsPerSec} readings/s`,
      `${'case'.padEnd(30)} ${'msgs/s'.padStart(8)} ${'readings/s'.padStart(10)} ${'sent'.padStart(7)} ${'acked'.padStart(7)} ${'err'.padStart(4)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}`,
      ...Object.entries(results).map(([name, r]) =>
        'skipped' in r
          ? `${name.padEnd(30)} skipped: ${r.skipped}`
          : `${name.padEnd(30)} ${String(r.ratePerSec).padStart(8)} ${String(r.readingsPerSec).padStart(10)} ${String(r.sent).padStart(7)} ${String(r.acked).padStart(7)} ${String(r.errors).padStart(4)} ${String(r.publishLatencyMs.p50).padStart(7)} ${String(r.publishLatencyMs.p99).padStart(7)}`,
      ),
    ];
    for (const line of lines) (opts.log ?? console.log)(line);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchSimulator({ ...(process.env.SIM_BENCH_METERS ? { meters: Number(process.env.SIM_BENCH_METERS) } : {}) }).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
