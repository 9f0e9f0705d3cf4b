// `gridwatch replay`: re-writes a time range of the archive into InfluxDB or a Kafka topic
// (central/history/replay.ts). Settings are central's (GRIDWATCH_S3_*, GRIDWATCH_ARCHIVE_DIR,
// GRIDWATCH_INFLUX_*, GRIDWATCH_KAFKA_*), so it reads the archive central writes.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createSink, S3Sink, topicPrefix, type ArchiveSink } from '../central/archive/index.ts';
import type { ArchiveKind } from '../central/archive/layout.ts';
import { loadCentralConfig } from '../central/config.ts';
import { influxTarget, kafkaTarget, type CountingTarget } from '../central/history/replay-targets.ts';
import { progressLine, replay } from '../central/history/replay.ts';
import { kafkaProducer } from '../central/publish/producer.ts';
import { createLogger, GridwatchError, toEpochMs } from '../shared/index.ts';
import { createKafkaClient, topicNames } from '../shared/kafka/index.ts';
import { kafkaSecurity } from '../shared/kafka/security.ts';

const USAGE = `usage: gridwatch replay --from T --to T [--kind readings|anomalies|events] --into influx|kafka:<topic> [--checkpoint FILE]

Reads the archive (GRIDWATCH_S3_ENDPOINT + bucket, or GRIDWATCH_ARCHIVE_DIR) from T to T (epoch ms
or ISO-8601, UTC) and re-writes it: into InfluxDB (GRIDWATCH_INFLUX_*; points overwrite, feeder
aggregates are not counted twice) or into a Kafka topic (GRIDWATCH_KAFKA_*; the records keep their
keys and identities, so central drops what it already has). Without --kind: all three, in that
order. Progress, rate and ETA on stderr. Ctrl-C stops after the object in hand; the same command
resumes from the checkpoint (default .gridwatch-replay-<hash of the arguments>.json).
Exit: 0 done, 1 archive or target failure (says which object or bucket), 2 usage, 130 interrupted.`;

const KINDS: ArchiveKind[] = ['readings', 'anomalies', 'events'];

function time(name: string, v: string | undefined): number {
  if (v === undefined) throw new GridwatchError('CONFIG_INVALID', `replay: --${name} is required\n\n${USAGE}`);
  const t = /^\d+$/.test(v) ? Number(v) : toEpochMs(v);
  if (!Number.isSafeInteger(t) || t < 0) throw new GridwatchError('CONFIG_INVALID', `replay: --${name} ${JSON.stringify(v)}: expected epoch milliseconds or an ISO-8601 date-time`);
  return t;
}

/** `env` is the settings' source (the process's by default; tests pass their own). */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' }, kind: { type: 'string' }, into: { type: 'string' }, checkpoint: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    console.error(`gridwatch replay: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let from: number, to: number;
  try {
    from = time('from', values.from as string | undefined);
    to = time('to', values.to as string | undefined);
    if (from >= to) throw new GridwatchError('CONFIG_INVALID', 'replay: --from must be before --to');
  } catch (err) {
    console.error(`gridwatch replay: ${(err as Error).message}`);
    return 2;
  }
  const kind = values.kind as string | undefined;
  if (kind !== undefined && !KINDS.includes(kind as ArchiveKind)) {
    console.error(`gridwatch replay: --kind ${JSON.stringify(kind)}: expected one of ${KINDS.join(', ')}`);
    return 2;
  }
  const into = values.into as string | undefined;
  if (into !== 'influx' && !/^kafka:[A-Za-z0-9._-]{1,249}$/.test(into ?? '')) {
    console.error(`gridwatch replay: --into ${JSON.stringify(into ?? '')}: expected influx or kafka:<topic>\n\n${USAGE}`);
    return 2;
  }
  const c = loadCentralConfig({ env });
  const logger = createLogger({ program: 'replay', level: 'warn', destination: process.stderr });
  let sink: ArchiveSink;
  if (c.s3Endpoint) sink = S3Sink.fromSettings({ ...c, s3Endpoint: c.s3Endpoint }, logger);
  else if (c.archiveDir) sink = createSink({ dir: c.archiveDir });
  else {
    console.error('gridwatch replay: no archive configured: set GRIDWATCH_S3_ENDPOINT (and keys, bucket) or GRIDWATCH_ARCHIVE_DIR');
    return 2;
  }
  let target: CountingTarget;
  if (into === 'influx') {
    if (!c.influxUrl) {
      console.error('gridwatch replay: --into influx needs GRIDWATCH_INFLUX_URL');
      return 2;
    }
    target = influxTarget({ url: c.influxUrl, token: c.influxToken ?? '', org: c.influxOrg, bucket: c.influxBucket, logger, ...(c.influxCaFile ? { caFile: c.influxCaFile } : {}) });
  } else {
    const topic = (into ?? '').slice('kafka:'.length);
    const kafka = createKafkaClient({ brokers: c.kafkaBrokers, clientId: 'gridwatch-replay', security: kafkaSecurity(c), logger });
    target = kafkaTarget(kafkaProducer(kafka), topic, `kafka:${topic}`);
  }
  const kinds = kind ? [kind as ArchiveKind] : KINDS;
  // The archiver writes each kind under its topic's name, so a GRIDWATCH_KAFKA_TOPIC_PREFIX moves the keys too.
  const t = topicNames(c);
  const roots = { readings: topicPrefix(t.readings), anomalies: topicPrefix(t.anomalies), events: topicPrefix(t.events) };
  const checkpointFile = (values.checkpoint as string | undefined) ?? `.gridwatch-replay-${createHash('sha256').update(JSON.stringify([sink.describe(), from, to, kinds, into])).digest('hex').slice(0, 12)}.json`;

  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\ninterrupted: finishing the object in hand and writing the checkpoint (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  try {
    const r = await replay({
      sink,
      target,
      from,
      to,
      kinds,
      roots,
      checkpointFile,
      stopRequested: () => stop,
      onProgress: (p) => {
        const now = Date.now();
        const last = p.objectsDone === p.objectsTotal;
        if (!last && now - lastPrint < (tty ? 200 : 5000)) return;
        lastPrint = now;
        process.stderr.write(tty ? `\r${progressLine(p)}${last ? '\n' : ''}` : `${progressLine(p)}\n`);
      },
    });
    const rate = r.elapsedMs > 0 ? Math.round((r.records / r.elapsedMs) * 1000) : 0;
    const summary = `${r.records} records from ${r.objects} objects into ${target.describe()} in ${(r.elapsedMs / 1000).toFixed(1)} s (${rate} records/s)${r.resumedPast ? `, ${r.resumedPast} objects done by an earlier run` : ''}${target.skipped ? `, ${target.skipped} records not valid v1 and not replayed` : ''}`;
    if (r.stopped) {
      process.stderr.write(`replay interrupted after ${summary}; run the same command to resume (checkpoint ${checkpointFile})\n`);
      return 130;
    }
    process.stderr.write(`replay done: ${summary}\n`);
    return 0;
  } catch (err) {
    const e = err as GridwatchError;
    const code = (e.details as { s3Code?: string } | undefined)?.s3Code;
    if (code === 'NoSuchBucket') process.stderr.write(`gridwatch replay: the archive bucket ${c.s3Bucket} does not exist at ${c.s3Endpoint} (GRIDWATCH_S3_BUCKET)\n`);
    else process.stderr.write(`gridwatch replay: ${e.message}\n`);
    process.stderr.write(`checkpoint: ${checkpointFile}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await target.close().catch(() => undefined);
  }
}
