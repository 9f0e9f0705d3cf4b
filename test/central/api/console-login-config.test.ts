// The console's OIDC sign-in settings out of central's configuration: given together or refused
// with the variable's name, and only then is /login.json more than `{ oidc: null }`.
import { describe, expect, it } from 'vitest';
import { consoleLoginFromConfig } from '../../../central/api/index.ts';
import { loadCentralConfig } from '../../../central/config.ts';

const ISSUER = 'https://login.utility.example/realms/grid';

describe('console OIDC sign-in settings', () => {
  it('is off without a console client id', () => {
    expect(consoleLoginFromConfig(loadCentralConfig({ env: { GRIDWATCH_OIDC_ISSUER: ISSUER, GRIDWATCH_OIDC_AUDIENCE: 'gridwatch' } }))).toBeUndefined();
  });

  it('takes the API issuer, the client id and the scopes (openid email by default)', () => {
    const env = { GRIDWATCH_OIDC_ISSUER: ISSUER, GRIDWATCH_OIDC_AUDIENCE: 'gridwatch', GRIDWATCH_OIDC_CONSOLE_CLIENT_ID: 'gridwatch-console' };
    expect(consoleLoginFromConfig(loadCentralConfig({ env }))).toEqual({ issuer: ISSUER, clientId: 'gridwatch-console', scope: 'openid email' });
    expect(consoleLoginFromConfig(loadCentralConfig({ env: { ...env, GRIDWATCH_OIDC_CONSOLE_SCOPE: 'openid profile gridwatch' } }))?.scope).toBe('openid profile gridwatch');
  });

  it('refuses a client id without an issuer, and scopes that are not space-separated tokens', () => {
    expect(() => consoleLoginFromConfig(loadCentralConfig({ env: { GRIDWATCH_OIDC_CONSOLE_CLIENT_ID: 'gridwatch-console' } }))).toThrow(/GRIDWATCH_OIDC_CONSOLE_CLIENT_ID needs GRIDWATCH_OIDC_ISSUER/);
    expect(() => loadCentralConfig({ env: { GRIDWATCH_OIDC_CONSOLE_SCOPE: 'openid  email' } })).toThrow(/GRIDWATCH_OIDC_CONSOLE_SCOPE/);
    expect(() => loadCentralConfig({ env: { GRIDWATCH_OIDC_CONSOLE_SCOPE: 'openid\temail' } })).toThrow(/GRIDWATCH_OIDC_CONSOLE_SCOPE/);
  });
});
