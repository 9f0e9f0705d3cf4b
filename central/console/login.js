/* global location, sessionStorage */
// The console's OIDC sign-in: the authorization-code flow with PKCE (S256), done by oauth4webapi
// (panva's maintained, dependency-free client, served from node_modules). The console is a public
// client: no secret; what binds the code to this tab is the PKCE verifier, and what binds the answer
// to the request this tab made is `state` (and the ID token's `nonce`), all three kept in this tab's
// sessionStorage only until the callback. central's /login.json says which issuer and client id.
import * as oauth from './vendor/oauth4webapi/index.js';

const PENDING = 'gridwatch.oidc.pending';
/** A sign-in not finished within this long is stale (the provider's own login may take a while). */
const PENDING_MAX_MS = 10 * 60_000;

/** The issuer and client the server configured, or null (the console then asks for a pasted token). */
export async function loginConfig() {
  const res = await fetch('login.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) return null;
  const body = await res.json();
  return body && body.oidc ? body.oidc : null;
}

/** Plain HTTP only to a provider on this machine (a test or a developer's own), never across a network. */
function requestOptions(issuer) {
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(issuer.hostname);
  return issuer.protocol === 'http:' && loopback ? { [oauth.allowInsecureRequests]: true } : {};
}

async function discover(cfg) {
  const issuer = new URL(cfg.issuer);
  const opts = requestOptions(issuer);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...opts, algorithm: 'oidc' }));
  return { as, client: { client_id: cfg.clientId }, opts };
}

const redirectUri = () => new URL('callback.html', location.href).href;

/** Sends the browser to the provider's login (this page is left). */
export async function startLogin(cfg) {
  const { as } = await discover(cfg);
  if (!as.authorization_endpoint) throw new Error(`${cfg.issuer} publishes no authorization_endpoint`);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, at: Date.now() }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', cfg.scope);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (cfg.scope.split(' ').includes('openid')) url.searchParams.set('nonce', nonce);
  location.assign(url.href);
}

/**
 * On the callback page: checks the answer against the pending request (state first: an answer this
 * tab did not ask for is refused before any code is exchanged), exchanges the code with the PKCE
 * verifier, and resolves with the access token. The pending request is used once, whatever happens.
 */
export async function finishLogin(cfg, callbackUrl) {
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  const pending = raw ? JSON.parse(raw) : null;
  if (!pending || typeof pending.state !== 'string' || Date.now() - pending.at > PENDING_MAX_MS) throw new Error('No sign-in was started from this tab (or it is too old): start again from the console.');
  const { as, client, opts } = await discover(cfg);
  let params;
  try {
    params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
  } catch (err) {
    // A wrong or missing state, or the provider's error answer (access_denied, ...).
    const reason = err && err.error ? `${err.error}${err.error_description ? `: ${err.error_description}` : ''}` : err instanceof Error ? err.message : String(err);
    throw new Error(`Sign-in refused: ${reason}`, { cause: err });
  }
  const openid = cfg.scope.split(' ').includes('openid');
  const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), pending.verifier, opts);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, openid ? { expectedNonce: pending.nonce } : {});
  if (typeof tokens.access_token !== 'string' || tokens.access_token === '') throw new Error('The provider returned no access token.');
  return tokens.access_token;
}

