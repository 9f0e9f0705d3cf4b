/**
 * `gridwatch bench --only topology` (goal 7): a 1,000,000-meter topology file (CSV, as operators
 * export it) loaded by central's registry (parse, contract check per row, duplicate check, the
 * indexes under every transformer, feeder and substation), against a bare `JSON.parse` of the same
 * entries in the same process. Wall time and CPU time of this process both: on a shared machine
 * the wall time moves with the others' load, the CPU time much less. BENCH_TOPOLOGY_METERS sets
 * the size.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TopologyRegistry } from '../central/registry/index.ts';
import { Metrics, silentLogger, writeTopologyFile, type TopologyEntry } from '../shared/index.ts';
import type { BenchFigure } from './figures.ts';
import { loadProbe } from './report.ts';

/** Grid shape of central's bench: 2,500 meters per substation, 5 feeders, 25 transformers of 20 meters. */
export function benchMeter(j: number): TopologyEntry {
  const s = Math.floor(j / 2500);
  const f = Math.floor((j % 2500) / 500);
  const t = Math.floor((j % 500) / 20);
  return { meterId: `A${j}`, transformerId: `S${s}-F${f}-T${t}`, feederId: `S${s}-F${f}`, substationId: `S${s}`, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 };
}

function timed<T>(fn: () => T): { value: T; wallS: number; cpuS: number } {
  const c = process.cpuUsage();
  const t = performance.now();
  const value = fn();
  const u = process.cpuUsage(c);
  return { value, wallS: (performance.now() - t) / 1000, cpuS: (u.user + u.system) / 1e6 };
}

export async function benchTopology(opts: { log: (line: string) => void; meters?: number }): Promise<Record<string, unknown>> {
  const probe = loadProbe();
  const meters = opts.meters ?? Number(process.env.BENCH_TOPOLOGY_METERS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'bench-topology-'));
  try {
    const file = join(dir, 'topology.csv');
    let entries: TopologyEntry[] = Array.from({ length: meters }, (_, j) => benchMeter(j));
    writeTopologyFile(file, entries);
    const json = JSON.stringify(entries);
    entries = [];
    (globalThis as { gc?: () => void }).gc?.();
    const rss0 = process.memoryUsage().rss;
    const load = timed(() => new TopologyRegistry({ logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), file }));
    const rssAfterMb = Math.round(process.memoryUsage().rss / 1048576);
    const bare = timed(() => (JSON.parse(json) as unknown[]).length);
    const r = {
      meters: load.value.topology.size, bareParsed: bare.value, fileMb: Number((readFileSync(file).length / 1048576).toFixed(1)),
      loadS: r3(load.wallS), loadCpuS: r3(load.cpuS), bareJsonParseS: r3(bare.wallS), bareJsonParseCpuS: r3(bare.cpuS),
      rssGrowthMb: Math.round((process.memoryUsage().rss - rss0) / 1048576), rssAfterMb,
    };
    opts.log(`topology ${JSON.stringify(r)}`);
    const figures: BenchFigure[] = [
      { id: 'topology.load', figure: `central: ${r.meters.toLocaleString('en')}-meter topology file (CSV) loaded, wall time`, value: r.loadS, unit: 's', higherIsBetter: false, yardstick: { name: 'bare JSON.parse of the same entries', value: r.bareJsonParseS }, ratio: r3(r.loadS / r.bareJsonParseS), goal: { text: '<= 10 s (1,000,000 meters)', on: 'value', max: 10 } },
      { id: 'topology.load_cpu', figure: 'central: the same load, CPU time', value: r.loadCpuS, unit: 's', higherIsBetter: false, yardstick: { name: 'bare JSON.parse, CPU time', value: r.bareJsonParseCpuS }, ratio: r3(r.loadCpuS / r.bareJsonParseCpuS) },
      { id: 'topology.rss', figure: 'central: RSS of the process with the topology loaded', value: r.rssAfterMb, unit: 'MB', higherIsBetter: false, goal: { text: '<= 2 GB (with 100k readings/s consumed: bench central)', on: 'value', max: 2048 } },
    ];
    return { figures, load: probe.end(), ...r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;
