import { parseArgs } from 'node:util';
import type { PartResult } from './report.ts';

/**
 * `gridwatch bench [--only edge|edge-fleet|edge-drain|producer-clients|wan|mqtt-conns|latency|central|topology|simulator] [--readings N] [--json FILE] [--compare FILE]`:
 * runs the benchmarks (each module loaded only when its part runs), prints one JSON line per part
 * on stderr and, at the end, one table on stdout of every part's figures (bench/report.ts); --compare flags
 * any figure 20 % worse than in an earlier --json file (exit 2).
 */
type Part = { name: string; module: string; fn: string };
const PARTS: Part[] = [
  { name: 'edge', module: './edge.ts', fn: 'benchEdge' },
  // Goal 0 and 4 alone: the paced 10,000-meter fleet, JSON then Avro on grid.readings.
  { name: 'edge-fleet', module: './edge-fleet.ts', fn: 'benchEdgeFleet' },
  // Goals 2 and 3 alone: the single-reading intake, then the drain of its backlog with a live load.
  { name: 'edge-drain', module: './edge-drain.ts', fn: 'benchEdgeDrain' },
  // The edge forwarder's producer clients through the port, kafkajs the yardstick (shared/kafka/producer.ts).
  { name: 'producer-clients', module: './producer-clients.ts', fn: 'benchProducerClients' },
  // Goal 4: bytes per reading on the broker's log for each encoding x compression x batch size.
  { name: 'wan', module: './wan.ts', fn: 'benchWan' },
  // Goal 7: 20,000 concurrent MQTT connections held by one edge (RSS, intake rate).
  { name: 'mqtt-conns', module: './mqtt-conns.ts', fn: 'benchMqttConns' },
  // Goal 6: a fault's first abnormal reading to its grid event record (real edge + central), holds at default and at 0.
  { name: 'latency', module: './latency.ts', fn: 'benchLatency' },
  { name: 'central', module: './central.ts', fn: 'benchCentral' },
  // Goal 7: a 1,000,000-meter topology file loaded by central's registry against a bare JSON.parse.
  { name: 'topology', module: './topology.ts', fn: 'benchTopology' },
  { name: 'simulator', module: './simulator.ts', fn: 'benchSimulator' },
  // Kafka PLAINTEXT vs SASL_SSL (producer and consumer), side by side.
  { name: 'kafka-security', module: './kafka-security.ts', fn: 'benchKafkaSecurity' },
  // TLS vs plain TCP at the edge's MQTT listener, single QoS 1 readings (also inside the edge part).
  { name: 'mqtt-tls', module: './mqtt-tls.ts', fn: 'benchMqttTls' },
  { name: 'learn', module: './learn.ts', fn: 'benchLearn' },
  // Reading history from the archive (1 h, 1 day, 7 days of one meter) and replay rates.
  { name: 'history', module: './history.ts', fn: 'benchHistory' },
];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string', multiple: true }, readings: { type: 'string' }, json: { type: 'string' }, compare: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: gridwatch bench [--only edge|edge-fleet|edge-drain|producer-clients|wan|mqtt-conns|latency|central|topology|simulator|kafka-security|mqtt-tls|learn|history]... [--readings N] [--json FILE] [--compare FILE]');
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
      // Details on stderr as one JSON line (all of them in --json); stdout carries the one table.
      console.error(JSON.stringify({ part: part.name, ...results[part.name] as object }));
    } catch (err) {
      failed = true;
      console.error(`bench ${part.name} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  if (values.json) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values.json, JSON.stringify(results, null, 2) + '\n');
  }
  const report = await import('./report.ts');
  console.log(report.table(results as Record<string, PartResult>));
  if (values.compare) {
    const { readFileSync } = await import('node:fs');
    const before = JSON.parse(readFileSync(values.compare, 'utf8')) as Record<string, PartResult>;
    const c = report.regressions(before, results as Record<string, PartResult>);
    console.error(`\ncompared with ${values.compare}: ${c.compared} figures, ${c.flagged.length} 20 % worse${c.missing.length ? `; not measured this time: ${c.missing.join(', ')}` : ''}`);
    for (const r of c.flagged) console.error(`  WORSE ${r.id} (${r.figure}): ${r.before} -> ${r.now} (${r.relative} of before)`);
    if (c.flagged.length > 0) return 2;
  }
  return failed ? 1 : 0;
}
