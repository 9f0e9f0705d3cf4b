/**
 * `gridwatch demo` (`npm run demo`): provisions what it needs, runs one central aggregator, one
 * edge gateway per substation and the simulator with the demo scenario, shows a live summary,
 * prints the scorer's table against the ground truth at the end, and stops everything it started.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureServices, serviceEndpoints, stopServices, type ServiceName } from '../deploy/services/index.ts';
import { cacheDir } from '../deploy/services/layout.ts';
import { GridwatchError } from '../shared/errors.ts';
import { parseDuration } from '../shared/duration.ts';
import { formatReport } from '../simulator/score-main.ts';
import { archiveCensus, type ArchiveCensus } from './demo/archive-census.ts';
import { portInUse } from './demo/program.ts';
import { DEFAULT_SCENARIO, runDemo, type DemoResult, type LiveStatus } from './demo/run.ts';

const USAGE = `usage: gridwatch demo [options]

  --meters N          meters in the simulated grid (default 3000)
  --substations N     substations, one edge gateway each (default 3)
  --duration DUR      how long the simulation runs, in real time (default 300s: the scenario needs 290 s)
  --interval DUR      reading interval of every meter (default 1s)
  --scenario FILE     faults to inject (default deploy/scenarios/demo.yaml)
  --seed N            seed of the grid and the faults (default 1)
  --port N            central's API and console (default 8080, or a free port if 8080 is taken)
  --tolerance DUR     scorer's time tolerance (default 20s)
  --duplicates SHARE  share of readings the simulator sends twice, 0-1 (default 0); the archive must
                      still hold each once
  --kill-edge DUR     kill -9 the second edge gateway this long after it took its first readings and
                      start it again on its data directory (default: no kill)
  --no-object-store   archive to a local directory instead of MinIO
  --keep-services     leave Kafka, MinIO and InfluxDB running at the end
  --dir DIR           where the run keeps its files (default <cache>/demo/<run id>)

Ctrl-C ends the simulation early; the demo still drains, scores and stops. A second Ctrl-C stops at once.`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      meters: { type: 'string', default: '3000' },
      substations: { type: 'string', default: '3' },
      duration: { type: 'string', default: '300s' },
      interval: { type: 'string', default: '1s' },
      scenario: { type: 'string', default: DEFAULT_SCENARIO },
      seed: { type: 'string', default: '1' },
      port: { type: 'string', default: '8080' },
      tolerance: { type: 'string', default: '20s' },
      duplicates: { type: 'string', default: '0' },
      'kill-edge': { type: 'string' },
      'no-object-store': { type: 'boolean', default: false },
      'keep-services': { type: 'boolean', default: false },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const int = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new GridwatchError('CONFIG_INVALID', `--${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return n;
  };
  const meters = int('meters', v.meters, 10, 200_000);
  const substations = int('substations', v.substations, 1, 20);
  const seed = int('seed', v.seed, 0, 2 ** 32 - 1);
  let port = int('port', v.port, 0, 65535);
  const durationMs = parseDuration(v.duration, '--duration');
  const intervalMs = parseDuration(v.interval, '--interval');
  const toleranceMs = parseDuration(v.tolerance, '--tolerance');
  const duplicateShare = Number(v.duplicates);
  if (!(duplicateShare >= 0 && duplicateShare <= 1)) throw new GridwatchError('CONFIG_INVALID', `--duplicates: expected a share in [0, 1], got ${JSON.stringify(v.duplicates)}`);
  const killEdge = v['kill-edge'] === undefined ? undefined : { index: Math.min(1, substations - 1), atMs: parseDuration(v['kill-edge'], '--kill-edge') };
  const say = (line: string) => process.stderr.write(`[demo] ${line}\n`);

  // Servers: Kafka is required; without MinIO the archive goes to a directory, without InfluxDB there are no points.
  say('provisioning servers (the first run builds MinIO and InfluxDB with go install: a few minutes)');
  const started: ServiceName[] = [];
  const endpoints = serviceEndpoints();
  started.push(...(await ensureServices({ services: ['kafka'], log: say })).started);
  let s3: typeof endpoints.s3 | null = null;
  if (!v['no-object-store']) {
    try {
      started.push(...(await ensureServices({ services: ['minio'], log: say })).started);
      s3 = endpoints.s3;
    } catch (err) {
      say(`MinIO unavailable (${(err as Error).message.split('\n')[0]}): archiving to a local directory with the same layout instead`);
    }
  }
  let influx: typeof endpoints.influx | null = null;
  try {
    started.push(...(await ensureServices({ services: ['influxdb'], log: say })).started);
    influx = endpoints.influx;
  } catch (err) {
    say(`InfluxDB unavailable (${(err as Error).message.split('\n')[0]}): no points are written`);
  }
  if (!s3) say('no object store: the archive goes to a local directory with the same layout');
  if (port !== 0 && (await portInUse(port))) {
    say(`port ${port} is taken: central gets a free port`);
    port = 0;
  }

  const runId = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
  const runDir = v.dir ?? join(cacheDir(), 'demo', runId);
  const abort = new AbortController();
  let interrupted = 0;
  const onSignal = () => {
    interrupted++;
    if (interrupted === 1) {
      say('stopping the simulation early; draining, scoring and stopping (Ctrl-C again to stop at once)');
      abort.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const onStatus = (s: LiveStatus) => {
    const line = statusLine(s);
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (s.elapsedMs - lastPrinted >= 10_000) {
      lastPrinted = s.elapsedMs;
      process.stderr.write(`${line}\n`);
    }
  };

  try {
    let result: DemoResult;
    try {
      result = await runDemo({
        endpoints: { kafka: endpoints.kafkaSecure!, s3, influx },
        meters,
        substations,
        seed,
        intervalMs,
        durationMs,
        scenario: v.scenario,
        runId,
        runDir,
        centralPort: port,
        toleranceMs,
        duplicateShare,
        ...(killEdge ? { killEdge } : {}),
        log: (line) => {
          if (tty) process.stderr.write('\r\x1b[K');
          say(line);
        },
        onStatus,
        signal: abort.signal,
      });
    } finally {
      if (tty) process.stderr.write('\n');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    // Read the archive back (while MinIO still runs): what the run stored, and that nothing is there twice.
    let census: ArchiveCensus | null = null;
    try {
      census = await archiveCensus(result.archive, s3);
    } catch (err) {
      say(`could not read the archive back: ${(err as Error).message}`);
    }
    console.log(summary(result, census));
    return 0;
  } finally {
    if (!v['keep-services'] && started.length > 0) {
      say(`stopping the servers this demo started: ${started.join(', ')}`);
      await stopServices(started, { kafkaCluster: false });
    }
  }
}

function statusLine(s: LiveStatus): string {
  const outbox = Object.values(s.outboxDepths).map((d) => (d < 0 ? '?' : String(d))).join('/');
  return `t+${Math.round(s.elapsedMs / 1000)}s  readings ${Math.round(s.readingsPerSec).toLocaleString('en')}/s (${s.readingsAccepted.toLocaleString('en')})  anomalies ${s.anomaliesOpened}  open grid events ${s.openEvents}  outbox ${outbox}  console ${s.consoleUrl}`;
}

function summary(r: DemoResult, census: ArchiveCensus | null): string {
  const archive = r.archive.kind === 's3' ? `MinIO ${r.archive.url}, bucket ${r.archive.bucket} (one key prefix per topic)` : `${r.archive.dir} (no object store)`;
  const n = (x: number) => x.toLocaleString('en');
  const archived = census
    ? `${n(census.readings.records)} readings in ${census.readings.objects} objects (${census.readings.duplicates} duplicates), ${n(census.anomalies.records)} anomaly and ${n(census.events.records)} grid event records`
    : 'not read back';
  const flood = r.flood
    ? `${r.flood.readings.toLocaleString('en')} readings sent (${r.flood.distinctReadings.toLocaleString('en')} distinct, ${Math.round(r.flood.readingsPerSec).toLocaleString('en')}/s, ${r.flood.errors} errors${r.killed ? `, ${r.flood.errorsByBroker[r.killed.mqttUrl]?.connection ?? 0} of them ${r.killed.edge}'s dropped connections` : ''})`
    : 'no flood report';
  const killed = r.killed ? [`killed:    ${r.killed.edge} (kill -9) ${Math.round(r.killed.atMs / 1000)} s after its first readings, ready again after ${(r.killed.downMs / 1000).toFixed(1)} s`] : [];
  return [
    '',
    `gridwatch demo ${r.runId}: ${flood}; ${r.readingsInKafka.toLocaleString('en')} readings in Kafka${r.leftInOutboxes > 0 ? ` (${r.leftInOutboxes.toLocaleString('en')} records still in the edges' outboxes at their stop, kept on disk for their next start)` : ''}; ${r.detections.anomalies.length} anomaly records and ${r.detections.events.length} grid event records`,
    '',
    formatReport(r.report),
    '',
    `kafka:     ${r.kafka}`,
    ...killed,
    `archive:   ${archive}`,
    `archived:  ${archived}`,
    `influxdb:  ${r.influxBucket ?? 'not written'}`,
    `topics:    ${r.topics.readings}, ${r.topics.anomalies}, ${r.topics.events}, ...`,
    `files:     ${r.runDir} (topology.csv, truth.jsonl, flood.json, api-tokens.json, logs/)`,
    `console:   ${r.consoleUrl} (sign in with the token in ${r.consoleTokenFile})`,
    `logs:      ${join(r.runDir, 'logs')}`,
  ].join('\n');
}
