import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { GridwatchError, ID_PATTERN, Validator } from '../../shared/index.ts';
import type { TopicRoute } from './validate.ts';

/**
 * Who may connect and what each device may publish. Policy only: no aedes, no sockets.
 *
 * - meter:        publishes `meters/<its id>/reading` and `meters/<its id>/event`; no subscriptions.
 * - concentrator: publishes `concentrators/<its id>/readings`, and `meters/<m>/event` for a meter m
 *                 listed in its `meters` (when the credential lists them) or, without a list, for a
 *                 meter it has already reported readings for since the gateway started. When the
 *                 credential lists `meters`, array elements for other meters are rejected.
 * - operator:     publishes nothing; may subscribe to `meters/#` and `concentrators/#` (diagnostics).
 * Nobody publishes or subscribes under `$SYS`.
 */
export const Credential = Type.Object(
  {
    // Optional since client certificates: an entry needs a passwordHash, `clientCert: true`, or both.
    passwordHash: Type.Optional(Type.String({ pattern: '^scrypt\\$' })),
    /** The device may authenticate with a client certificate whose subject CN is this entry's user name. */
    clientCert: Type.Optional(Type.Boolean()),
    kind: Type.Union([Type.Literal('meter'), Type.Literal('concentrator'), Type.Literal('operator')]),
    id: Type.String({ pattern: ID_PATTERN }),
    meters: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: 100_000 })),
  },
  { additionalProperties: false },
);
export type Credential = Static<typeof Credential>;
export const CredentialsFile = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Credential);
export type CredentialsFile = Static<typeof CredentialsFile>;

/** Identity attached to an authenticated MQTT client. `anonymous` exists only when configured. */
export type Principal =
  | { kind: 'meter'; id: string }
  | { kind: 'concentrator'; id: string; meters: ReadonlySet<string> | null }
  | { kind: 'operator'; id: string }
  | { kind: 'anonymous'; id: string };

// N=2^14, r=8, p=1: ~30-50 ms on a small ARM core, the OWASP floor for scrypt. Stored in the hash
// so that it can be raised later without invalidating existing credentials.
const SCRYPT: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>> = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

function scryptAsync(password: Buffer, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEYLEN, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * For secrets the credentials tool generated (128 random bits): N=2^10. A slow hash protects
 * guessable, human-chosen passwords; a random 128-bit secret cannot be guessed at any hash cost,
 * and a fleet of thousands of devices then costs milliseconds per device to provision and to
 * verify at the gateway. Same format, so the verifier needs no special case.
 */
export const GENERATED_SECRET_SCRYPT: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>> = { N: 1024, r: 8, p: 1 };

/** `scrypt$N$r$p$<salt base64>$<key base64>`. */
export async function hashPassword(password: string, params: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>> = SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(Buffer.from(password, 'utf8'), salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: Buffer, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length === 0) return false;
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1_048_576 }, (err, k) => (err ? reject(err) : resolve(k))),
  );
  return timingSafeEqual(key, expected);
}

export function loadCredentialsFile(path: string): CredentialsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_CREDENTIALS: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const result = credentialsValidator.validate(parsed);
  if (!result.ok) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_CREDENTIALS: ${path}: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
  const unusable = Object.entries(result.value).filter(([, c]) => c.passwordHash === undefined && c.clientCert !== true).map(([u]) => u);
  if (unusable.length > 0) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_CREDENTIALS: ${path}: ${unusable.slice(0, 5).map((u) => JSON.stringify(u)).join(', ')}: neither passwordHash nor clientCert: true`);
  }
  return result.value;
}

const credentialsValidator = new Validator(CredentialsFile);

function sameCredential(a: Credential, b: Credential): boolean {
  return a.passwordHash === b.passwordHash && a.kind === b.kind && a.id === b.id && a.clientCert === b.clientCert && JSON.stringify(a.meters ?? null) === JSON.stringify(b.meters ?? null);
}

export interface AuthPolicy {
  allowAnonymous: boolean;
  credentials: CredentialsFile;
}

/** How a client proved who it is: the user name it authenticated as (the CN for a certificate). */
export interface Authenticated {
  principal: Principal;
  username: string | null;
  via: 'password' | 'certificate' | 'anonymous';
}

/**
 * Authenticates and authorises. Successful password checks are remembered (as a SHA-256 of the
 * password, per username) so that a fleet reconnecting after an outage costs one scrypt per
 * device, not one per reconnect. `replaceCredentials` swaps in a reloaded file and names the users
 * whose entry went away or changed, so that the broker disconnects exactly those.
 */
export class Authorizer {
  private readonly verified = new Map<string, Buffer>();
  /** meterId -> concentratorId that reported it (concentrators without a `meters` list). */
  private readonly reportedBy = new Map<string, string>();
  private credentials: CredentialsFile;

  constructor(private readonly policy: AuthPolicy) {
    this.credentials = policy.credentials;
  }

  get userCount(): number {
    return Object.keys(this.credentials).length;
  }

  /**
   * Takes a new (validated) credentials file. Returns the user names removed or changed (hash,
   * kind, id, meters or clientCert): their connections were authorised by what no longer holds.
   */
  replaceCredentials(next: CredentialsFile): Set<string> {
    const stale = new Set<string>();
    for (const [user, old] of Object.entries(this.credentials)) {
      const now = Object.hasOwn(next, user) ? next[user] : undefined;
      if (!now || !sameCredential(old, now)) stale.add(user);
    }
    for (const user of stale) this.verified.delete(user);
    this.credentials = next;
    return stale;
  }

  private lookup(username: string): Credential | undefined {
    return Object.hasOwn(this.credentials, username) ? this.credentials[username] : undefined;
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<Principal | null> {
    return (await this.identify(username, password, null))?.principal ?? null;
  }

  /**
   * `certCn`: the subject CN of a client certificate the TLS listener verified against its CA
   * (null without one). A certificate counts only for an entry with `clientCert: true`, and then
   * a user name given in CONNECT must be that CN (a device cannot show one identity and claim
   * another); otherwise the password decides, as on a plain listener.
   */
  async identify(username: string | undefined, password: Buffer | undefined, certCn: string | null): Promise<Authenticated | null> {
    if (certCn !== null) {
      const byCert = this.lookup(certCn);
      if (byCert?.clientCert === true) {
        if (username !== undefined && username !== '' && username !== certCn) return null;
        return { principal: principalOf(byCert), username: certCn, via: 'certificate' };
      }
    }
    if (username === undefined || username === '') {
      return this.policy.allowAnonymous && password === undefined ? { principal: { kind: 'anonymous', id: 'anonymous' }, username: null, via: 'anonymous' } : null;
    }
    const cred = this.lookup(username);
    if (!cred?.passwordHash || password === undefined || password.length > 1024) return null;
    const digest = createHash('sha256').update(password).digest();
    const known = this.verified.get(username);
    if (!(known && timingSafeEqual(known, digest))) {
      if (!(await verifyPassword(password, cred.passwordHash))) return null;
      // The file may have been replaced during the scrypt: admit only what still holds.
      const now = this.lookup(username);
      if (!now || !sameCredential(now, cred)) return null;
      this.verified.set(username, digest);
    }
    return { principal: principalOf(cred), username, via: 'password' };
  }

  /** May this principal publish on this route? (Array elements are checked by mayReportMeter.) */
  mayPublish(p: Principal, route: TopicRoute): boolean {
    switch (p.kind) {
      case 'anonymous':
        return true;
      case 'meter':
        return route.kind !== 'readings' && route.meterId === p.id;
      case 'concentrator':
        if (route.kind === 'readings') return route.concentratorId === p.id;
        if (route.kind === 'event') return p.meters ? p.meters.has(route.meterId) : this.reportedBy.get(route.meterId) === p.id;
        return false;
      case 'operator':
        return false;
    }
  }

  /** May a concentrator's array carry this meter's reading? Remembers the pairing for events. */
  mayReportMeter(p: Principal, meterId: string): boolean {
    if (p.kind !== 'concentrator') return true;
    if (p.meters) return p.meters.has(meterId);
    if (this.reportedBy.get(meterId) !== p.id) {
      // Bounded: one entry per meter in the substation; a hostile concentrator inventing ids is
      // bounded by the map's cap (oldest pairing forgotten first).
      if (this.reportedBy.size >= 1_000_000) this.reportedBy.delete(this.reportedBy.keys().next().value!);
      this.reportedBy.set(meterId, p.id);
    }
    return true;
  }

  maySubscribe(p: Principal, topic: string): boolean {
    if (topic.startsWith('$')) return false;
    if (p.kind !== 'operator') return false;
    return topic.startsWith('meters/') || topic.startsWith('concentrators/') || topic === '#' ? topic !== '#' : false;
  }
}

function principalOf(cred: Credential): Principal {
  if (cred.kind === 'concentrator') return { kind: 'concentrator', id: cred.id, meters: cred.meters ? new Set(cred.meters) : null };
  return { kind: cred.kind, id: cred.id };
}
