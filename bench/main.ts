import { parseArgs } from 'node:util';

/**
 * `gridwatch bench [--only edge|central|simulator] [--readings N] [--json FILE]`: runs the
 * benchmarks and prints one JSON object per part (each module loaded only when its part runs).
 */
type Part = { name: string; module: string; fn: string };
const PARTS: Part[] = [
  { name: 'edge', module: './edge.ts', fn: 'benchEdge' },
  { name: 'central', module: './central.ts', fn: 'benchCentral' },
  { name: 'simulator', module: './simulator.ts', fn: 'benchSimulator' },
  // Kafka PLAINTEXT vs SASL_SSL (producer and consumer), side by side.
  { name: 'kafka-security', module: './kafka-security.ts', fn: 'benchKafkaSecurity' },
  { name: 'learn', module: './learn.ts', fn: 'benchLearn' },
  // Reading history from the archive (1 h, 1 day, 7 days of one meter) and replay rates.
  { name: 'history', module: './history.ts', fn: 'benchHistory' },
];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string', multiple: true }, readings: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: gridwatch bench [--only edge|central|simulator|kafka-security|learn|history]... [--readings N] [--json FILE]');
    return 0;
  }
  const only = values.only && values.only.length > 0 ? new Set(values.only) : null;
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const part of PARTS) {
    if (only && !only.has(part.name)) continue;
    const mod = (await import(part.module)) as Record<string, (opts: Record<string, unknown>) => Promise<Record<string, unknown>>>;
    const fn = mod[part.fn];
    if (typeof fn !== 'function') {
      console.error(`bench ${part.name}: ${part.module} does not export ${part.fn}`);
      failed = true;
      continue;
    }
    const opts: Record<string, unknown> = { log: (line: string) => console.error(`[${part.name}] ${line}`) };
    if (values.readings !== undefined) opts.readings = Number(values.readings);
    try {
      results[part.name] = await fn(opts);
      console.log(JSON.stringify({ part: part.name, ...results[part.name] as object }));
    } catch (err) {
      failed = true;
      console.error(`bench ${part.name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  if (values.json) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values.json, JSON.stringify(results, null, 2) + '\n');
  }
  return failed ? 1 : 0;
}
