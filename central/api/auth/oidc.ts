// OIDC bearer JWTs, verified with jose against the issuer's JWKS: signature (asymmetric algorithms
// only, so a shared secret can never be forged from a public key), issuer, audience, expiry and
// not-before with a bounded clock skew. The JWKS address comes from the issuer's discovery
// document unless given; jose caches the keys and refetches (at most every 30 s) when a token
// names a key it does not have, which is how a key rotation at the provider is followed.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { highestRole, type Principal } from './roles.ts';

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** Default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string;
  clockSkewSec: number;
  /** Claim holding the role (a string or an array of strings); dots go into nested objects. */
  roleClaim: string;
  /** Algorithms accepted (asymmetric). */
  algorithms?: string[];
}

export type OidcResult = { ok: true; principal: Principal } | { ok: false; reason: OidcRefusal; status: 401 | 403 };
export type OidcRefusal = 'expired' | 'bad_issuer' | 'bad_audience' | 'bad_signature' | 'invalid_jwt' | 'no_role' | 'jwks_unavailable';

const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

export class OidcVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;

  constructor(private readonly o: OidcOptions) {
    if (o.jwksUrl) this.jwks = createRemoteJWKSet(new URL(o.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  private async keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    // Discovery once; a failure is retried on the next token rather than cached.
    this.discovering ??= (async () => {
      const url = `${this.o.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (doc.issuer !== this.o.issuer) throw new Error(`${url}: issuer ${JSON.stringify(doc.issuer)} is not the configured ${this.o.issuer}`);
      if (typeof doc.jwks_uri !== 'string') throw new Error(`${url}: no jwks_uri`);
      this.jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      return this.jwks;
    })().finally(() => {
      this.discovering = null;
    });
    return this.discovering;
  }

  async verify(token: string): Promise<OidcResult> {
    let jwks;
    try {
      jwks = await this.keys();
    } catch {
      return { ok: false, reason: 'jwks_unavailable', status: 401 };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: this.o.issuer,
        audience: this.o.audience,
        clockTolerance: this.o.clockSkewSec,
        algorithms: this.o.algorithms ?? DEFAULT_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return { ok: false, reason: refusalOf(err), status: 401 };
    }
    const raw = claimAt(payload, this.o.roleClaim);
    const role = highestRole(Array.isArray(raw) ? raw : [raw]);
    const sub = String(payload.sub);
    if (!role) return { ok: false, reason: 'no_role', status: 403 };
    return { ok: true, principal: { kind: 'oidc', id: sub.slice(0, 200), name: typeof payload.email === 'string' ? payload.email.slice(0, 200) : sub.slice(0, 200), role, expiresAt: Number(payload.exp) * 1000 } };
  }
}

function refusalOf(err: unknown): OidcRefusal {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'iss' ? 'bad_issuer' : err.claim === 'aud' ? 'bad_audience' : 'invalid_jwt';
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'bad_signature';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'jwks_unavailable';
  return 'invalid_jwt';
}
