// Authentication and authorisation of API requests. A bearer token is either an API key from the
// tokens file (`gw_...`) or, when an issuer is configured, an OIDC JWT. Refused credentials are
// counted by reason and limited per client address; a missing or refused token is a 401, a known
// principal without the role a route needs a 403, an address over its failure budget a 429.
import { timingSafeEqual, createHash } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import type { Counter, Gauge } from 'prom-client';
import type { Logger, Metrics } from '../../../shared/index.ts';
import { ApiKeys, readTokensFile, TOKEN_PATTERN } from './api-keys.ts';
import { FailureLimiter, type FailureLimiterOptions } from './limiter.ts';
import { OidcVerifier, type OidcOptions } from './oidc.ts';
import { allows, type Principal, type Role } from './roles.ts';

export interface ApiAuthOptions {
  /** `none` turns authentication off: an explicit choice, logged as a warning and shown on the console. */
  mode: 'on' | 'none';
  tokensFile?: string;
  oidc?: OidcOptions;
  /** A separate bearer token Prometheus may use for /metrics only. */
  metricsToken?: string;
  failures?: FailureLimiterOptions;
  /** How often the tokens file is checked for a change (besides SIGHUP). */
  reloadPollMs?: number;
  logger: Logger;
  metrics: Metrics;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403 | 429; reason: string; retryAfterSec?: number };

const ANONYMOUS: Principal = { kind: 'none', id: 'anonymous', name: 'anonymous (GRIDWATCH_API_AUTH=none)', role: 'admin' };
const METRICS_SCRAPER: Principal = { kind: 'api-key', id: 'metrics-token', name: 'metrics scraper', role: 'viewer' };

function metric<T>(metrics: Metrics, name: string, make: () => T): T {
  return (metrics.registry.getSingleMetric(`gridwatch_${name}`) as T | undefined) ?? make();
}

export class ApiAuth {
  readonly keys = new ApiKeys();
  private readonly oidc: OidcVerifier | null;
  private readonly limiter: FailureLimiter;
  private readonly failures: Counter<'reason'>;
  private readonly reloads: Counter<'result'>;
  private readonly metricsTokenHash: Buffer | null;
  private readonly onHup = (): void => void this.reload('SIGHUP');
  private watching = false;
  private readonly reloadListeners = new Set<() => void>();

  constructor(private readonly o: ApiAuthOptions) {
    this.oidc = o.oidc ? new OidcVerifier(o.oidc) : null;
    this.limiter = new FailureLimiter(o.failures ?? { maxFailures: 20, windowMs: 60_000 });
    this.metricsTokenHash = o.metricsToken ? createHash('sha256').update(o.metricsToken).digest() : null;
    this.failures = metric(o.metrics, 'central_api_auth_failures_total', () =>
      o.metrics.counter('central_api_auth_failures_total', 'API requests refused: missing or refused credentials (401), a role too low (403), an address over its failure budget (429)', ['reason']),
    );
    this.reloads = metric(o.metrics, 'central_api_tokens_reloads_total', () => o.metrics.counter('central_api_tokens_reloads_total', 'Reloads of the API tokens file', ['result']));
    const keys = this.keys;
    metric(o.metrics, 'central_api_tokens', () =>
      o.metrics.gauge('central_api_tokens', 'API keys in the tokens file', [], function (this: Gauge) {
        this.set(keys.size);
      }),
    );
  }

  get mode(): 'none' | 'on' {
    return this.o.mode;
  }

  /** Loads the tokens file (a malformed one stops the start) and follows its changes and SIGHUP. */
  start(): void {
    if (this.o.mode === 'none') {
      this.o.logger.warn('GRIDWATCH_API_AUTH=none: the API, the live stream and /metrics answer anyone who can reach the listener');
      return;
    }
    const file = this.o.tokensFile;
    if (file) {
      this.keys.replace(readTokensFile(file));
      watchFile(file, { interval: this.o.reloadPollMs ?? 1000, persistent: false }, () => this.reload('change'));
      process.on('SIGHUP', this.onHup);
      this.watching = true;
    }
    if (!file && !this.oidc) this.o.logger.warn('API authentication is on but neither GRIDWATCH_API_TOKENS_FILE nor GRIDWATCH_OIDC_ISSUER is set: every API request is refused (create a token with `gridwatch credentials add-token`)');
    this.o.logger.info({ tokensFile: file ?? null, apiKeys: this.keys.size, oidcIssuer: this.o.oidc?.issuer ?? null, metricsToken: this.metricsTokenHash !== null }, 'API authentication on');
  }

  stop(): void {
    if (!this.watching || !this.o.tokensFile) return;
    unwatchFile(this.o.tokensFile);
    process.off('SIGHUP', this.onHup);
    this.watching = false;
  }

  /** Re-reads the tokens file; a bad file keeps the keys in force (logged, counted). */
  reload(why: string): boolean {
    const file = this.o.tokensFile;
    if (!file) return false;
    try {
      this.keys.replace(readTokensFile(file));
      this.reloads.inc({ result: 'ok' });
      this.o.logger.info({ why, apiKeys: this.keys.size }, 'API tokens file reloaded');
      for (const listener of this.reloadListeners) listener();
      return true;
    } catch (err) {
      this.reloads.inc({ result: 'failed' });
      this.o.logger.error({ why, err: (err as Error).message }, 'API tokens file not reloaded: the previous keys stay in force');
      return false;
    }
  }

  /** Runs `listener` after every reload of the tokens file that took effect; returns the unsubscribe. */
  onKeysReloaded(listener: () => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  /** False once a principal's credential is gone: an API key no longer in the tokens file. */
  stillHolds(p: Principal): boolean {
    return p.kind !== 'api-key' || p.id === METRICS_SCRAPER.id || this.keys.has(p.id);
  }

  /** When a long-lived request of `p` (the event stream) must end: its token's expiry plus the clock skew it was accepted with. */
  sessionEndsAt(p: Principal): number | undefined {
    return p.expiresAt === undefined ? undefined : p.expiresAt + (this.o.oidc?.clockSkewSec ?? 0) * 1000;
  }

  private refuse(reason: string, status: 401 | 403, address: string, counts: boolean): AuthResult {
    this.failures.inc({ reason });
    if (counts) this.limiter.fail(address);
    return { ok: false, status, reason };
  }

  /** Who sent `authorization`, and whether that principal may use a route that needs `needs`. */
  async check(authorization: string | undefined, address: string, needs: Role, opts: { metricsRoute?: boolean } = {}): Promise<AuthResult> {
    if (this.o.mode === 'none') return { ok: true, principal: ANONYMOUS };
    const blocked = this.limiter.blockedFor(address);
    if (blocked > 0) {
      this.failures.inc({ reason: 'rate_limited' });
      return { ok: false, status: 429, reason: 'too many failed authentications from this address', retryAfterSec: Math.ceil(blocked / 1000) };
    }
    const m = /^Bearer ([\x21-\x7e]{1,8192})$/i.exec(authorization ?? '');
    if (!authorization) return this.refuse('missing', 401, address, false);
    if (!m) return this.refuse('malformed', 401, address, true);
    const token = m[1]!;
    let principal: Principal | null = null;
    if (opts.metricsRoute && this.metricsTokenHash) {
      const h = createHash('sha256').update(token).digest();
      if (timingSafeEqual(h, this.metricsTokenHash)) principal = METRICS_SCRAPER;
    }
    if (!principal && TOKEN_PATTERN.test(token)) {
      const stored = this.keys.verify(token);
      if (!stored) return this.refuse('unknown_token', 401, address, true);
      principal = { kind: 'api-key', id: stored.id, name: stored.name, role: stored.role };
    }
    if (!principal && this.oidc && token.split('.').length === 3) {
      const r = await this.oidc.verify(token);
      if (!r.ok) return this.refuse(r.reason, r.status, address, r.status === 401);
      principal = r.principal;
    }
    if (!principal) return this.refuse('unknown_token', 401, address, true);
    if (!allows(principal.role, needs)) return this.refuse('forbidden', 403, address, false);
    return { ok: true, principal };
  }
}
