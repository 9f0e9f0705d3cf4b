export { ApiAuth, type ApiAuthOptions, type AuthResult } from './authenticator.ts';
export { ApiKeys, newToken, readTokensFile, writeTokensFile, TOKEN_PATTERN, type StoredToken } from './api-keys.ts';
export { FailureLimiter, type FailureLimiterOptions } from './limiter.ts';
export { OidcVerifier, type OidcOptions } from './oidc.ts';
export { ROLES, allows, highestRole, isRole, type Principal, type Role } from './roles.ts';
export { apiAuthFromConfig, consoleLoginFromConfig, listenOptionsFromConfig } from './from-config.ts';
