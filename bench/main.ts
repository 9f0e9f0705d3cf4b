import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * `gridwatch bench [--only edge|central|simulator] [--readings N] [--json FILE]`: runs the
 * benchmarks and prints one JSON object per part (each loaded only when it runs).
 */
type BenchFn = (opts: { log: (line: string) => void; readings?: number }) => Promise<Record<string, unknown>>;
const PARTS: { name: string; load: () => Promise<BenchFn> }[] = [
  { name: 'edge', load: async () => (await import('./edge.ts')).benchEdge },
  { name: 'central', load: async () => (await import('./central.ts')).benchCentral },
  { name: 'simulator', load: async () => (await import('./simulator.ts')).benchSimulator },
];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string', multiple: true }, readings: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: gridwatch bench [--only edge|central|simulator]... [--readings N] [--json FILE]');
    return 0;
  }
  const only = values.only && values.only.length > 0 ? new Set(values.only) : null;
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const part of PARTS) {
    if (only && !only.has(part.name)) continue;
    const opts: Parameters<BenchFn>[0] = { log: (line: string) => console.error(`[${part.name}] ${line}`) };
    if (values.readings !== undefined) opts.readings = Number(values.readings);
    try {
      const fn = await part.load();
      results[part.name] = await fn(opts);
      console.log(JSON.stringify({ part: part.name, ...results[part.name] as object }));
    } catch (err) {
      failed = true;
      console.error(`bench ${part.name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(results, null, 2) + '\n');
  }
  return failed ? 1 : 0;
}
