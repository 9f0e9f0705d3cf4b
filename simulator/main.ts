/**
 * `gridwatch simulate`: the simulator's composition root. Generates (or loads) a topology,
 * resolves the scenario's faults, writes the topology file and the ground truth, then either
 * floods MQTT brokers with the readings or, without --broker, writes the messages as JSONL.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readDeviceSecrets } from '../shared/device-secrets.ts';
import { loadTopologyFile, writeTopologyFile } from '../shared/topology/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import { loadScenarioFile, type FaultSpec } from './faults.ts';
import { formatDuration, parseDuration } from '../shared/duration.ts';
import { createSimulation } from './generate.ts';
import { generateTopology, type GridProfile } from './topology.ts';
import { writeTruthFile } from './truth.ts';

const USAGE = `usage: gridwatch simulate [options]

grid
  --meters N            meters to generate (default 10000)
  --substations N       substations (default: one per 2,500 meters)
  --profile P           eu (230 V/50 Hz) | na (120-240 V/60 Hz) | mixed (default eu)
  --mislabel SHARE      share of meters whose recorded transformer is wrong, 0-1 (default 0)
  --topology FILE       use this topology (CSV/JSON) instead of generating one
  --topology-out FILE   write the (recorded, possibly mislabelled) topology here (.csv or .json)
  --seed N              seed for everything (default 1)
time
  --interval DUR        reading interval (default 10s)
  --duration DUR        event-time span to simulate (default 1h)
  --from ISO            event time of the first reading (default: now in realtime mode, now - duration in fast mode)
  --clock-drift         meter clocks start off by up to +-2 s and drift up to +-1 s/day
  --late SHARE          share of readings delivered late (and out of order), 0-1
  --duplicates SHARE    share of readings delivered twice, 0-1
faults
  --scenario FILE       faults from a JSON or YAML scenario
  --faults N            random faults drawn from the seed (default 10 without --scenario)
  --truth FILE          write the ground truth (JSONL, one record per fault)
flood (without --broker the messages are written to --output as JSONL, or only counted)
  --broker URL          mqtt://, mqtts:// or wss://host:port, repeatable; substation i goes to broker i mod n
  --qos 0|1             (default 1)
  --concentrators       one connection per data concentrator sending arrays (default: per meter)
  --connections N       connection cap per broker (default 200; see docs/simulator.md)
  --mode M              realtime | fast (default fast)
  --speed X             fast mode: event time runs X times wall time (default: as fast as possible)
  --rate N              target MQTT messages per second (default: unlimited)
  --in-flight N         unacknowledged publishes allowed (default 1000)
  --max-wall DUR        stop after this much wall time
  --username U --password P   MQTT credentials for every connection
  --ca FILE             PEM CA for mqtts:// and wss:// brokers (the edge's TLS listeners)
  --device-auth         one connection per device, each with its own credentials: from
                        --device-credentials FILE (the device half \`gridwatch credentials
                        add-device --device-file\` writes: {"<device id>": {username, password}}),
                        or else username = meterId or concentratorId, password = --password
  --output FILE         without --broker: write {topic, payload} lines here
  --quiet               no progress line`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      meters: { type: 'string', default: '10000' },
      substations: { type: 'string' },
      profile: { type: 'string', default: 'eu' },
      mislabel: { type: 'string', default: '0' },
      topology: { type: 'string' },
      'topology-out': { type: 'string' },
      seed: { type: 'string', default: '1' },
      interval: { type: 'string', default: '10s' },
      duration: { type: 'string', default: '1h' },
      from: { type: 'string' },
      'clock-drift': { type: 'boolean', default: false },
      late: { type: 'string', default: '0' },
      duplicates: { type: 'string', default: '0' },
      scenario: { type: 'string' },
      faults: { type: 'string' },
      truth: { type: 'string' },
      broker: { type: 'string', multiple: true },
      qos: { type: 'string', default: '1' },
      concentrators: { type: 'boolean', default: false },
      connections: { type: 'string', default: '200' },
      mode: { type: 'string', default: 'fast' },
      speed: { type: 'string' },
      rate: { type: 'string', default: '0' },
      'in-flight': { type: 'string', default: '1000' },
      'max-wall': { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'device-auth': { type: 'boolean', default: false },
      'device-credentials': { type: 'string' },
      ca: { type: 'string' },
      output: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const num = (name: string, value: string, min: number, max = Infinity): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new GridwatchError('CONFIG_INVALID', `--${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return n;
  };
  const seed = Math.floor(num('seed', v.seed, 0, 2 ** 32 - 1));
  const intervalMs = parseDuration(v.interval, '--interval');
  if (intervalMs < 100) throw new GridwatchError('CONFIG_INVALID', '--interval: at least 100ms');
  const durationMs = parseDuration(v.duration, '--duration');
  if (!['realtime', 'fast'].includes(v.mode)) throw new GridwatchError('CONFIG_INVALID', `--mode: realtime or fast, got ${v.mode}`);
  if (!['eu', 'na', 'mixed'].includes(v.profile)) throw new GridwatchError('CONFIG_INVALID', `--profile: eu, na or mixed, got ${v.profile}`);
  const mode = v.mode as 'realtime' | 'fast';
  const qos = num('qos', v.qos, 0, 1) as 0 | 1;
  let from: number;
  if (v.from) {
    from = Date.parse(v.from);
    if (Number.isNaN(from)) throw new GridwatchError('CONFIG_INVALID', `--from: not a date-time: ${v.from}`);
  } else {
    // Fast mode ends at "now" so that no event time lies in the future (edges flag clock_ahead).
    const now = Date.now();
    from = Math.floor((mode === 'realtime' ? now : now - durationMs) / intervalMs) * intervalMs;
  }

  let actual;
  let recorded;
  if (v.topology) {
    actual = [...loadTopologyFile(v.topology).entries()];
    recorded = actual;
  } else {
    const generated = generateTopology({
      meters: num('meters', v.meters, 1),
      seed,
      ...(v.substations ? { substations: num('substations', v.substations, 1) } : {}),
      profile: v.profile as GridProfile,
      mislabelShare: num('mislabel', v.mislabel, 0, 1),
      readingIntervalMs: intervalMs,
    });
    actual = generated.actual;
    recorded = generated.recorded;
  }
  if (v['topology-out']) writeTopologyFile(v['topology-out'], recorded);

  let faults: FaultSpec[] = [];
  let randomCount = v.faults !== undefined ? num('faults', v.faults, 0) : v.scenario ? 0 : 10;
  if (v.scenario) {
    const scenario = loadScenarioFile(v.scenario);
    faults = scenario.faults;
    if (scenario.random && v.faults === undefined) randomCount = scenario.random.count;
  }
  const sim = createSimulation({
    topology: actual,
    faults,
    randomFaults: randomCount,
    from,
    to: from + durationMs,
    intervalMs,
    seed,
    clockDrift: v['clock-drift'],
    delivery: { lateShare: num('late', v.late, 0, 1), duplicateShare: num('duplicates', v.duplicates, 0, 1) },
  });
  if (sim.skipped.length > 0) process.stderr.write(`simulate: ${sim.skipped.length} fault(s) start after the simulated span and are left out: ${sim.skipped.map((f) => f.faultId).join(', ')}\n`);
  const fit = sim.randomFit;
  if (fit && fit.fit < fit.asked) {
    // Each random fault needs a slot of its own after the detectors' warm-up: say why fewer came out.
    process.stderr.write(`simulate: only ${fit.fit} of the ${fit.asked} random faults asked for fit in ${formatDuration(durationMs)} at a ${formatDuration(intervalMs)} interval (a warm-up of 70 intervals, then a slot of at least 5 minutes or 50 intervals per fault); all ${fit.asked} need --duration ${formatDuration(Math.ceil(fit.neededSpanMs / 1000) * 1000)} or more\n`);
  }
  if (v.truth) writeTruthFile(v.truth, sim.truth);
  process.stderr.write(`simulate: ${actual.length} meters, ${sim.ticks} intervals of ${intervalMs} ms from ${new Date(from).toISOString()}, ${sim.truth.length} faults\n`);

  const brokers = v.broker ?? [];
  if (brokers.length === 0) {
    const out = v.output ? createWriteStream(v.output) : undefined;
    let readings = 0;
    let events = 0;
    for (const item of sim.items()) {
      if (item.kind === 'reading') readings++;
      else events++;
      if (out) {
        const line = item.kind === 'reading' ? { topic: `meters/${item.meterId}/reading`, payload: item.reading } : { topic: `meters/${item.meterId}/event`, payload: item.event };
        if (!out.write(JSON.stringify(line) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    }
    if (out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    console.log(JSON.stringify({ readings, events, faults: sim.truth.length }));
    return 0;
  }

  const { flood } = await import('./flood.ts');
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const showProgress = !v.quiet && process.stderr.isTTY;
  try {
    const report = await flood({
      brokers,
      substations: [...new Set(actual.map((e) => e.substationId))],
      items: sim.items(),
      from,
      intervalMs,
      qos,
      connection: v.concentrators ? 'concentrator' : 'meter',
      maxConnections: num('connections', v.connections, 1),
      mode,
      ...(v.speed ? { speed: num('speed', v.speed, 0.001) } : {}),
      rate: num('rate', v.rate, 0),
      inFlight: num('in-flight', v['in-flight'], 1),
      ...(v['max-wall'] ? { maxWallMs: parseDuration(v['max-wall'], '--max-wall') } : {}),
      ...(v.ca ? { ca: readFileSync(v.ca, 'utf8') } : {}),
      auth: { ...(v.username ? { username: v.username } : {}), ...(v.password !== undefined ? { password: v.password } : {}), perDevice: v['device-auth'] || v['device-credentials'] !== undefined, ...(v['device-credentials'] ? { devices: readDeviceSecrets(v['device-credentials']) } : {}) },
      signal: abort.signal,
      ...(showProgress
        ? { onProgress: (p) => process.stderr.write(`\rsent ${p.sent}  acked ${p.acked}  ${Math.round(p.ratePerSec)}/s  in flight ${p.inFlight}  errors ${p.errors}   `) }
        : {}),
    });
    if (showProgress) process.stderr.write('\n');
    console.log(JSON.stringify(report));
    return report.errors > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

