// The HTTP API on fastify: routes (routes.ts), authentication and roles on every route but the
// probes and the console's static files, strict security headers, the OpenAPI document, and a
// node:http(s) listener hardened against slow and oversized requests.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TObject } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Counter } from 'prom-client';
import { GridwatchError, type Clock, type Logger, type Metrics } from '../../shared/index.ts';
import type { TopologyRegistry } from '../registry/index.ts';
import type { ApiAuth } from './auth/authenticator.ts';
import type { Principal, Role } from './auth/roles.ts';
import { compileQuery, Refusal } from './query.ts';
import { historyRoutes, type HistoryDeps } from './history-routes.ts';
import { gridRoutes } from './routes.ts';
import { workflowRoutes } from './workflow-routes.ts';
import type { Workflow } from '../workflow/service.ts';
import type { SseHub } from './sse.ts';
import type { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore } from './store.ts';

export interface Health {
  live: boolean;
  ready: boolean;
  details: Record<string, unknown>;
}

export interface ApiDeps {
  events: EventStore;
  anomalies: AnomalyStore;
  readings: ReadingStore;
  edges: EdgeStatusStore;
  registry: TopologyRegistry;
  sse: SseHub;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  health: () => Health;
  /** Who may call what; started and stopped by the owner. */
  auth: ApiAuth;
  /** Served at `/` when the directory exists (the live console). */
  consoleDir?: string;
  /** Sent as Strict-Transport-Security when the listener is TLS. */
  tls?: boolean;
  /** The operators' workflow (event actions, maintenance windows); without it those routes are absent. */
  workflow?: Workflow;
  /** The archive and InfluxDB, for history, profiles and reliability (absent: those routes answer 503, /api/events and /api/anomalies memory only). */
  history?: HistoryDeps;
  /** The console signs in at this issuer (authorization code + PKCE); without it, it asks for a pasted token. */
  consoleLogin?: ConsoleLogin;
}

/** What the console needs to follow the OIDC login; public (it is in every authorization URL anyway). */
export interface ConsoleLogin {
  issuer: string;
  clientId: string;
  scope: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs; `public` only for the probes and the console's static files. */
    role?: Role | 'public';
    metricsRoute?: boolean;
    /** Takes POST/PUT/DELETE (the operators' workflow); every other route is read-only. */
    write?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Sent with every answer. The console has no inline script or style, so the CSP allows only its
 * own files; it may not be framed (clickjacking), types are not sniffed, no referrer leaves.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': csp(),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/**
 * The console's CSP. With the OIDC login, the page may also fetch from the issuer's origin (its
 * discovery document and token endpoint), that origin only, never `*`; the authorization request
 * itself is a navigation, which connect-src does not govern.
 */
function csp(issuer?: string): string {
  const connect = issuer ? `'self' ${new URL(issuer).origin}` : "'self'";
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

/** oauth4webapi's single ES module (no dependencies), served at /vendor/oauth4webapi/ for the console's login. */
const OAUTH4WEBAPI_DIR = fileURLToPath(new URL('../../node_modules/oauth4webapi/build/', import.meta.url));

/** uPlot's files in node_modules, served at /vendor/uplot/ beside the console. */
const UPLOT_DIR = fileURLToPath(new URL('../../node_modules/uplot/dist/', import.meta.url));

/** Every refusal is JSON `{ error, reason }` (any route's reply, whatever its typed shape). */
const json = (reply: unknown, status: number, error: string, reason: string) => (reply as FastifyReply).code(status).send({ error, reason });

export async function createApiApp(d: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    routerOptions: { maxParamLength: 256 },
    bodyLimit: 1024, // read routes never read a body; the workflow's writes set their own limit
    return503OnClosing: false,
    frameworkErrors: (err, _req, reply) => {
      void json(reply.headers(SECURITY_HEADERS), 400, 'bad request', err.message.slice(0, 200));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'querystring') return compileQuery(schema as TObject);
    const check = TypeCompiler.Compile(schema as TObject);
    return (value: unknown) => {
      if (check.Check(value)) return { value };
      const first = check.Errors(value).First();
      return { error: new Refusal(`${httpPart}${first?.path ? ` ${first.path}` : ''}: ${first?.message ?? 'invalid'}`) };
    };
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof Refusal) return json(reply, 400, 'bad request', err.message);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return json(reply, status, 'bad request', err.message.slice(0, 200));
    d.logger.error({ err, path: req.url.split('?')[0] }, 'API request failed');
    return json(reply, 500, 'internal error', 'the request failed; the reason is in central\'s log');
  });
  app.setNotFoundHandler((req, reply) => json(reply, 404, 'not found', `no route ${req.url.split('?')[0]!.slice(0, 200)}`));

  const base = d.consoleLogin ? { ...SECURITY_HEADERS, 'content-security-policy': csp(d.consoleLogin.issuer) } : SECURITY_HEADERS;
  const headers = d.tls ? { ...base, 'strict-transport-security': 'max-age=31536000' } : base;
  app.addHook('onRequest', async (req, reply) => {
    reply.headers(headers);
    // Grid data must not sit in a shared or browser cache (the console's files may, revalidated).
    if (req.routeOptions.config.role !== 'public' || req.url.startsWith('/healthz') || req.url.startsWith('/readyz')) reply.header('cache-control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.routeOptions.config.write !== true) {
      reply.header('allow', 'GET, HEAD');
      return json(reply, 405, 'method not allowed', 'this route is read-only');
    }
    const role = req.routeOptions.config.role;
    // A route without a role is refused, never public by omission (only the not-found handler has none).
    if (role === 'public' || req.routeOptions.url === undefined) return;
    const r = await d.auth.check(req.headers.authorization, req.ip, role ?? 'admin', { metricsRoute: req.routeOptions.config.metricsRoute === true });
    if (r.ok) {
      req.principal = r.principal;
      return;
    }
    if (r.status === 401) reply.header('www-authenticate', `Bearer realm="gridwatch", error="invalid_token"`);
    if (r.retryAfterSec !== undefined) reply.header('retry-after', String(r.retryAfterSec));
    return json(reply, r.status, r.status === 403 ? 'forbidden' : r.status === 429 ? 'too many requests' : 'unauthorized', r.reason);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'gridwatch central API', version: '1', description: 'Views of the grid kept by one central instance, and the operators\' workflow (event actions, maintenance windows). See central/README.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`gw_...`, `gridwatch credentials add-token`) or an OIDC access/ID token of the configured issuer' } } },
      security: [{ bearer: [] }],
    },
  });

  const publicRoute = { config: { role: 'public' as const }, schema: { security: [], tags: ['probes'] } };
  app.get('/healthz', { ...publicRoute, schema: { ...publicRoute.schema, summary: 'Liveness' } }, async (_req, reply) => {
    const h = d.health();
    return reply.code(h.live ? 200 : 503).send({ status: h.live ? 'ok' : 'failing', ...h.details });
  });
  app.get('/readyz', { ...publicRoute, schema: { ...publicRoute.schema, summary: 'Readiness' } }, async (_req, reply) => {
    const h = d.health();
    return reply.code(h.ready ? 200 : 503).send({ status: h.ready ? 'ready' : 'not ready', ...h.details });
  });
  app.get('/metrics', { config: { role: 'viewer', metricsRoute: true }, schema: { summary: 'Prometheus text (a viewer token or GRIDWATCH_METRICS_TOKEN)', tags: ['ops'] } }, async (_req, reply) => {
    const text = await d.metrics.text();
    return reply.type(d.metrics.contentType).send(text);
  });
  app.get('/api/openapi.json', { config: { role: 'viewer' }, schema: { summary: 'This document (OpenAPI 3.1)', tags: ['ops'] } }, async () => app.swagger());
  app.get('/api/whoami', { config: { role: 'viewer' }, schema: { summary: 'The caller and its role; `auth` is `none` when authentication is off', tags: ['ops'] } }, async (req) => ({
    ...req.principal,
    auth: d.auth.mode,
  }));
  app.get('/api/admin/tokens', { config: { role: 'admin' }, schema: { summary: 'The API keys of the tokens file (ids, names, roles; never a hash)', tags: ['admin'] } }, async () => {
    const tokens = d.auth.keys.list();
    return { count: tokens.length, tokens };
  });
  streamsFollowCredentials(app, d);
  await app.register(gridRoutes(d));
  if (d.workflow) await app.register(workflowRoutes(d.workflow));
  await app.register(historyRoutes(d));

  const consoleRoot = d.consoleDir && existsSync(d.consoleDir) ? resolve(d.consoleDir) : null;
  if (consoleRoot) {
    // The console's files carry no grid data: the page must load before it can ask for a token.
    await app.register(async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object), role: 'public' };
      });
      await scope.register(fastifyStatic, { root: consoleRoot, prefix: '/', index: ['index.html'], dotfiles: 'deny', cacheControl: false, setHeaders: (res) => res.setHeader('cache-control', 'no-cache') });
      // The charting library, from the installed package (no CDN: the CSP allows only 'self').
      // How the console signs in: asked before any token exists, so public; carries no grid data.
      scope.get('/login.json', { schema: { hide: true } }, async () => ({ oidc: d.consoleLogin ?? null }));
      if (existsSync(OAUTH4WEBAPI_DIR)) await scope.register(fastifyStatic, { root: OAUTH4WEBAPI_DIR, prefix: '/vendor/oauth4webapi/', decorateReply: false, dotfiles: 'deny', cacheControl: false, allowedPath: (p) => p === '/index.js', setHeaders: (res) => res.setHeader('cache-control', 'no-cache') });
      if (existsSync(UPLOT_DIR)) await scope.register(fastifyStatic, { root: UPLOT_DIR, prefix: '/vendor/uplot/', decorateReply: false, dotfiles: 'deny', cacheControl: false, allowedPath: (p) => /^\/uPlot\.(esm\.js|min\.css)$/.test(p), setHeaders: (res) => res.setHeader('cache-control', 'no-cache') });
    });
  }
  await app.ready();
  return app;
}

/**
 * An open event stream outlives no revocation: after each reload of the tokens file, the streams
 * of keys no longer in it are ended (the expiry of JWTs is the hub's own timer). Each end counted.
 */
function streamsFollowCredentials(app: FastifyInstance, d: ApiDeps): void {
  const ended = (d.metrics.registry.getSingleMetric('gridwatch_central_sse_sessions_ended_total') as Counter<'reason'> | undefined) ??
    d.metrics.counter('central_sse_sessions_ended_total', 'Event streams the server ended because their credential ended: revoked (API key gone from the tokens file) or expired (OIDC token past exp + clock skew)', ['reason']);
  const offEnd = d.sse.onSessionEnd((reason) => ended.inc({ reason }));
  const offReload = d.auth.onKeysReloaded(() => {
    const n = d.sse.endWhere((p) => !d.auth.stillHolds(p), 'revoked');
    if (n > 0) d.logger.info({ streams: n }, 'event streams of revoked API keys ended');
  });
  app.addHook('onClose', async () => {
    offEnd();
    offReload();
  });
}

/** A node:http request handler for the API (the listener, or a test's own server, calls it). */
export function createApiHandler(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  let routing: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const ready = createApiApp(d).then((app) => (routing = app.routing.bind(app)));
  ready.catch((err: unknown) => d.logger.error({ err }, 'API could not be built'));
  return (req, res) => {
    if (routing) return routing(req, res);
    ready.then(
      (r) => r(req, res),
      () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error","reason":"the API could not be built"}'),
    );
  };
}

export interface ListenOptions {
  /** PEM certificate chain and key files: the listener is HTTPS. */
  tls?: { certFile: string; keyFile: string };
  /** A client has this long to send its request headers (slow clients are cut). */
  headersTimeoutMs?: number;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number, host: string, o: ListenOptions = {}): Promise<Server> {
  const limits = {
    headersTimeout: o.headersTimeoutMs ?? 10_000,
    requestTimeout: 30_000,
    maxHeaderSize: 16 * 1024,
    // How often the timeouts above are checked (Node's default, 30 s, would let a slow client stay that long).
    connectionsCheckingInterval: 1000,
    keepAliveTimeout: 5000,
  };
  let server: Server;
  if (o.tls) {
    let cert: Buffer, key: Buffer;
    try {
      cert = readFileSync(o.tls.certFile);
      key = readFileSync(o.tls.keyFile);
    } catch (err) {
      throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_HTTP_TLS_CERT_FILE / GRIDWATCH_HTTP_TLS_KEY_FILE: ${(err as Error).message}`, { cause: err });
    }
    server = createHttpsServer({ ...limits, cert, key, minVersion: 'TLSv1.2' }, handler) as unknown as Server;
  } else {
    server = createServer(limits, handler);
  }
  server.keepAliveTimeout = limits.keepAliveTimeout;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  return server;
}
