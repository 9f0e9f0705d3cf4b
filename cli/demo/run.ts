// The whole pipeline on one machine: one central aggregator, one edge gateway per substation and
// the simulator, each its own process, against real Kafka (and MinIO and InfluxDB when given).
// `gridwatch demo` and the end-to-end test both run it; only what they print and check differs.
//
//   simulator --MQTT--> edge-sub-01 .. edge-sub-N --Kafka--> central --> grid.events, archive, InfluxDB
//                                                                      `-> scorer (truth vs what Kafka holds)
//
// Every run gets its own topics (prefix `demo-<runId>.`), consumer group and archive bucket (or
// directory), so runs never see each other's records and a score is about this run only. Kafka is
// SASL_SSL, each program as its own principal (cli/demo/kafka.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaClient, topicNames, type TopicNames } from '../../shared/kafka/index.ts';
import type { KafkaSecurity } from '../../shared/kafka/security.ts';
import { newToken, writeTokensFile } from '../../central/api/auth/index.ts';
import { writeTopologyFile } from '../../shared/topology/index.ts';
import { createInfluxDatabase } from '../../deploy/services/influxdb.ts';
import type { ServiceEndpoints } from '../../deploy/services/index.ts';
import { generateTopology } from '../../simulator/topology.ts';
import { readTruthFile, type TruthRecord } from '../../simulator/truth.ts';
import { score, type ScoreReport } from '../../simulator/score.ts';
import { readDetectionsFromKafka, type KafkaDetections } from '../../simulator/kafka-detections.ts';
import type { FloodReport } from '../../simulator/flood.ts';
import { Program, freePort, waitReady } from './program.ts';
import { provisionDemoDevices } from './devices.ts';
import { sumSamples } from './prom-text.ts';
import { demoKafka, prepareDemoKafka, type DemoKafkaEndpoints } from './kafka.ts';

export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../deploy/scenarios/demo.yaml', import.meta.url));

/** Holds of the correlator (central/correlate defaults) that a score must wait out after the last record. */
const CORRELATOR_SETTLE_MS = 15_000;
const READY_TIMEOUT_MS = 120_000;

export interface DemoOptions {
  /** Kafka is the SASL_SSL listener (`serviceEndpoints().kafkaSecure`): edges, central and the demo each connect as their own principal. */
  endpoints: { kafka: DemoKafkaEndpoints; s3: ServiceEndpoints['s3'] | null; influx: ServiceEndpoints['influx'] | null };
  meters: number;
  substations: number;
  seed: number;
  /** Reading interval and event-time span of the simulation (real time: the flood lasts this long). */
  intervalMs: number;
  durationMs: number;
  scenario: string;
  runId: string;
  runDir: string;
  /** Port of central's API and console; 0 picks a free one. */
  centralPort: number;
  /** InfluxDB database (bucket) of the run (default `gridwatch`, shared by runs; tests use their own). */
  influxDatabase?: string;
  /** Scorer's time tolerance. */
  toleranceMs: number;
  log: (line: string) => void;
  /** Called every `statusEveryMs` while the simulator runs. */
  onStatus?: (s: LiveStatus) => void;
  statusEveryMs?: number;
  /** Aborting ends the flood early; the run still drains, scores and stops. */
  signal?: AbortSignal;
  /** The simulator's --duplicates: share of readings sent twice (default 0). */
  duplicateShare?: number;
  /**
   * kill -9 of edge number `index` (sorted by substation) `atMs` after it took its first readings
   * (the simulator's own start can take long on a busy machine), then a restart on the same ports
   * and data directory: what was acknowledged must still arrive once.
   */
  killEdge?: { index: number; atMs: number };
  /**
   * After the flood, before the edges stop: wait up to this long for every edge's outbox to be
   * empty and central's lag to be 0, with progress in the log (`gridwatch soak`: what is judged
   * lost is then what was PUBACKed and not archived after the drain, not what was still queued).
   * Unset: the edges stop at once (the demo and the end-to-end test).
   */
  drainTimeoutMs?: number;
  /** Extra settings for every edge (`gridwatch soak`: several readings per record). */
  edgeEnv?: Record<string, string>;
  /** Extra settings for central (`gridwatch soak`: a shorter archive age, so the committed lag says how far behind central is). */
  centralEnv?: Record<string, string>;
}

/** The pipeline's drain after the flood (DemoOptions.drainTimeoutMs). */
export interface DemoDrain {
  /** From the simulator's end until the outboxes were empty and central's lag 0 (or the bound passed). */
  ms: number;
  drained: boolean;
  /** At the end of the drain: records in the edges' outboxes (null: an edge did not answer) and central's lag. */
  outboxes: number | null;
  lag: number;
}

export interface EdgeKill {
  edge: string;
  mqttUrl: string;
  /** Time of the kill after the edge took its first readings. */
  atMs: number;
  /** How the killed process ended ('SIGKILL'). */
  exit: number | string;
  /** From the kill until the restarted gateway answered ready. */
  downMs: number;
}

export interface LiveStatus {
  elapsedMs: number;
  readingsPerSec: number;
  readingsAccepted: number;
  anomaliesOpened: number;
  openEvents: number;
  outboxDepths: Record<string, number>;
  consoleUrl: string;
  /** The run's processes (central, edges, simulator) that are running, for `gridwatch soak`'s samples. */
  processes: { name: string; pid: number }[];
  /** central's consumer lag (records, summed over partitions); NaN when not scraped. */
  lag: number;
  /** central's /metrics text as scraped for this status (null when not scraped): `gridwatch soak` samples its memory gauges. */
  centralMetrics: string | null;
  /** Each edge's /metrics text of this status (null when its scrape failed): `gridwatch soak` samples its heap. */
  edgeMetrics: Record<string, string | null>;
}

export interface DemoResult {
  runId: string;
  runDir: string;
  topics: TopicNames;
  truth: TruthRecord[];
  detections: KafkaDetections;
  report: ScoreReport;
  flood: FloodReport | null;
  /** Records in the readings topic (sum of the partitions' end offsets). */
  readingsInKafka: number;
  /** Readings the edges accepted (their counters at the last scrape before they stopped). */
  readingsAccepted: number;
  /** Records the edges still held in their outboxes when they stopped (from their last log line). */
  leftInOutboxes: number;
  archive: { kind: 's3'; bucket: string; url: string } | { kind: 'dir'; dir: string };
  influxBucket: string | null;
  consoleUrl: string;
  /** How each program connected to Kafka (never a secret). */
  kafka: string;
  /** The edge killed mid-run (DemoOptions.killEdge), null if none. */
  killed: EdgeKill | null;
  /** The drain after the flood (DemoOptions.drainTimeoutMs), null when the edges stopped at once. */
  drain: DemoDrain | null;
  /** File holding the viewer token to sign in to the console with (mode 0600). */
  consoleTokenFile: string;
  exits: Record<string, number | string>;
}

interface Edge {
  id: string;
  substationId: string;
  mqttUrl: string;
  httpUrl: string;
  program: Program;
  /** Starts the gateway again with the same settings (ports, data directory). */
  restart: () => Program;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function text(url: string, token?: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const logs = join(o.runDir, 'logs');
  mkdirSync(logs, { recursive: true });
  // Edges and central name their topics the same way: this prefix + the v1 names.
  const prefix = `demo-${o.runId}.`;
  const topics = topicNames({ kafkaTopicPrefix: prefix });

  // The grid: the topology file every program loads, written before anything starts.
  const { recorded } = generateTopology({ meters: o.meters, seed: o.seed, substations: o.substations, profile: 'eu', readingIntervalMs: o.intervalMs });
  const topologyFile = join(o.runDir, 'topology.csv');
  writeTopologyFile(topologyFile, recorded);
  const substations = [...new Set(recorded.map((e) => e.substationId))].sort();
  o.log(`grid: ${recorded.length} meters under ${substations.length} substations (${topologyFile})`);

  const archive: DemoResult['archive'] = o.endpoints.s3
    ? { kind: 's3', bucket: `gridwatch-demo-${o.runId}`.toLowerCase().slice(0, 63), url: o.endpoints.s3.url }
    : { kind: 'dir', dir: join(o.runDir, 'archive') };
  let influxBucket: string | null = null;
  if (o.endpoints.influx) influxBucket = await createInfluxDatabase(o.endpoints.influx.url, o.influxDatabase ?? 'gridwatch');

  const programs: Program[] = [];
  const exits: Record<string, number | string> = {};
  const kafka = demoKafka(o.endpoints.kafka);
  const centralGroup = `gridwatch-central-${o.runId}`;
  o.log(kafka.describe);
  const created = await prepareDemoKafka(kafka, { topicPrefix: prefix, centralGroup, topics }, o.log);
  o.log(`kafka: ${created.length} topics of the run created as admin, prefix ${prefix} and group ${centralGroup} granted to edge and central`);
  const centralPort = o.centralPort || (await freePort());
  const consoleUrl = `http://127.0.0.1:${centralPort}/`;
  // The API runs with authentication on, as shipped: one viewer key for the person at the console
  // (its token in a file of the run, never in a log) and one the demo reads the API with.
  const tokensFile = join(o.runDir, 'api-tokens.json');
  const consoleToken = newToken('demo-console', 'viewer');
  const demoToken = newToken('demo-runner', 'viewer');
  writeTokensFile(tokensFile, [consoleToken.record, demoToken.record]);
  const consoleTokenFile = join(o.runDir, 'console-token.txt');
  writeFileSync(consoleTokenFile, consoleToken.token + '\n', { mode: 0o600 });

  const stopAll = async () => {
    await Promise.all(programs.map(async (p) => (exits[p.name] = await p.stop())));
  };

  try {
    const central = Program.start(
      'central',
      ['central'],
      {
        ...kafka.env.central,
        GRIDWATCH_TOPOLOGY: topologyFile,
        GRIDWATCH_CENTRAL_GROUP: centralGroup,
        GRIDWATCH_INSTANCE_ID: 'central-1',
        GRIDWATCH_HTTP_HOST: '127.0.0.1',
        GRIDWATCH_HTTP_PORT: String(centralPort),
        GRIDWATCH_API_TOKENS_FILE: tokensFile,
        GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix,
        // Small and frequent archive objects so that the archive is complete a few seconds after the last record.
        GRIDWATCH_ARCHIVE_MAX_AGE_MS: '5000',
        GRIDWATCH_LAG_INTERVAL_MS: '1000',
        ...(archive.kind === 's3'
          ? { GRIDWATCH_S3_ENDPOINT: o.endpoints.s3!.url, GRIDWATCH_S3_ACCESS_KEY: o.endpoints.s3!.accessKey, GRIDWATCH_S3_SECRET_KEY: o.endpoints.s3!.secretKey, GRIDWATCH_S3_BUCKET: archive.bucket }
          : { GRIDWATCH_ARCHIVE_DIR: archive.dir }),
        ...(o.endpoints.influx && influxBucket
          ? { GRIDWATCH_INFLUX_URL: o.endpoints.influx.url, GRIDWATCH_INFLUX_TOKEN: o.endpoints.influx.token, GRIDWATCH_INFLUX_ORG: o.endpoints.influx.org, GRIDWATCH_INFLUX_BUCKET: influxBucket }
          : {}),
        ...o.centralEnv,
      },
      join(logs, 'central.log'),
    );
    programs.push(central);
    o.log(`central: starting (API and console ${consoleUrl}, sign in with the token in ${consoleTokenFile}; log ${central.logFile})`);
    await waitReady(central, `${consoleUrl}readyz`, READY_TIMEOUT_MS);

    const devices = await provisionDemoDevices(o.runDir, recorded);
    const edges: Edge[] = await Promise.all(
      substations.map(async (substationId) => {
        const [mqttPort, httpPort] = [await freePort(), await freePort()];
        const id = `edge-${substationId}`;
        const start = () => Program.start(
          id,
          ['edge'],
          {
            ...kafka.env.edge,
            GRIDWATCH_TOPOLOGY: topologyFile,
            GRIDWATCH_EDGE_ID: id,
            GRIDWATCH_SUBSTATION_ID: substationId,
            GRIDWATCH_DATA_DIR: join(o.runDir, id),
            GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix,
            GRIDWATCH_MQTT_HOST: '127.0.0.1',
            GRIDWATCH_MQTT_PORT: String(mqttPort),
            GRIDWATCH_MQTT_CREDENTIALS: devices.credentialsFile.get(substationId)!,
            GRIDWATCH_HTTP_HOST: '127.0.0.1',
            GRIDWATCH_HTTP_PORT: String(httpPort),
            ...o.edgeEnv,
          },
          join(logs, `${id}.log`),
        );
        const program = start();
        programs.push(program);
        return { id, substationId, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, httpUrl: `http://127.0.0.1:${httpPort}`, program, restart: start };
      }),
    );
    await Promise.all(edges.map((e) => waitReady(e.program, `${e.httpUrl}/readyz`, READY_TIMEOUT_MS)));
    o.log(`edges: ${edges.map((e) => `${e.id} ${e.mqttUrl}`).join(', ')} (logs in ${logs})`);

    // The simulator: substation i goes to broker i (both in sorted order).
    const truthFile = join(o.runDir, 'truth.jsonl');
    const floodFile = join(o.runDir, 'flood.json');
    const sim = Program.start(
      'simulator',
      [
        'simulate',
        '--topology', topologyFile,
        '--scenario', o.scenario,
        '--truth', truthFile,
        ...edges.flatMap((e) => ['--broker', e.mqttUrl]),
        '--mode', 'realtime',
        '--interval', `${o.intervalMs}ms`,
        '--duration', `${o.durationMs}ms`,
        '--concentrators',
        '--device-credentials', devices.deviceFile,
        '--qos', '1',
        ...(o.duplicateShare ? ['--duplicates', String(o.duplicateShare)] : []),
        '--seed', String(o.seed),
        '--quiet',
      ],
      {},
      join(logs, 'simulator.log'),
      { stdout: floodFile },
    );
    programs.push(sim);
    o.log(`simulator: ${Math.round(o.durationMs / 1000)} s of readings every ${o.intervalMs} ms, scenario ${o.scenario}`);

    // Live status until the simulator ends (or the caller aborts).
    const started = Date.now();
    let lastAccepted = 0;
    let lastAt = started;
    let readingsAccepted = 0;
    const acceptedByEdge = edges.map(() => 0);
    const onAbort = () => void sim.stop();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const statusEvery = o.statusEveryMs ?? 2000;
    let killed: EdgeKill | null = null;
    const victim = o.killEdge ? edges[o.killEdge.index] : undefined;
    if (o.killEdge && !victim) throw new Error(`killEdge: no edge number ${o.killEdge.index} (${edges.length} edges)`);
    let victimTookReadingsAt: number | null = null;
    while (sim.running) {
      await Promise.race([sim.exited, sleep(statusEvery)]);
      if (victim && o.killEdge && !killed && sim.running) {
        const t = await text(`${victim.httpUrl}/metrics`);
        if (victimTookReadingsAt === null && t && sumSamples(t, 'gridwatch_edge_readings_accepted_total') > 0) victimTookReadingsAt = Date.now();
        if (victimTookReadingsAt !== null && Date.now() - victimTookReadingsAt >= o.killEdge.atMs) {
          killed = await killAndRestart(victim, Date.now() - victimTookReadingsAt, programs, o.log);
        }
      }
      for (const p of programs) {
        if (p !== sim && !p.running) throw new Error(`${p.name} ended (${String(p.exitCode)}) during the run; the end of ${p.logFile}:\n${p.tail()}`);
      }
      const scrapes = await Promise.all(edges.map((e) => text(`${e.httpUrl}/metrics`)));
      // An edge whose scrape failed (busy) counts with its last figure, so the rate never goes negative.
      scrapes.forEach((t, i) => t && (acceptedByEdge[i] = sumSamples(t, 'gridwatch_edge_readings_accepted_total')));
      const accepted = acceptedByEdge.reduce((s, n) => s + n, 0);
      if (accepted > 0) readingsAccepted = Math.max(readingsAccepted, accepted);
      if (!sim.running || !o.onStatus) continue;
      const now = Date.now();
      const [openJson, centralMetrics] = await Promise.all([text(`${consoleUrl}api/events?state=open&limit=1`, demoToken.token), text(`${consoleUrl}metrics`, demoToken.token)]);
      o.onStatus({
        elapsedMs: now - started,
        readingsPerSec: ((accepted - lastAccepted) * 1000) / Math.max(1, now - lastAt),
        readingsAccepted: accepted,
        anomaliesOpened: scrapes.reduce((s, t) => s + (t ? sumSamples(t, 'gridwatch_edge_anomalies_total', { state: 'open' }) : 0), 0),
        openEvents: openJson ? Number((JSON.parse(openJson) as { open?: number }).open ?? 0) : 0,
        outboxDepths: Object.fromEntries(edges.map((e, i) => [e.id, scrapes[i] ? sumSamples(scrapes[i], 'gridwatch_outbox_depth') : -1])),
        consoleUrl,
        processes: programs.filter((p) => p.running && p.child.pid !== undefined).map((p) => ({ name: p.name, pid: p.child.pid as number })),
        lag: centralMetrics ? sumSamples(centralMetrics, 'gridwatch_central_consumer_lag_records') : NaN,
        centralMetrics,
        edgeMetrics: Object.fromEntries(edges.map((e, i) => [e.id, scrapes[i] ?? null])),
      });
      lastAccepted = accepted;
      lastAt = now;
    }
    o.signal?.removeEventListener('abort', onAbort);
    exits.simulator = sim.exitCode ?? 'unknown';
    let flood: FloodReport | null = null;
    try {
      flood = JSON.parse(readFileSync(floodFile, 'utf8')) as FloodReport;
    } catch {
      o.log(`simulator: no report (exit ${String(sim.exitCode)}); the end of its log:\n${sim.tail()}`);
    }

    // Edges stop at once (before their dropout timers see the silence that follows the last
    // reading); SIGTERM commits and forwards what they hold. The soak drains first (its dropouts
    // after the flood's last reading are then forwarded and correlated too: it scores nothing).
    const drain = o.drainTimeoutMs !== undefined ? await drainPipeline(edges, consoleUrl, demoToken.token, o.drainTimeoutMs, o.log) : null;
    const finalScrapes = await Promise.all(edges.map((e) => text(`${e.httpUrl}/metrics`)));
    readingsAccepted = Math.max(readingsAccepted, finalScrapes.reduce((s, t) => s + (t ? sumSamples(t, 'gridwatch_edge_readings_accepted_total') : 0), 0));
    o.log('edges: stopping (draining their outboxes to Kafka)');
    await Promise.all(edges.map(async (e) => (exits[e.id] = await e.program.stop())));
    // What an edge could not forward before its drain bound stays in its outbox on disk and goes at
    // its next start: not lost, but not in this run's Kafka either, so the summary says how much.
    const leftInOutboxes = edges.reduce((sum, e) => sum + (stoppedRemaining(e.program.tail(50)) ?? 0), 0);
    if (leftInOutboxes > 0) o.log(`edges: ${leftInOutboxes} records were still in their outboxes when they stopped (kept on disk, forwarded at their next start)`);

    // Central has everything when its group's lag is zero; then the correlator's holds pass.
    const readingsInKafka = await endOffsetsSum(kafka.brokers, topics.readings, kafka.admin);
    o.log(`central: catching up (${readingsInKafka} readings in Kafka)`);
    await waitForLagZero(consoleUrl, demoToken.token, 120_000);
    await sleep(CORRELATOR_SETTLE_MS);

    const truth = readTruthFile(truthFile);
    const detections = await readDetectionsFromKafka({ brokers: kafka.brokers, security: kafka.admin, topics: { anomalies: topics.anomalies, events: topics.events }, timeoutMs: 60_000 });
    const report = score(truth, detections.anomalies, detections.events, { toleranceMs: o.toleranceMs });
    exits.central = await central.stop();
    return { runId: o.runId, runDir: o.runDir, topics, truth, detections, report, flood, readingsInKafka, readingsAccepted, leftInOutboxes, archive, influxBucket, consoleUrl, kafka: kafka.describe, killed, drain, consoleTokenFile, exits };
  } finally {
    await stopAll();
  }
}

/** kill -9 of an edge gateway, then the same gateway started again on its data directory. */
async function killAndRestart(e: Edge, atMs: number, programs: Program[], log: (line: string) => void): Promise<EdgeKill> {
  const t = Date.now();
  const exit = await e.program.kill();
  log(`${e.id}: killed (kill -9) ${Math.round(atMs / 1000)} s after its first readings; starting it again on the same data directory`);
  const i = programs.indexOf(e.program);
  e.program = e.restart();
  programs.splice(i, 1, e.program);
  await waitReady(e.program, `${e.httpUrl}/readyz`, READY_TIMEOUT_MS);
  const downMs = Date.now() - t;
  log(`${e.id}: ready again after ${(downMs / 1000).toFixed(1)} s`);
  return { edge: e.id, mqttUrl: e.mqttUrl, atMs, exit, downMs };
}

/** Sum of the end offsets of a topic's partitions: its record count when nothing was deleted. */
export async function endOffsetsSum(brokers: string[], topic: string, security: KafkaSecurity): Promise<number> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-demo', brokers, security });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, p) => s + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Until every edge's outbox is empty and central's consumer lag is 0 (both twice in a row, 1 s
 * apart) or `timeoutMs` passed; a line of progress every 5 s.
 */
async function drainPipeline(edges: Edge[], centralUrl: string, token: string, timeoutMs: number, log: (line: string) => void): Promise<DemoDrain> {
  const t0 = Date.now();
  let calm = 0;
  let lastLog = t0;
  let outboxes: number | null = null;
  let lag = NaN;
  log(`drain: waiting up to ${Math.round(timeoutMs / 1000)} s for the edges' outboxes to empty and central to catch up`);
  while (Date.now() - t0 < timeoutMs) {
    const [central, ...scrapes] = await Promise.all([text(`${centralUrl}metrics`, token), ...edges.map((e) => text(`${e.httpUrl}/metrics`))]);
    const depths = scrapes.map((t) => (t ? sumSamples(t, 'gridwatch_outbox_depth') : null));
    outboxes = depths.some((d) => d === null) ? null : depths.reduce<number>((s, d) => s + (d as number), 0);
    lag = centralLag(central);
    calm = outboxes === 0 && lag === 0 ? calm + 1 : 0;
    if (calm >= 2) break;
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      log(`drain: t+${Math.round((Date.now() - t0) / 1000)}s  outboxes ${edges.map((e, i) => `${e.id.replace('edge-', '')} ${depths[i] ?? '?'}`).join(' ')}  central lag ${lag}`);
    }
    await sleep(1000);
  }
  const ms = Date.now() - t0;
  const drained = calm >= 2;
  log(drained ? `drain: done in ${(ms / 1000).toFixed(1)} s (outboxes empty, central's lag 0)` : `drain: not done within ${Math.round(timeoutMs / 1000)} s: ${outboxes ?? '?'} records in the outboxes, central lag ${lag}`);
  return { ms, drained, outboxes, lag };
}

/** Central's consumer lag summed over its partitions, from a /metrics text; NaN without one (no scrape, or no partition reported yet). */
function centralLag(metrics: string | null): number {
  if (!metrics || !metrics.includes('\ngridwatch_central_consumer_lag_records{')) return NaN;
  return sumSamples(metrics, 'gridwatch_central_consumer_lag_records');
}

/** Waits until central reports consumer lag 0 on every partition twice in a row. */
async function waitForLagZero(centralUrl: string, token: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let zeroes = 0;
  while (Date.now() < end) {
    if (centralLag(await text(`${centralUrl}metrics`, token)) === 0) {
      if (++zeroes >= 2) return;
    } else zeroes = 0;
    await sleep(1000);
  }
  throw new Error(`central did not catch up within ${Math.round(timeoutMs / 1000)} s (consumer lag above zero)`);
}

/** `remaining` of the gateway's last "edge gateway stopped" log line, if there is one. */
export function stoppedRemaining(logTail: string): number | undefined {
  const lines = logTail.split('\n').filter((l) => l.includes('"edge gateway stopped"'));
  const last = lines[lines.length - 1];
  if (last === undefined) return undefined;
  try {
    const r = (JSON.parse(last) as { remaining?: unknown }).remaining;
    return typeof r === 'number' && r >= 0 ? r : undefined;
  } catch {
    return undefined;
  }
}
