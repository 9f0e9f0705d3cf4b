// gridwatch replay against the real MinIO, InfluxDB and Kafka: an archive written by the real
// Archiver (with its InfluxDB writer), the InfluxDB database dropped, replayed (interrupted once
// and resumed from the checkpoint by the command), and the per-feeder aggregates identical to
// before; a second replay changes nothing; a replay into Kafka keeps every record's key and
// identity; a missing bucket and an unreadable object are named and exit non-zero.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Sink, createInfluxWriter } from '../../../central/archive/index.ts';
import { influxTarget } from '../../../central/history/replay-targets.ts';
import { replay } from '../../../central/history/replay.ts';
import { run } from '../../../cli/replay.ts';
import { createInfluxBucket } from '../../../deploy/services/index.ts';
import { createKafkaClient } from '../../../shared/kafka/index.ts';
import { silentLogger } from '../../../shared/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../../harness/env.ts';
import { archiveReadings, smallGrid } from './archive-fixture.ts';

const endpoints = testEndpoints();
const { s3, influx } = endpoints;
const FROM = Date.UTC(2026, 10, 22, 23, 0, 0);
const SECONDS = 5400; // 1.5 h over midnight
const TO = FROM + SECONDS * 1000;
const topology = smallGrid(3);
const bucket = uniqueName('replay');
const db = uniqueName('replay').replace(/-/g, '_');
let influxBucket: string;
let sink: S3Sink;
let archived = 0;
const dir = mkdtempSync(join(tmpdir(), 'gw-replay-'));

function env(over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GRIDWATCH_S3_BUCKET: bucket, GRIDWATCH_INFLUX_BUCKET: influxBucket, GRIDWATCH_LOG_LEVEL: 'warn', ...over };
}

/** The command in this process (spawning tsx costs seconds per run on a loaded machine); stderr captured. */
async function inProcess(args: string[], e = env()): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await run(args, e);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** The command as a user runs it (bin/gridwatch.js). */
function cli(args: string[], e = env()): Promise<{ code: number | null; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [resolve('bin/gridwatch.js'), 'replay', ...args], { env: e, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('close', (code) => (clearTimeout(t), ok({ code, stderr })));
  });
}

/** Per feeder: readings, min, max and sum of voltage over all partitions and minutes. */
async function feederAggregates(): Promise<Record<string, { readings: number; vMin: number; vMax: number; vSum: number; points: number }>> {
  const flux = `from(bucket: "${influxBucket}") |> range(start: 0) |> filter(fn: (r) => r._measurement == "feeder_1m") |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`;
  const out: Record<string, { readings: number; vMin: number; vMax: number; vSum: number; points: number }> = {};
  for await (const { values, tableMeta } of new InfluxDB({ url: influx.url, token: influx.token }).getQueryApi(influx.org).iterateRows(flux)) {
    const r = tableMeta.toObject(values);
    const f = (out[String(r.feeder)] ??= { readings: 0, vMin: Infinity, vMax: -Infinity, vSum: 0, points: 0 });
    f.readings += Number(r.readings);
    f.vMin = Math.min(f.vMin, Number(r.v_min));
    f.vMax = Math.max(f.vMax, Number(r.v_max));
    f.vSum = Math.round((f.vSum + Number(r.v_sum)) * 1000) / 1000;
    f.points++;
  }
  return out;
}

async function influxQuery(q: string): Promise<void> {
  const res = await fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  expect(res.ok).toBe(true);
}

beforeAll(async () => {
  influxBucket = await createInfluxBucket(endpoints, db);
  sink = new S3Sink({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket });
  await sink.ensureBucket();
  const w = createInfluxWriter({ url: influx.url, token: influx.token, org: influx.org, bucket: influxBucket, logger: silentLogger() });
  archived = (await archiveReadings(sink, { topology, from: FROM, seconds: SECONDS, influx: w, flushEvery: 4000 })).readings;
  await w.close();
}, 120_000);
afterAll(async () => {
  await influxQuery(`DROP DATABASE "${db}"`).catch(() => undefined);
});

describe('gridwatch replay', () => {
  it('rebuilds a dropped InfluxDB database: per-feeder aggregates identical, a second replay changes nothing', async () => {
    const before = await feederAggregates();
    expect(Object.keys(before).sort()).toEqual(['S01-F1', 'S01-F2', 'S02-F1', 'S02-F2']);
    expect(Object.values(before).reduce((n, f) => n + f.readings, 0)).toBe(archived);
    await influxQuery(`DROP DATABASE "${db}"`);
    expect(await feederAggregates().catch(() => ({}))).toEqual({});
    await createInfluxBucket(endpoints, db); // an empty database, as `gridwatch services up` or an operator makes it

    // Interrupted after a few objects (what Ctrl-C does), then resumed by the command.
    const checkpoint = join(dir, 'cp.json');
    const target = influxTarget({ url: influx.url, token: influx.token, org: influx.org, bucket: influxBucket, logger: silentLogger() });
    let seen = 0;
    const first = await replay({ sink, target, from: FROM, to: TO, kinds: ['readings'], checkpointFile: checkpoint, flushEvery: 1, stopRequested: () => ++seen >= 5 });
    await target.close();
    expect(first).toMatchObject({ stopped: true, objects: 5 });
    const resumed = await cli(['--from', new Date(FROM).toISOString(), '--to', String(TO), '--kind', 'readings', '--into', 'influx', '--checkpoint', checkpoint]);
    expect(resumed.stderr).toMatch(/replay done: \d+ records from \d+ objects into influx:.* records\/s\), 5 objects done by an earlier run/);
    expect(resumed.stderr).toMatch(/readings +\[#+\] 100%/);
    expect(resumed.code).toBe(0);
    expect(await feederAggregates()).toEqual(before);
    expect(existsSync(checkpoint)).toBe(false); // done: the checkpoint is removed

    // A full second replay over the complete database: overwrites, nothing counted twice.
    const again = await inProcess(['--from', String(FROM), '--to', String(TO), '--into', 'influx', '--checkpoint', join(dir, 'again.json')]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`replay done: ${archived} records`));
    expect(await feederAggregates()).toEqual(before);
  }, 120_000);

  it('replays into a Kafka topic with the original keys and identities', async () => {
    const topic = uniqueName('replay-readings');
    const kafka = createKafkaClient({ brokers: endpoints.kafkaBrokers, clientId: 'replay-test', security: testKafkaSecurity() });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true });
    const from = FROM + 3_600_000;
    const r = await inProcess(['--from', String(from), '--to', String(from + 600_000), '--kind', 'readings', '--into', `kafka:${topic}`, '--checkpoint', join(dir, 'kafka.json')]);
    expect(r.code).toBe(0);
    const n = Number(/replay done: (\d+) records/.exec(r.stderr)?.[1]);
    expect(n).toBeGreaterThan(0);
    const consumer = kafka.consumer({ groupId: uniqueName('replay-check') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const ids = new Set<string>();
    let keyed = true;
    await new Promise<void>((done) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const v = JSON.parse(String(message.value)) as { readingId: string; meterId: string; _offset?: string };
          keyed &&= String(message.key) === v.meterId && v._offset === undefined;
          ids.add(v.readingId);
          if (ids.size >= n) done();
        },
      });
    });
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    expect(keyed).toBe(true);
    // Every hour object holds whole hours: at least the 10 minutes asked for, 12 meters at 1 s.
    expect(ids.size).toBe(n);
    expect(n).toBeGreaterThanOrEqual(600 * 12);
  }, 120_000);

  it('names a missing bucket and an unreadable object, and exits non-zero', async () => {
    const missing = await inProcess(['--from', String(FROM), '--to', String(TO), '--into', 'influx', '--checkpoint', join(dir, 'missing.json')], env({ GRIDWATCH_S3_BUCKET: uniqueName('no-such-bucket') }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the archive bucket no-such-bucket-\S+ does not exist/);

    const keys = await sink.list('readings/');
    const victim = keys[3]!;
    const good = await sink.get(victim);
    await sink.put(victim, Buffer.from('garbage'));
    try {
      const r = await inProcess(['--from', String(FROM), '--to', String(TO), '--kind', 'readings', '--into', 'influx', '--checkpoint', join(dir, 'bad.json')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`archive object ${victim} not gzip`);
    } finally {
      await sink.put(victim, good!);
    }
  }, 120_000);
});
