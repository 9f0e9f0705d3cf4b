// Planned outages end to end on the real Kafka: a maintenance window on a feeder, planned through
// the API of a live central; sag anomalies of a transformer under that feeder and of one under
// another feeder. The first event is on grid.events with `planned: true` and never reaches the
// webhook; the second is unplanned and notified. (What an acknowledgement silences and what it
// does not: books.test.ts.)
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../../central/aggregator.ts';
import { Metrics, silentLogger, type GridEvent } from '../../../shared/index.ts';
import { makeTokensFile } from '../../harness/api-tokens.ts';
import { FakeCorrelator } from '../consume/fake-correlator.ts';
import { T0, sagAnomaly } from '../consume/helpers.ts';
import { centralConfig, kafka, producer, until, workflowSettings } from './helpers.ts';

const tokens = makeTokensFile();
const hooks: GridEvent[] = [];
let hook: Server;
let aggregator: Aggregator;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as GridEvent);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const port = (hook.address() as { port: number }).port;
  const config = centralConfig({ ...workflowSettings('wf-planned', tokens.file), GRIDWATCH_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, GRIDWATCH_WEBHOOK_MIN_SEVERITY: 'info' });
  aggregator = new Aggregator({ config, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 3 });
  await aggregator.start();
}, 120_000);

afterAll(async () => {
  await aggregator?.stop();
  await new Promise((r) => hook?.close(r));
});

describe('maintenance windows through the real Kafka', () => {
  it('raises the events inside a window as planned and does not notify them; the others are notified', async () => {
    const base = `http://127.0.0.1:${aggregator.httpPort}`;
    const headers = { ...tokens.headers('operator'), 'content-type': 'application/json' };
    const planned = await fetch(`${base}/api/maintenance`, { method: 'POST', headers, body: JSON.stringify({ device: { level: 'feeder', id: 'WF-F1' }, from: T0 - 60_000, to: T0 + 3_600_000, reason: 'recloser replacement' }) });
    expect(planned.status).toBe(201);

    const k = kafka();
    const p = await producer(k);
    try {
      const sags = [...['M1', 'M2', 'M3'].map((m) => sagAnomaly(m, 'WF-T1', 'WF-S1')), ...['M5', 'M6', 'M7'].map((m) => sagAnomaly(m, 'WF-T3', 'WF-S1'))];
      await p.send({ topic: aggregator.topics.anomalies, acks: -1, messages: sags.map((a) => ({ key: 'WF-S1', value: JSON.stringify(a) })) });
    } finally {
      await p.disconnect();
    }
    const get = async (id: string) => (await (await fetch(`${base}/api/events/${encodeURIComponent(id)}`, { headers })).json()) as GridEvent;
    await until('both events in the API', async () => aggregator.events.counts().open === 2, 30_000);
    const inside = await get(`sag:WF-T1:${T0}`);
    const outside = await get(`sag:WF-T3:${T0}`);
    expect(inside.planned).toBe(true);
    expect(outside.planned).toBeUndefined();
    await until('the unplanned event notified', () => hooks.length >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(hooks.map((h) => h.eventId)).toEqual([`sag:WF-T3:${T0}`]);
    expect(aggregator.health().details.notifier).toMatchObject({ planned: 1 });
  }, 60_000);
});
