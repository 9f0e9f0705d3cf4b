// API keys for tests: a real tokens file (what `gridwatch credentials add-token` writes) with one
// key per role, and the ApiAuth that central's composition root would build over it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiAuth, newToken, writeTokensFile, type ApiAuthOptions, type Role } from '../../central/api/index.ts';
import { Metrics, silentLogger } from '../../shared/index.ts';

export interface TestTokens {
  file: string;
  viewer: string;
  operator: string;
  admin: string;
  /** `{ authorization: 'Bearer <token of role>' }` */
  headers(role?: Role): { authorization: string };
}

export function makeTokensFile(dir = mkdtempSync(join(tmpdir(), 'gridwatch-tokens-'))): TestTokens {
  const made = (['viewer', 'operator', 'admin'] as const).map((role) => newToken(`test-${role}`, role));
  const file = join(dir, 'api-tokens.json');
  writeTokensFile(file, made.map((m) => m.record));
  const [viewer, operator, admin] = made.map((m) => m.token) as [string, string, string];
  const byRole = { viewer, operator, admin };
  return { file, viewer, operator, admin, headers: (role = 'viewer') => ({ authorization: `Bearer ${byRole[role]}` }) };
}

/** An ApiAuth over a fresh tokens file, started (call auth.stop() at the end). */
export function testAuth(opts: Partial<Omit<ApiAuthOptions, 'logger' | 'metrics'>> & { metrics?: Metrics } = {}): { auth: ApiAuth; tokens: TestTokens } {
  const tokens = makeTokensFile();
  const auth = new ApiAuth({ mode: 'on', tokensFile: tokens.file, logger: silentLogger(), metrics: opts.metrics ?? new Metrics('central-test', { defaultMetrics: false }), ...opts });
  auth.start();
  return { auth, tokens };
}
