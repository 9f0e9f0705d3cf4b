// History and replay: one meter's readings answered by GET /api/meters/{id}/readings for 1 hour,
// 1 day (86,400 readings, goal < 2 s) and 7 days, from a MinIO archive written by the real
// Archiver; and `replay` of one day into InfluxDB and into Kafka. The yardstick of the history
// query is fetching and gunzipping the same objects without parsing: what the route adds to the
// bytes it must read anyway. `gridwatch bench --only history`
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg, cpus } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { AnomalyStore, ApiAuth, EdgeStatusStore, EventStore, ReadingStore, SseHub, createApiHandler, listen } from '../central/api/index.ts';
import { S3Sink } from '../central/archive/index.ts';
import { historyKeys } from '../central/history/readings.ts';
import { influxTarget, kafkaTarget } from '../central/history/replay-targets.ts';
import { replay } from '../central/history/replay.ts';
import { kafkaProducer } from '../central/publish/producer.ts';
import { TopologyRegistry } from '../central/registry/index.ts';
import { createInfluxDatabase } from '../deploy/services/influxdb.ts';
import { serviceEndpoints } from '../deploy/services/index.ts';
import { ManualClock, Metrics, silentLogger } from '../shared/index.ts';
import { createKafkaClient, partitionOf } from '../shared/kafka/index.ts';
import { PARTITIONS, archiveReadings, smallGrid } from '../test/central/history/archive-fixture.ts';
import type { BenchFigure, MachineLoad } from './figures.ts';
import { benchKafka } from './kafka-env.ts';

const DAY = 86_400_000;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function benchHistory(opts: { days?: number; log?: (s: string) => void } = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const load0 = loadavg()[0]!;
  const e = serviceEndpoints();
  const u = `bench-history-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const sink = new S3Sink({ endPoint: e.s3.endPoint, port: e.s3.port, useSSL: e.s3.useSSL, accessKey: e.s3.accessKey, secretKey: e.s3.secretKey, bucket: u });
  await sink.ensureBucket();
  const topology = smallGrid(2);
  const meter = 'S01-F1-m0';
  // A week of one meter at 1 s, plus its feeder neighbour on the first day (so the objects the
  // query reads also hold readings it must skip).
  const from = Date.UTC(2026, 10, 2);
  const days = opts.days ?? 7;
  const t0 = performance.now();
  const wrote = await archiveReadings(sink, { topology, from, seconds: days * 86_400, meters: [meter], flushEvery: 25_000 });
  await archiveReadings(sink, { topology, from, seconds: 86_400, meters: ['S01-F1-m1', 'S01-F2-m0'], flushEvery: 25_000 });
  log(`history: archived ${wrote.readings} readings of ${meter} in ${round((performance.now() - t0) / 1000)} s`);

  const auth = new ApiAuth({ mode: 'none', logger: silentLogger(), metrics: new Metrics('bench', { defaultMetrics: false }) });
  const deps = {
    events: new EventStore(10), anomalies: new AnomalyStore(10), readings: new ReadingStore(2, 10), edges: new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 }),
    registry: new TopologyRegistry({ logger: silentLogger(), topology }), sse: new SseHub({ maxClients: 1 }), metrics: new Metrics('bench', { defaultMetrics: false }), clock: new ManualClock(from),
    logger: silentLogger(), health: () => ({ live: true, ready: true, details: {} }), auth, history: { sink, readingsPartitions: () => PARTITIONS },
  };
  const server = await listen(createApiHandler(deps), 0, '127.0.0.1');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const figures: BenchFigure[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const [name, span, runs] of [['1h', 3_600_000, 20], ['1d', DAY, 7], ['7d', 7 * DAY, 3]] as const) {
      if (span > days * DAY) continue;
      const ms: number[] = [];
      const yard: number[] = [];
      let readings = 0;
      for (let i = 0; i < runs; i++) {
        const start = from + ((i * 3_600_000) % Math.max(1, days * DAY - span));
        let t = performance.now();
        const body = await (await fetch(`${base}/api/meters/${meter}/readings?from=${start}&to=${start + span}`)).text();
        ms.push(performance.now() - t);
        readings = Number(/"readings":(\d+)/.exec(body.slice(-300))?.[1]);
        t = performance.now();
        const keys = await historyKeys(sink, { from: start, to: start + span, substationId: 'S01', partition: partitionOf(meter, PARTITIONS) });
        for (let k = 0; k < keys.length; k += 8) await Promise.all(keys.slice(k, k + 8).map(async (key) => gunzipSync((await sink.get(key))!)));
        yard.push(performance.now() - t);
      }
      const p50 = pct(ms, 50);
      const p95 = pct(ms, 95);
      const y50 = pct(yard, 50);
      log(`history ${name}: ${readings} readings, p50 ${round(p50)} ms, p95 ${round(p95)} ms (fetch+gunzip only: ${round(y50)} ms)`);
      details[`readings_${name}`] = readings;
      const yardstick = { name: 'the same objects fetched and gunzipped, not parsed (p50)', value: round(y50) };
      figures.push({ id: `history.readings.${name}.p50`, figure: `one meter's ${name} of 1 s readings from the archive, p50`, value: round(p50), unit: 'ms', higherIsBetter: false, yardstick, ratio: round(p50 / y50, 2), ...(name === '1d' ? { goal: { text: '< 2 s for 86,400 readings', on: 'value' as const, max: 2000 } } : {}) });
      figures.push({ id: `history.readings.${name}.p95`, figure: `one meter's ${name} of 1 s readings from the archive, p95`, value: round(p95), unit: 'ms', higherIsBetter: false, yardstick, ratio: round(p95 / y50, 2), ...(name === '1d' ? { goal: { text: '< 2 s for 86,400 readings', on: 'value' as const, max: 2000 } } : {}) });
    }

    // Replay one day (three meters) into a fresh InfluxDB database and into a Kafka topic.
    const db = u.replace(/-/g, '_');
    const bucket = await createInfluxDatabase(e.influx.url, db);
    try {
      const target = influxTarget({ url: e.influx.url, token: e.influx.token, org: e.influx.org, bucket, logger: silentLogger() });
      const r = await replay({ sink, target, from, to: from + DAY, kinds: ['readings'] });
      await target.close();
      const rate = (r.records / r.elapsedMs) * 1000;
      log(`replay into InfluxDB: ${r.records} readings in ${round(r.elapsedMs / 1000)} s, ${Math.round(rate)} readings/s`);
      figures.push({ id: 'history.replay.influx', figure: 'replay of the archive into InfluxDB (feeder aggregates)', value: Math.round(rate), unit: 'readings/s', higherIsBetter: true });
    } finally {
      await fetch(`${e.influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) }).catch(() => undefined);
    }
    const k = benchKafka();
    const kafka = createKafkaClient({ brokers: k.brokers, clientId: 'bench-history', security: k.security });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `${u}.grid.readings`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
    try {
      const target = kafkaTarget(kafkaProducer(kafka), topic, `kafka:${topic}`);
      const r = await replay({ sink, target, from, to: from + DAY, kinds: ['readings'] });
      await target.close();
      const rate = (r.records / r.elapsedMs) * 1000;
      log(`replay into Kafka: ${r.records} readings in ${round(r.elapsedMs / 1000)} s, ${Math.round(rate)} readings/s`);
      figures.push({ id: 'history.replay.kafka', figure: 'replay of the archive into a Kafka topic (acks=all, gzip)', value: Math.round(rate), unit: 'readings/s', higherIsBetter: true });
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  } finally {
    await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
    auth.stop();
  }
  const load: MachineLoad = { loadavg1Start: load0, loadavg1End: loadavg()[0]!, cpus: cpus().length };
  return { figures, load, ...details, bucket: u };
}
