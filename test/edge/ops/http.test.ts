import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, silentLogger } from '../../../shared/index.ts';
import { OpsServer, type Readiness } from '../../../edge/ops/http.ts';

let server: OpsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('OpsServer', () => {
  it('answers /healthz, /readyz (200 or 503) and /metrics', async () => {
    const metrics = new Metrics('edge', { defaultMetrics: false });
    const c = metrics.counter('edge_test_total', 'test');
    let ready: Readiness = { ready: true, checks: { mqttListening: true } };
    let scraped = 0;
    server = await OpsServer.start({ host: '127.0.0.1', port: 0, metrics, readiness: () => ready, beforeScrape: () => (c.inc(), scraped++), logger: silentLogger() });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(ready);
    ready = { ready: false, checks: { shuttingDown: true } };
    r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('gridwatch_edge_test_total{program="edge"} 1');
    expect(scraped).toBe(1);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
