/**
 * `gridwatch soak --duration 1h`: the whole pipeline (the demo's: simulator flood through MQTT into
 * real edges, Kafka, one central, MinIO, InfluxDB; cli/demo/run.ts) at a paced rate, 10,000
 * readings/s by default (10,000 meters, one reading a second each), for a long time. Every few
 * seconds it samples each process's RSS and open handles (/proc/<pid>/fd) and central's consumer
 * lag; at the end it prints a table (flat after the warm-up: within 5 %), the rate reached and the
 * records lost (acknowledged by an edge, not in the archive: must be 0), and writes soak.json.
 * Exit code 1 when something was lost or a process did not stay flat.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureServices, serviceEndpoints, stopServices, type ServiceName } from '../deploy/services/index.ts';
import { cacheDir } from '../deploy/services/layout.ts';
import { topicNames } from '../shared/kafka/index.ts';
import { runningRecord } from '../deploy/services/process.ts';
import { GridwatchError } from '../shared/errors.ts';
import { parseDuration } from '../shared/duration.ts';
import { archiveCensus } from './demo/archive-census.ts';
import { sumSamples } from './demo/prom-text.ts';
import { DEFAULT_SCENARIO, runDemo, type LiveStatus } from './demo/run.ts';
import { cpuCores, trendTable, trends, type ProcessSample } from './soak-report.ts';

const USAGE = `usage: gridwatch soak [options]

  --duration DUR     how long the flood runs (default 1h; CI runs 2m)
  --meters N         simulated meters, one reading each per --interval (default 10000: 10,000 readings/s)
  --substations N    substations, one edge gateway each (default 3)
  --interval DUR     reading interval (default 1s)
  --sample DUR       how often RSS, handles and lag are sampled (default 5s)
  --warmup DUR       not judged for flatness, counted from when the flood first reaches 90 % of its
                     rate (the meters connect first; default a fifth of the duration, at least 30s)
  --tolerance PCT    flat means RSS and handles grow at most this much after the warm-up (default 5)
  --gc-window DUR    RSS flatness is decided only when the judged time holds two windows at least
                     this long (default 2m: longer than one major-GC cycle of the edges here, 30-100 s;
                     shorter windows compare phases of the heap's breathing, not a leak); a shorter
                     run reports the RSS change and judges handles, the RSS budget, lag and loss
  --rss-budget LIST  the RSS no sample may pass, MiB, by process name prefix (default
                     edge=512,central=1024,simulator=512; a gateway of 1-2 GB shares its memory)
  --lag-headroom DUR central's lag after the warm-up must stay under its archive age (2 s: offsets
                     are committed per archive flush, so the lag holds up to one flush by design)
                     plus this much of the flood (default 5s)
  --drain-timeout DUR  after the flood, how long the edges' outboxes may take to empty and central
                     to catch up before anything is judged lost (default 3m)
  --readings-per-record N  readings in one grid.readings record, the soak's edges'
                     GRIDWATCH_READINGS_PER_RECORD (default 100: every consumer here is
                     gridwatch's own; 1 is the product default, one reading per record)
  --dir DIR          where the run keeps its files and soak.json (default <cache>/soak/<run id>)
  --keep-services    leave the servers this run started running`;

// Central flushes its archive (and then commits the partition's offsets) at 50,000 records or this
// age: with 100 readings per record always at the age, so the committed lag holds up to this much of
// the flood by design (the demo's 5 s would be 50,000 readings at 10,000/s).
const ARCHIVE_MAX_AGE_MS = 2000;

/** `edge=512,central=1024`: RSS budgets in MiB by process name prefix. */
export function parseBudgets(list: string): [prefix: string, mib: number][] {
  if (list.trim() === '') return [];
  return list.split(',').map((item) => {
    const m = /^\s*([a-z][a-z0-9-]*)=(\d+)\s*$/.exec(item);
    if (!m) throw new GridwatchError('CONFIG_INVALID', `--rss-budget: expected name=MiB[,name=MiB...], got ${JSON.stringify(item)}`);
    return [m[1] as string, Number(m[2])];
  });
}

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) the process has used: fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function handles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '1h' },
      meters: { type: 'string', default: '10000' },
      substations: { type: 'string', default: '3' },
      interval: { type: 'string', default: '1s' },
      sample: { type: 'string', default: '5s' },
      warmup: { type: 'string' },
      tolerance: { type: 'string', default: '5' },
      'gc-window': { type: 'string', default: '2m' },
      'rss-budget': { type: 'string', default: 'edge=512,central=1024,simulator=512' },
      'lag-headroom': { type: 'string', default: '5s' },
      'drain-timeout': { type: 'string', default: '3m' },
      'readings-per-record': { type: 'string', default: '100' },
      dir: { type: 'string' },
      'keep-services': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const meters = Number(v.meters);
  const substations = Number(v.substations);
  if (!Number.isInteger(meters) || meters < 10 || meters > 200_000) throw new GridwatchError('CONFIG_INVALID', `--meters: expected an integer in [10, 200000], got ${JSON.stringify(v.meters)}`);
  if (!Number.isInteger(substations) || substations < 1 || substations > 20) throw new GridwatchError('CONFIG_INVALID', `--substations: expected an integer in [1, 20], got ${JSON.stringify(v.substations)}`);
  const durationMs = parseDuration(v.duration, '--duration');
  const intervalMs = parseDuration(v.interval, '--interval');
  const sampleMs = parseDuration(v.sample, '--sample');
  const warmupMs = v.warmup ? parseDuration(v.warmup, '--warmup') : Math.max(30_000, durationMs / 5);
  const tolerancePct = Number(v.tolerance);
  const drainTimeoutMs = parseDuration(v['drain-timeout'], '--drain-timeout');
  const perRecord = Number(v['readings-per-record']);
  if (!Number.isInteger(perRecord) || perRecord < 1 || perRecord > 1000) throw new GridwatchError('CONFIG_INVALID', `--readings-per-record: expected an integer in [1, 1000], got ${JSON.stringify(v['readings-per-record'])}`);
  if (!(tolerancePct > 0)) throw new GridwatchError('CONFIG_INVALID', `--tolerance: expected a percentage above 0, got ${JSON.stringify(v.tolerance)}`);
  const gcWindowMs = parseDuration(v['gc-window'], '--gc-window');
  const lagHeadroomMs = parseDuration(v['lag-headroom'], '--lag-headroom');
  const budgets = parseBudgets(v['rss-budget']);
  const say = (line: string) => process.stderr.write(`[soak] ${line}\n`);

  const started: ServiceName[] = [];
  const endpoints = serviceEndpoints();
  started.push(...(await ensureServices({ services: ['kafka', 'minio', 'influxdb'], log: say })).started);
  const runId = `soak-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase()}`;
  const runDir = v.dir ?? join(cacheDir(), 'soak', runId);
  const samples: ProcessSample[] = [];
  // Central's lag in records (every topic), and of it the readings topic's records (several readings each
  // with --readings-per-record above 1; `readings` below turns them into readings for the judgement).
  const lag: { t: number; records: number; readingsRecords: number; readings?: number }[] = [];
  const readingsTopic = topicNames({ kafkaTopicPrefix: `demo-${runId}.` }).readings;
  const rate: { t: number; perSec: number }[] = [];
  // Where central's memory is, beside its RSS: V8's heap, memory outside it (Buffers), and what the
  // archive holds against its byte budget; and how often the archive paused the consumer.
  // The recent-readings store (central/api/store.ts) fills for readingsPerMeter intervals: its readings,
  // their text and its meters with a full ring show when it has reached its size.
  const centralMemory: { t: number; heapUsedMiB: number; externalMiB: number; archiveHeldMiB: number; pauses: number; recentReadings: number; recentReadingsMiB: number; recentFullMeters: number }[] = [];
  // Each edge's heap and outbox: an edge that forwards less than it takes grows with its backlog.
  const edgeMemory: { t: number; name: string; heapUsedMiB: number; externalMiB: number; outboxDepth: number }[] = [];
  // When 99 % of the meters have a full ring in central's recent-readings store: memory is judged from
  // the later of this and the warm-up, so a bounded store still filling is not taken for a leak.
  let storeFullAtMs: number | null = null;
  let t0: number | null = null;
  let lastSample = -Infinity;
  const servers = (['kafka', 'minio', 'influxdb'] as const).map((name) => ({ name, pid: runningRecord(name)?.pid })).filter((s): s is { name: (typeof s)['name']; pid: number } => s.pid !== undefined);
  // When the edges first took 90 % of the asked rate over 6 s: the warm-up counts from there, so
  // the meters' connecting (slow on a busy machine) does not eat into it.
  const asked = (meters * 1000) / intervalMs;
  const accepted: { t: number; n: number }[] = [];
  let fullRateAtMs: number | null = null;
  const onStatus = (s: LiveStatus) => {
    t0 ??= Date.now() - s.elapsedMs;
    // Only statuses where every edge answered: a failed scrape keeps an edge's old count, and the next
    // one's catch-up would look like a burst at the full rate (seen at load 20: "90 %" while 3,760/s).
    const fresh = Object.values(s.edgeMetrics).every((t) => t !== null);
    if (fresh) accepted.push({ t: s.elapsedMs, n: s.readingsAccepted });
    const back = accepted.findLast((a) => a.t <= s.elapsedMs - 6000);
    if (fullRateAtMs === null && fresh && back && (s.readingsAccepted - back.n) / ((s.elapsedMs - back.t) / 1000) >= 0.9 * asked) {
      fullRateAtMs = s.elapsedMs;
      say(`t+${Math.round(s.elapsedMs / 1000)}s  the flood reached 90 % of its rate; warm-up until t+${Math.round((s.elapsedMs + warmupMs) / 1000)}s`);
    }
    if (s.elapsedMs - lastSample < sampleMs) return;
    lastSample = s.elapsedMs;
    for (const p of [...s.processes, ...servers]) samples.push({ t: s.elapsedMs, name: p.name, pid: p.pid, rssBytes: rss(p.pid), handles: handles(p.pid), cpuSeconds: cpuSeconds(p.pid) });
    if (Number.isFinite(s.lag)) lag.push({ t: s.elapsedMs, records: s.lag, readingsRecords: s.centralMetrics ? sumSamples(s.centralMetrics, 'gridwatch_central_consumer_lag_records', { topic: readingsTopic }) : 0 });
    rate.push({ t: s.elapsedMs, perSec: Math.round(s.readingsPerSec) });
    const m = s.centralMetrics;
    const mibOf = (name: string) => (m ? Math.round((sumSamples(m, name) / 1048576) * 10) / 10 : NaN);
    if (m) {
      const recentFullMeters = sumSamples(m, 'gridwatch_central_recent_readings_meters', { ring: 'full' });
      centralMemory.push({ t: s.elapsedMs, heapUsedMiB: mibOf('gridwatch_nodejs_heap_size_used_bytes'), externalMiB: mibOf('gridwatch_nodejs_external_memory_bytes'), archiveHeldMiB: mibOf('gridwatch_archive_held_bytes'), pauses: sumSamples(m, 'gridwatch_central_backpressure_total', { action: 'pause' }), recentReadings: sumSamples(m, 'gridwatch_central_recent_readings'), recentReadingsMiB: mibOf('gridwatch_central_recent_readings_text_bytes'), recentFullMeters });
      if (storeFullAtMs === null && recentFullMeters >= 0.99 * meters) {
        storeFullAtMs = s.elapsedMs;
        say(`t+${Math.round(s.elapsedMs / 1000)}s  central's recent-readings store is full (${recentFullMeters} meters with a full ring)`);
      }
    }
    for (const [name, t] of Object.entries(s.edgeMetrics)) {
      if (!t) continue;
      const mb = (n: string) => Math.round((sumSamples(t, n) / 1048576) * 10) / 10;
      edgeMemory.push({ t: s.elapsedMs, name, heapUsedMiB: mb('gridwatch_nodejs_heap_size_used_bytes'), externalMiB: mb('gridwatch_nodejs_external_memory_bytes'), outboxDepth: sumSamples(t, 'gridwatch_outbox_depth') });
    }
    const cm = centralMemory.at(-1);
    say(`t+${Math.round(s.elapsedMs / 1000)}s  ${Math.round(s.readingsPerSec).toLocaleString('en')} readings/s  lag ${s.lag}  ${s.processes.map((p) => `${p.name} ${Math.round(rss(p.pid) / 1048576)} MiB/${handles(p.pid)} fds`).join('  ')}${cm && cm.t === s.elapsedMs ? `  (central heap ${cm.heapUsedMiB} MiB, external ${cm.externalMiB} MiB, archive holds ${cm.archiveHeldMiB} MiB, ${cm.pauses} pauses, recent readings ${cm.recentReadingsMiB} MiB)` : ''}  outbox ${Object.entries(s.outboxDepths).map(([n, d]) => `${n.replace('edge-', '')} ${d}`).join(' ')}`);
  };
  try {
    say(`${meters} meters every ${intervalMs} ms (${Math.round((meters * 1000) / intervalMs).toLocaleString('en')} readings/s asked) for ${Math.round(durationMs / 1000)} s; samples every ${sampleMs / 1000} s, warm-up ${Math.round(warmupMs / 1000)} s; edges send ${perRecord} reading${perRecord === 1 ? '' : 's'} per grid.readings record; drain bound ${Math.round(drainTimeoutMs / 1000)} s`);
    const result = await runDemo({
      endpoints: { kafka: endpoints.kafkaSecure!, s3: endpoints.s3, influx: endpoints.influx },
      meters,
      substations,
      seed: 1,
      intervalMs,
      durationMs,
      scenario: DEFAULT_SCENARIO,
      runId,
      runDir,
      centralPort: 0,
      toleranceMs: 20_000,
      log: say,
      onStatus,
      statusEveryMs: Math.min(2000, sampleMs),
      drainTimeoutMs,
      edgeEnv: { GRIDWATCH_READINGS_PER_RECORD: String(perRecord) },
      // ARCHIVE_MAX_AGE_MS (above): the lag bound counts from it.
      centralEnv: { GRIDWATCH_ARCHIVE_MAX_AGE_MS: String(ARCHIVE_MAX_AGE_MS) },
    });
    // The samples first: a census that throws (the hour of 2026-12-01 did, at 36 million readings)
    // must not lose an hour of them. soak.json, written after the census, holds them too.
    const samplesFile = join(runDir, 'soak-samples.json');
    writeFileSync(samplesFile, `${JSON.stringify({ runId, durationMs, meters, flood: result.flood ?? null, drain: result.drain, samples, lag, rate, centralMemory, edgeMemory })}\n`);
    say(`samples of the run: ${samplesFile}; counting the archive`);
    const census = await archiveCensus(result.archive, endpoints.s3).catch((err: unknown) => {
      throw new Error(`the archive census failed (the run's samples are in ${samplesFile}): ${(err as Error).message}`, { cause: err });
    });
    const flood = result.flood;
    // Lost: readings an edge acknowledged (PUBACK, QoS 1) that the archive does not hold after the drain.
    const acked = flood?.distinctReadingsAcked ?? NaN;
    const lost = Math.max(0, acked - census.readings.distinct);
    // Lag in readings: the readings topic's lagging records at the run's mean readings per record (the
    // archive's readings over the topic's records), plus the other topics' records (one each).
    const perRecordMean = result.readingsInKafka > 0 ? census.readings.distinct / result.readingsInKafka : 1;
    for (const l of lag) l.readings = Math.round(l.records - l.readingsRecords + l.readingsRecords * perRecordMean);
    // The servers are sampled and reported but not judged: they may be shared with other work, and their
    // caches (Kafka's page cache is outside its RSS; InfluxDB's and MinIO's are inside) are not gridwatch's.
    // Never at 90 % of the rate: nothing is judged and the soak fails (it did not soak at its rate).
    // Judged from the later of the warm-up's end and central's recent-readings store being full.
    const judgedFrom = fullRateAtMs === null || storeFullAtMs === null ? Infinity : Math.max(fullRateAtMs + warmupMs, storeFullAtMs);
    // Windows of a fifth of the judged time, at least --gc-window when the time holds two of those
    // (RSS decided); otherwise a fifth (the change is reported, RSS not decided: soak-report.ts).
    const span = (samples.at(-1)?.t ?? 0) - judgedFrom;
    const windowMs = Math.max(sampleMs * 3, span / 5, span >= 2 * gcWindowMs ? gcWindowMs : 0);
    const judged = trends(samples, { warmupMs: judgedFrom, windowMs, tolerancePct, minRssWindowMs: gcWindowMs, budgetMiB: (name) => budgets.find(([prefix]) => name.startsWith(prefix))?.[1], notJudged: new Set(servers.map((x) => x.name)) });
    // Central keeps up: its lag after the warm-up under one archive flush plus the headroom, in readings.
    const lagBound = Math.round(((ARCHIVE_MAX_AGE_MS + lagHeadroomMs) / 1000) * asked);
    const lagAfterWarmup = Math.max(0, ...lag.filter((l) => l.t >= judgedFrom).map((l) => l.readings ?? l.records));
    // Cores per process while the flood ran at its rate (or, when it never did, over the whole flood).
    const cpu = cpuCores(samples, fullRateAtMs ?? 0);
    const report = {
      runId,
      durationMs,
      meters,
      askedPerSec: Math.round((meters * 1000) / intervalMs),
      reachedPerSec: flood ? Math.round(flood.readingsPerSec) : null,
      readingsSent: flood?.distinctReadings ?? null,
      readingsAcked: acked,
      readingsPerRecord: perRecord,
      // Records (end offsets) in grid.readings: readings only with one reading per record.
      recordsInKafka: result.readingsInKafka,
      // After the flood: until the outboxes were empty and central's lag 0 (or the bound), before the edges stopped.
      drain: result.drain,
      readingsArchived: census.readings.distinct,
      archiveDuplicates: census.readings.duplicates,
      lost,
      // Records the edges still held when they stopped, after the drain (on disk, forwarded at their
      // next start): part of `lost` here, because the soak's promise is delivery within the run.
      leftInOutboxes: result.leftInOutboxes,
      // In readings (above); the records are in `lag`.
      lagMax: lag.length > 0 ? Math.max(...lag.map((l) => l.readings ?? l.records)) : null,
      lagEnd: lag.at(-1)?.readings ?? null,
      readingsPerRecordMean: Math.round(perRecordMean * 10) / 10,
      fullRateAtMs,
      storeFullAtMs,
      judgedFromMs: Number.isFinite(judgedFrom) ? judgedFrom : null,
      // Every judged process flat (handles; RSS where decided) and under its RSS budget.
      flat: fullRateAtMs !== null && judged.some((t) => t.judged) && judged.every((t) => t.passed || !t.judged),
      gcWindowMs,
      windowMs,
      lagBound,
      lagAfterWarmup: Number.isFinite(judgedFrom) ? lagAfterWarmup : null,
      tolerancePct,
      warmupMs,
      trends: judged,
      cpu,
      samples,
      lag,
      rate,
      centralMemory,
      edgeMemory,
      loadAverage: readFileSync('/proc/loadavg', 'utf8').trim(),
    };
    const file = join(runDir, 'soak.json');
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(
      [
        '',
        `gridwatch soak ${runId}: ${Math.round(durationMs / 1000)} s, asked ${report.askedPerSec.toLocaleString('en')} readings/s, reached ${String(report.reachedPerSec)}/s (load average ${report.loadAverage})`,
        `readings: ${String(report.readingsSent)} sent, ${acked} acknowledged, ${report.recordsInKafka} records in Kafka (${perRecord} per record at most), ${report.readingsArchived} archived (${report.archiveDuplicates} duplicates): lost ${lost}${result.leftInOutboxes > 0 ? ` (the edges still held ${result.leftInOutboxes} records in their outboxes when they stopped: on disk, not delivered within the run)` : ''}`,
        `consumer lag (readings; records of grid.readings counted at ${report.readingsPerRecordMean} readings each): max ${String(report.lagMax)}, after the warm-up ${String(report.lagAfterWarmup)} (bound ${lagBound}: the ${ARCHIVE_MAX_AGE_MS / 1000} s archive age plus ${lagHeadroomMs / 1000} s of the flood)${lagAfterWarmup > lagBound ? ' OVER' : ''}, at the end of the flood ${String(report.lagEnd)}`,
        result.drain === null ? 'drain: none' : result.drain.drained ? `drain: the outboxes empty and central caught up ${(result.drain.ms / 1000).toFixed(1)} s after the flood` : `drain: NOT done within ${Math.round(drainTimeoutMs / 1000)} s (${String(result.drain.outboxes)} records in the outboxes, central lag ${result.drain.lag})`,
        `CPU (cores used from t+${Math.round((fullRateAtMs ?? 0) / 1000)} s; the machine has ${availableParallelism()}): ${cpu.map((c) => `${c.name} ${c.cores}`).join(', ')}`,
        fullRateAtMs === null
          ? `the flood never reached 90 % of ${asked.toLocaleString('en')} readings/s: nothing judged, not flat`
          : storeFullAtMs === null
            ? `90 % of the rate at t+${Math.round(fullRateAtMs / 1000)} s, but central's recent-readings store never filled (99 % of the meters with a full ring): nothing judged, not flat`
            : `judged from t+${Math.round(judgedFrom / 1000)} s, the later of the warm-up's end (${Math.round(warmupMs / 1000)} s after 90 % of the rate at t+${Math.round(fullRateAtMs / 1000)} s) and central's recent-readings store full (t+${Math.round(storeFullAtMs / 1000)} s)`,
        '',
        trendTable(judged, tolerancePct),
        '',
        `report: ${file}`,
      ].join('\n'),
    );
    return lost === 0 && report.flat && Number.isFinite(acked) && lagAfterWarmup <= lagBound ? 0 : 1;
  } finally {
    if (!v['keep-services'] && started.length > 0) {
      say(`stopping the servers this run started: ${started.join(', ')}`);
      await stopServices(started, { kafkaCluster: false });
    }
  }
}
