// The API's authentication settings out of central's configuration, checked together (a pair
// given half is a configuration error naming both variables).
import { GridwatchError, type Logger, type Metrics } from '../../../shared/index.ts';
import type { CentralConfig } from '../../config.ts';
import type { ConsoleLogin, ListenOptions } from '../server.ts';
import { ApiAuth } from './authenticator.ts';

export function apiAuthFromConfig(c: CentralConfig, logger: Logger, metrics: Metrics): ApiAuth {
  if (c.oidcIssuer && !c.oidcAudience) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_OIDC_ISSUER is set but GRIDWATCH_OIDC_AUDIENCE is not: tokens of that issuer for any other audience would be accepted');
  if (!c.oidcIssuer && (c.oidcAudience || c.oidcJwksUrl)) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_OIDC_AUDIENCE / GRIDWATCH_OIDC_JWKS_URL need GRIDWATCH_OIDC_ISSUER');
  return new ApiAuth({
    mode: c.apiAuth,
    ...(c.apiTokensFile ? { tokensFile: c.apiTokensFile } : {}),
    ...(c.metricsToken ? { metricsToken: c.metricsToken } : {}),
    ...(c.oidcIssuer && c.oidcAudience
      ? { oidc: { issuer: c.oidcIssuer, audience: c.oidcAudience, clockSkewSec: c.oidcClockSkewSec, roleClaim: c.oidcRoleClaim, ...(c.oidcJwksUrl ? { jwksUrl: c.oidcJwksUrl } : {}) } }
      : {}),
    failures: { maxFailures: c.apiAuthMaxFailures, windowMs: c.apiAuthFailureWindowMs },
    logger,
    metrics,
  });
}

export function listenOptionsFromConfig(c: CentralConfig): ListenOptions {
  if (Boolean(c.httpTlsCertFile) !== Boolean(c.httpTlsKeyFile)) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_HTTP_TLS_CERT_FILE and GRIDWATCH_HTTP_TLS_KEY_FILE go together: give both or neither');
  return c.httpTlsCertFile && c.httpTlsKeyFile ? { tls: { certFile: c.httpTlsCertFile, keyFile: c.httpTlsKeyFile } } : {};
}

/** The console's OIDC login (authorization code + PKCE at the API's own issuer), when a client id is set. */
export function consoleLoginFromConfig(c: CentralConfig): ConsoleLogin | undefined {
  if (!c.oidcConsoleClientId) return undefined;
  if (!c.oidcIssuer) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_OIDC_CONSOLE_CLIENT_ID needs GRIDWATCH_OIDC_ISSUER (the console signs in where the API\'s tokens come from)');
  return { issuer: c.oidcIssuer, clientId: c.oidcConsoleClientId, scope: c.oidcConsoleScope };
}
