/**
 * `gridwatch bench --only wan` (issue 12 goal 4): bytes per reading on the edge-to-Kafka link, for
 * each combination of encoding, compression and batch size, all in one run. Each combination is the
 * paced fleet of bench/edge-fleet.ts (the real `gridwatch edge`, 10,000 meters, 100 connections,
 * every channel) forwarding to its own topics; the figure is the readings topic's log segment bytes
 * on the broker over the readings accepted. The yardstick is JSON + gzip with the default batches
 * (what a gateway sends today). BENCH_WAN_SECONDS (default 15) sets each combination's length,
 * BENCH_WAN_ONLY=name,name picks combinations.
 */
import type { BenchFigure } from './figures.ts';
import { fleetPhase, type FleetResult } from './edge-fleet.ts';

// Larger sends: readings wait up to 1 s for 10,000 of them (about 1,700 per partition of 6).
const BIG = { GRIDWATCH_FORWARD_LINGER_MS: '1000', GRIDWATCH_FORWARD_LINGER_RECORDS: '10000', GRIDWATCH_FORWARD_BATCH_MAX: '20000' };
export const COMBOS: { name: string; env: Record<string, string> }[] = [
  { name: 'json-gzip', env: {} },
  { name: 'json-zstd', env: { GRIDWATCH_FORWARD_COMPRESSION: 'zstd' } },
  { name: 'avro-gzip', env: { GRIDWATCH_READINGS_ENCODING: 'avro' } },
  { name: 'avro-zstd', env: { GRIDWATCH_READINGS_ENCODING: 'avro', GRIDWATCH_FORWARD_COMPRESSION: 'zstd' } },
  { name: 'avro-zstd3', env: { GRIDWATCH_READINGS_ENCODING: 'avro', GRIDWATCH_FORWARD_COMPRESSION: 'zstd', GRIDWATCH_FORWARD_ZSTD_LEVEL: '3' } },
  { name: 'json-zstd-big', env: { GRIDWATCH_FORWARD_COMPRESSION: 'zstd', ...BIG } },
  { name: 'avro-gzip-big', env: { GRIDWATCH_READINGS_ENCODING: 'avro', ...BIG } },
  { name: 'avro-zstd-big', env: { GRIDWATCH_READINGS_ENCODING: 'avro', GRIDWATCH_FORWARD_COMPRESSION: 'zstd', ...BIG } },
];

function comboText(name: string): string {
  const e = COMBOS.find((c) => c.name === name)!.env;
  const codec = e.GRIDWATCH_FORWARD_COMPRESSION ?? 'gzip';
  return `${e.GRIDWATCH_READINGS_ENCODING ?? 'json'}, ${codec}${codec === 'zstd' ? ` ${e.GRIDWATCH_FORWARD_ZSTD_LEVEL ?? 9}` : ''}, ${e.GRIDWATCH_FORWARD_LINGER_RECORDS ?? 1000} readings per send`;
}

export async function benchWan(opts: { log: (line: string) => void }): Promise<Record<string, unknown>> {
  const { loadProbe } = await import('./report.ts');
  const { benchKafka } = await import('./kafka-env.ts');
  const probe = loadProbe();
  const brokers = benchKafka().brokers;
  const seconds = Number(process.env.BENCH_WAN_SECONDS ?? 15);
  const only = process.env.BENCH_WAN_ONLY ? new Set(process.env.BENCH_WAN_ONLY.split(',')) : null;
  const runs: Record<string, FleetResult> = {};
  for (const c of COMBOS) {
    if (only && !only.has(c.name) && c.name !== 'json-gzip') continue;
    runs[c.name] = await fleetPhase({ brokers, seconds, log: opts.log, env: c.env });
  }
  const base = runs['json-gzip']!.logBytesPerReading;
  const figures: BenchFigure[] = Object.entries(runs).flatMap(([name, r]): BenchFigure[] => r.logBytesPerReading === null ? [] : [
    {
      id: `edge.wan.bytes_per_reading.${name}`, figure: `bytes per reading on the broker's log, ${name} (${comboText(name)})`,
      value: r.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false,
      ...(base ? { yardstick: { name: 'JSON + gzip, default batches', value: base }, ratio: Math.round((r.logBytesPerReading / base) * 100) / 100 } : {}),
      goal: { text: '<= 20 bytes', on: 'value', max: 20 },
    },
    { id: `edge.wan.cpu_per_reading.${name}`, figure: `edge CPU per durable reading, ${name}`, value: r.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false },
  ]);
  return { figures, load: probe.end(), seconds, runs };
}
