// Hostile HTTP against the real listener: malformed and oversized requests over raw sockets,
// path traversal on the console's files, a client that sends its headers too slowly, fuzzed query
// parameters. Every answer is a 4xx (or a 200 for a fuzzed value that happens to be valid), never
// a 5xx, and the server still serves afterwards.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore, SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { silentLogger, Topology } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { apiDeps, gridEvent } from './fixtures.ts';

const HEADERS_TIMEOUT_MS = 1500;

/** Writes raw bytes, returns everything the server sent until it closed (or `waitMs` passed). */
function raw(port: number, chunks: (string | Buffer)[], waitMs = 3000): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** A small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('hostile HTTP', () => {
  const { auth, tokens } = testAuth({ failures: { maxFailures: 10_000, windowMs: 60_000 } });
  const sse = new SseHub({ maxClients: 5 });
  const events = new EventStore(10);
  let server: Server;
  let port: number;
  let base: string;
  const fivexx: string[] = [];

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'hostile-'));
    const consoleDir = join(root, 'console');
    mkdirSync(consoleDir);
    writeFileSync(join(consoleDir, 'index.html'), '<h1>console</h1>');
    writeFileSync(join(consoleDir, '.secret'), 'dotfile');
    writeFileSync(join(root, 'outside.txt'), 'OUTSIDE-THE-CONSOLE');
    events.upsert(gridEvent());
    server = await listen(
      createApiHandler(apiDeps({
        events,
        registry: new TopologyRegistry({ logger: silentLogger(), topology: new Topology([{ meterId: 'M1', transformerId: 'T1', feederId: 'F1', substationId: 'S01', phase: 'A', nominalVoltage: 230, nominalFrequency: 50 }]) }),
        sse,
        auth,
        consoleDir,
      })),
      0,
      '127.0.0.1',
      { headersTimeoutMs: HEADERS_TIMEOUT_MS },
    );
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    auth.stop();
    sse.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const stillServing = async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/api/events`, { headers: tokens.headers() })).status).toBe(200);
  };

  it('answers malformed requests with a 4xx over a raw socket', async () => {
    const cases: [string, (string | Buffer)[]][] = [
      ['header without a colon', ['GET /api/events HTTP/1.1\r\nHost: x\r\nno-colon-here\r\n\r\n']],
      ['binary garbage', [Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10])]],
      ['bad request line', ['GET\r\n\r\n']],
      ['bad HTTP version', ['GET / HTTP/9.9\r\nHost: x\r\n\r\n']],
      ['space in the target', ['GET /api/ev ents HTTP/1.1\r\nHost: x\r\n\r\n']],
      ['two content lengths', ['GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']],
      ['bad chunked body', ['GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']],
      ['bad percent-encoding in the path', [`GET /api/meters/%E0%A4%A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.viewer}\r\n\r\n`]],
      ['control character in a header', ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n']],
      ['a method that does not exist', ['BREW /api/events HTTP/1.1\r\nHost: x\r\n\r\n']],
      ['a body on a GET route, POSTed', ['POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}']],
    ];
    for (const [name, chunks] of cases) {
      const r = await raw(port, chunks);
      const s = statusOf(r.text);
      expect(s, `${name}: ${r.text.slice(0, 120)}`).toBeGreaterThanOrEqual(400);
      expect(s, name).toBeLessThan(500);
    }
    await stillServing();
  });

  it('refuses oversized headers and URLs with 431', async () => {
    const big = 'a'.repeat(20_000);
    for (const chunks of [[`GET /api/events HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`], [`GET /api/events?${big} HTTP/1.1\r\nHost: x\r\n\r\n`], [`GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${big}\r\n\r\n`]]) {
      expect(statusOf((await raw(port, chunks)).text)).toBe(431);
    }
    // Under the header limit but over the token's: refused as malformed, not a crash.
    expect((await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${'b'.repeat(9000)}` } })).status).toBe(401);
    await stillServing();
  });

  it('does not serve anything outside the console directory, nor its dotfiles', async () => {
    const targets = [
      '/../outside.txt',
      '/../../../../etc/passwd',
      '/%2e%2e/outside.txt',
      '/%2e%2e%2foutside.txt',
      '/..%2foutside.txt',
      '/..%5coutside.txt',
      '/%252e%252e/outside.txt',
      '/index.html%00.txt',
      '/.secret',
      '/%2esecret',
      '//etc/passwd',
      '/%c0%ae%c0%ae/outside.txt',
      '/api/../../outside.txt',
      '/./../outside.txt',
    ];
    for (const t of targets) {
      const r = await raw(port, [`GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      const s = statusOf(r.text);
      expect(s, t).toBeGreaterThanOrEqual(400);
      expect(s, t).toBeLessThan(500);
      expect(r.text, t).not.toMatch(/OUTSIDE-THE-CONSOLE|root:|dotfile/);
    }
    const index = await fetch(`${base}/`);
    expect(await index.text()).toContain('console');
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${base}/api/events`, { headers: tokens.headers() })).headers.get('cache-control')).toBe('no-store');
    await stillServing();
  });

  it('cuts a client that sends its headers too slowly', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.on('connect', () => r()));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    const started = Date.now();
    socket.write('GET /api/events HTTP/1.1\r\nHost: x\r\n');
    // One header byte every 200 ms: it never completes its headers.
    const drip = setInterval(() => socket.writable && socket.write('X'), 200);
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    clearInterval(drip);
    socket.destroy();
    expect(at, 'the server never closed the slow connection').toBeGreaterThan(0);
    // headersTimeout plus at most one check interval (1 s), with slack for a busy machine.
    expect(at - started).toBeLessThan(HEADERS_TIMEOUT_MS + 1000 + 2000);
    expect(at - started).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    if (text) expect(statusOf(text)).toBe(408);
    await stillServing();
  }, 20_000);

  it('answers fuzzed query parameters with 200 or a 4xx, never a 5xx', async () => {
    const rnd = prng(20261201);
    const routes = ['/api/events', '/api/anomalies', '/api/topology', '/api/edges', '/api/meters/M1', '/api/events/ev-1', '/api/openapi.json', '/api/whoami', '/metrics'];
    const names = ['state', 'scope', 'substation', 'type', 'from', 'to', 'limit', 'meter', 'tree', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '%00', 'limit[]', 'a.b', '\u00e9'];
    const values = ['open', 'closed', '-1', '0', '1', '1000', '1001', '1e3', '0x10', 'NaN', 'Infinity', '9'.repeat(400), '2026-13-45T99:99:99Z', '2026-01-01', '', '%', '%zz', '%00', '%E0%A4%A', '\u0000', '{"$gt":1}', '[]', 'true', 'S01', '../../etc', '<script>', "' OR 1=1 --", '\ud83d\ude00'];
    const pick = <T,>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
    const randomBytes = () => Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => '%' + Math.floor(rnd() * 256).toString(16).padStart(2, '0')).join('');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const n = 1 + Math.floor(rnd() * 4);
      const parts: string[] = [];
      for (let j = 0; j < n; j++) {
        const name = rnd() < 0.15 ? randomBytes() : encodeURIComponent(pick(names));
        const value = rnd() < 0.2 ? randomBytes() : rnd() < 0.5 ? pick(values) : encodeURIComponent(pick(values));
        parts.push(rnd() < 0.1 ? name : `${name}=${value}`);
      }
      const url = `${pick(routes)}?${parts.join(rnd() < 0.1 ? ';' : '&')}`;
      const r = await raw(port, [`GET ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.viewer}\r\nConnection: close\r\n\r\n`]);
      const s = statusOf(r.text);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (!(s === 200 || (s >= 400 && s < 500))) fivexx.push(`${s} ${url}`);
    }
    expect(fivexx).toEqual([]);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100); // most fuzz is refused, with a reason
    await stillServing();
  }, 60_000);
});
