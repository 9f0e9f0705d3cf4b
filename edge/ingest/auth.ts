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
    passwordHash: Type.String({ pattern: '^scrypt\\$' }),
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

/** `scrypt$N$r$p$<salt base64>$<key base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(Buffer.from(password, 'utf8'), salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
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
  const result = new Validator(CredentialsFile).validate(parsed);
  if (!result.ok) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_CREDENTIALS: ${path}: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
  return result.value;
}

export interface AuthPolicy {
  allowAnonymous: boolean;
  credentials: CredentialsFile;
}

/**
 * Authenticates and authorises. Successful password checks are remembered (as a SHA-256 of the
 * password, per username) so that a fleet reconnecting after an outage costs one scrypt per
 * device, not one per reconnect; a changed credentials file means a restart.
 */
export class Authorizer {
  private readonly verified = new Map<string, Buffer>();
  /** meterId -> concentratorId that reported it (concentrators without a `meters` list). */
  private readonly reportedBy = new Map<string, string>();

  constructor(private readonly policy: AuthPolicy) {}

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<Principal | null> {
    if (username === undefined || username === '') {
      return this.policy.allowAnonymous && password === undefined ? { kind: 'anonymous', id: 'anonymous' } : null;
    }
    const cred = Object.hasOwn(this.policy.credentials, username) ? this.policy.credentials[username] : undefined;
    if (!cred || password === undefined || password.length > 1024) return null;
    const digest = createHash('sha256').update(password).digest();
    const known = this.verified.get(username);
    if (!(known && timingSafeEqual(known, digest))) {
      if (!(await verifyPassword(password, cred.passwordHash))) return null;
      this.verified.set(username, digest);
    }
    if (cred.kind === 'concentrator') return { kind: 'concentrator', id: cred.id, meters: cred.meters ? new Set(cred.meters) : null };
    return { kind: cred.kind, id: cred.id };
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
