/* global document, sessionStorage */
// Signing in to the console. central's API wants a bearer token on every request: an API key
// (`gridwatch credentials add-token`) or an OIDC token of the configured issuer. The console asks
// for one, checks it against /api/whoami, and keeps it in sessionStorage: it lives as long as the
// tab, is not sent anywhere by the browser on its own (unlike a cookie, so no CSRF), and the CSP
// (no inline or foreign script) is what keeps other scripts from reading it. When central has an
// OIDC login configured (/login.json), the page also offers the provider's sign-in (login.js).
import { loginConfig, startLogin } from './login.js';

const KEY = 'gridwatch.token';
const $ = (id) => document.getElementById(id);

export const token = () => sessionStorage.getItem(KEY);

/** Keeps a token the OIDC callback obtained (callback.js), as a pasted one is kept. */
export const storeToken = (t) => sessionStorage.setItem(KEY, t);

/** Headers for an API request: the bearer token when there is one. */
export function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

async function whoami(t) {
  const res = await fetch('/api/whoami', { headers: t ? { accept: 'application/json', authorization: `Bearer ${t}` } : { accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 401 || res.status === 403) return { refused: res.status };
  if (!res.ok) throw new Error(`GET /api/whoami: HTTP ${res.status}`);
  return { me: await res.json() };
}

function showSession(me) {
  $('login').hidden = true;
  $('app').hidden = false;
  // Authentication off is an explicit choice on the server; the console says so on every page.
  $('auth-none').hidden = me.auth !== 'none';
  $('session').hidden = me.auth === 'none';
  $('session-name').textContent = `${me.name} (${me.role})`;
}

/** Resolves with the caller once a token works (or the server needs none). */
export async function signIn() {
  $('sign-out').addEventListener('click', signOut);
  const stored = token();
  const first = await whoami(stored);
  if (first.me) {
    showSession(first.me);
    return first.me;
  }
  if (stored) sessionStorage.removeItem(KEY);
  $('app').hidden = true;
  $('login').hidden = false;
  $('token-input').focus();
  void offerProviderLogin();
  return new Promise((resolve) => {
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = $('token-input').value.trim();
      $('login-error').textContent = '';
      try {
        const r = await whoami(t);
        if (!r.me) {
          $('login-error').textContent = r.refused === 403 ? 'This token has no role on this console.' : 'This token is not accepted.';
          return;
        }
        sessionStorage.setItem(KEY, t);
        $('token-input').value = '';
        showSession(r.me);
        resolve(r.me);
      } catch (err) {
        $('login-error').textContent = err instanceof Error ? err.message : String(err);
      }
    });
  });
}

/** Shows the provider's sign-in button when central configured one; a failure is said on the page. */
async function offerProviderLogin() {
  let cfg;
  try {
    cfg = await loginConfig();
  } catch {
    return; // the pasted-token form still works
  }
  if (!cfg) return;
  $('oidc-login').hidden = false;
  $('oidc-issuer').textContent = new URL(cfg.issuer).host;
  $('oidc-sign-in').addEventListener('click', () => {
    $('login-error').textContent = '';
    startLogin(cfg).catch((err) => ($('login-error').textContent = `Sign-in could not start: ${err instanceof Error ? err.message : String(err)}`));
  });
}

/** Forgets the token and asks again (also when the server stops accepting it). */
export function signOut() {
  sessionStorage.removeItem(KEY);
  document.location.reload();
}
