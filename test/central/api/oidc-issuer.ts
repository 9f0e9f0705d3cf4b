// A small but real OAuth 2.0 authorization server / OIDC issuer over loopback HTTP, for the tests
// of the console's redirect login and of stream expiry. It serves discovery, the JWKS, an
// authorization endpoint (authorization code only, PKCE S256 required, exact redirect URIs of
// registered public clients) and a token endpoint that checks the code, client, redirect URI and
// the PKCE verifier before it returns an access token (a JWT for the API's audience, signed with
// the JWKS key, so central verifies it with jose exactly as it would a provider's) and an ID token.
// There is no login page: the test says who the next sign-in is (`signInAs`), as a user would at
// the provider. Codes are single use and live 60 s.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface IssuerUser {
  sub: string;
  email: string;
  /** Put in the access token's role claim (`gridwatch_role`); null: no role claim. */
  role: string | null;
}

export interface SignOptions {
  audience?: string;
  issuer?: string;
  /** Seconds since the epoch, or a jose duration ("5m"). */
  expiresIn?: string | number;
  sub?: string;
}

export interface LocalIssuer {
  issuer: string;
  audience: string;
  /** Signs an access token for the API's audience (or `o.audience`) with the JWKS key. */
  sign(claims: Record<string, unknown>, o?: SignOptions): Promise<string>;
  /** Who the next authorization request signs in as. */
  signInAs(user: IssuerUser): void;
  /** A public client allowed to use the authorization endpoint; `origin` may call the token endpoint (CORS). */
  registerClient(c: { clientId: string; redirectUri: string; origin: string }): void;
  /** Lifetime of the access tokens the token endpoint issues (seconds). */
  accessTokenSec: number;
  /** Every authorization request's parameters (as the browser sent them). */
  readonly authorizeRequests: URLSearchParams[];
  /** Every token endpoint request, with its outcome. */
  readonly tokenRequests: { grantType: string | null; ok: boolean; error?: string }[];
  close(): Promise<void>;
}

const b64url = (b: Buffer) => b.toString('base64url');

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | null;
  user: IssuerUser;
  expiresAt: number;
}

async function body(req: IncomingMessage, max = 8192): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > max) throw new Error('body too large');
  }
  return text;
}

export async function startLocalIssuer(o: { audience: string; roleClaim?: string }): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const clients = new Map<string, { redirectUri: string; origin: string }>();
  const codes = new Map<string, Grant>();
  const tokenRequests: LocalIssuer['tokenRequests'] = [];
  const authorizeRequests: URLSearchParams[] = [];
  let user: IssuerUser = { sub: 'nobody', email: 'nobody@utility.example', role: null };
  let issuer = '';

  const sign = (claims: Record<string, unknown>, s: SignOptions = {}, key: CryptoKey = privateKey) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
      .setSubject(s.sub ?? 'alice@utility.example')
      .setIssuer(s.issuer ?? issuer)
      .setAudience(s.audience ?? o.audience)
      .setIssuedAt()
      .setExpirationTime(s.expiresIn ?? '5m')
      .sign(key);

  const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
    void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(value));

  const authorize = (url: URL, res: ServerResponse) => {
    const q = url.searchParams;
    authorizeRequests.push(new URLSearchParams(q));
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const client = clients.get(clientId);
    // An unknown client or redirect URI is never redirected to (it could be an attacker's page).
    if (!client || client.redirectUri !== redirectUri) return json(res, 400, { error: 'invalid_request', error_description: 'unknown client_id or redirect_uri' });
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const refuse = (error: string, description: string) => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', description);
      res.writeHead(302, { location: back.href }).end();
    };
    if (q.get('response_type') !== 'code') return refuse('unsupported_response_type', 'only code');
    const challenge = q.get('code_challenge');
    if (!challenge || q.get('code_challenge_method') !== 'S256') return refuse('invalid_request', 'PKCE with S256 is required');
    const code = b64url(randomBytes(32));
    codes.set(code, { clientId, redirectUri, challenge, nonce: q.get('nonce'), user, expiresAt: Date.now() + 60_000 });
    back.searchParams.set('code', code);
    res.writeHead(302, { location: back.href }).end();
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> = {};
    if (origin && [...clients.values()].some((c) => c.origin === origin)) Object.assign(cors, { 'access-control-allow-origin': origin, vary: 'origin' });
    const f = new URLSearchParams(await body(req));
    const grantType = f.get('grant_type');
    const refuse = (error: string, description: string) => {
      tokenRequests.push({ grantType, ok: false, error });
      json(res, 400, { error, error_description: description }, cors);
    };
    if (grantType !== 'authorization_code') return refuse('unsupported_grant_type', 'only authorization_code');
    const code = f.get('code') ?? '';
    const grant = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    if (!grant || grant.expiresAt < Date.now()) return refuse('invalid_grant', 'unknown, used or expired code');
    if (f.get('client_id') !== grant.clientId) return refuse('invalid_grant', 'code issued to another client');
    if (f.get('redirect_uri') !== grant.redirectUri) return refuse('invalid_grant', 'redirect_uri differs from the authorization request');
    const verifier = f.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge) return refuse('invalid_grant', 'PKCE verifier does not match the challenge');
    const u = grant.user;
    const claims: Record<string, unknown> = { email: u.email };
    if (u.role !== null) claims[o.roleClaim ?? 'gridwatch_role'] = u.role;
    const expiresIn = Math.floor(Date.now() / 1000) + self.accessTokenSec;
    const accessToken = await sign(claims, { sub: u.sub, expiresIn });
    const idToken = await sign({ email: u.email, ...(grant.nonce ? { nonce: grant.nonce } : {}) }, { sub: u.sub, audience: grant.clientId, expiresIn });
    tokenRequests.push({ grantType, ok: true });
    json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: self.accessTokenSec, id_token: idToken, scope: 'openid email' }, cors);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    // Discovery and keys are public documents any page may read.
    const open = { 'access-control-allow-origin': '*' };
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration')
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks.json`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        scopes_supported: ['openid', 'email'],
      }, open);
    if (req.method === 'GET' && url.pathname === '/jwks.json') return json(res, 200, { keys: [jwk] }, open);
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'OPTIONS' && url.pathname === '/token') {
      const origin = req.headers.origin;
      const allowed = origin !== undefined && [...clients.values()].some((c) => c.origin === origin);
      return void res.writeHead(204, allowed ? { 'access-control-allow-origin': origin, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type, accept', vary: 'origin' } : {}).end();
    }
    if (req.method === 'POST' && url.pathname === '/token') return void token(req, res).catch(() => json(res, 400, { error: 'invalid_request' }));
    json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const self: LocalIssuer = {
    issuer,
    audience: o.audience,
    sign: (claims, s) => sign(claims, s),
    signInAs: (u) => void (user = u),
    registerClient: (c) => void clients.set(c.clientId, { redirectUri: c.redirectUri, origin: c.origin }),
    accessTokenSec: 300,
    tokenRequests,
    authorizeRequests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return self;
}
