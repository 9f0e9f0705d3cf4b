/* global document, location, history */
// The page the identity provider sends the browser back to (the redirect URI <console>/callback.html).
// It finishes the sign-in login.js started, keeps the access token where auth.js looks for it, and
// goes to the console. The code and state are taken out of the address bar first, so that neither
// stays in the history; anything refused is said on the page and nothing is stored.
import { storeToken } from './auth.js';
import { finishLogin, loginConfig } from './login.js';

const $ = (id) => document.getElementById(id);
const answer = new URL(location.href);
history.replaceState(null, '', answer.pathname);

try {
  const cfg = await loginConfig();
  if (!cfg) throw new Error('This central has no OIDC sign-in configured.');
  storeToken(await finishLogin(cfg, answer));
  location.replace('./');
} catch (err) {
  $('callback-status').textContent = 'Not signed in.';
  $('callback-error').textContent = err instanceof Error ? err.message : String(err);
  $('callback-back').hidden = false;
}
