// /api/openapi.json is a valid OpenAPI 3.1 document (checked by an OpenAPI schema validator, not
// by looking at a few fields) and describes what the server really does.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { apiDeps } from './fixtures.ts';

describe('/api/openapi.json', () => {
  const { auth, tokens } = testAuth();
  const sse = new SseHub({ maxClients: 1 });
  let server: Server;
  let doc: Record<string, unknown> & { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; security?: unknown[] }>> };

  beforeAll(async () => {
    server = await listen(
      createApiHandler(apiDeps({
        sse,
        auth,
      })),
      0,
      '127.0.0.1',
    );
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/openapi.json`, { headers: tokens.headers() });
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(async () => {
    auth.stop();
    sse.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists the query parameters each route accepts, and bearer security on all but the probes', () => {
    const names = (path: string) => (doc.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort();
    expect(names('/api/events')).toEqual(['from', 'limit', 'scope', 'state', 'substation', 'to', 'type']);
    expect(names('/api/anomalies')).toEqual(['from', 'limit', 'meter', 'state', 'substation', 'to', 'type']);
    expect(names('/api/topology')).toEqual(['substation', 'tree']);
    expect(doc.paths['/api/meters/{meterId}']?.get?.parameters?.find((p) => p.in === 'path')?.name).toBe('meterId');
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(doc.paths['/api/events']?.get?.security).toBeUndefined(); // the document-wide bearer applies
    expect(Object.keys(doc.paths)).not.toContain('/*'); // the console's files are not API
  });
});
