// Query-string parsing for the API: every parameter is checked, an unknown one is refused (a typo
// must not silently widen a query), and each refusal says which parameter and what was expected.
import { ID_PATTERN, toEpochMs } from '../../shared/index.ts';
import type { AnomalyFilter, EventFilter } from './store.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const SCOPES = ['meter', 'transformer', 'feeder', 'substation', 'grid'] as const;
const STATES = ['open', 'closed'] as const;
const ID = new RegExp(ID_PATTERN);
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

class Refusal extends Error {}

function single(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw new Refusal(`${name}: given ${all.length} times, expected once`);
  return all[0];
}

function oneOf<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new Refusal(`${name}=${JSON.stringify(v)}: expected one of ${allowed.join(', ')}`);
  return v as T;
}

function id(q: URLSearchParams, name: string): string | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  if (!ID.test(v)) throw new Refusal(`${name}=${JSON.stringify(v.slice(0, 80))}: expected an id (1-64 chars: letters, digits, . _ : -)`);
  return v;
}

/** Epoch milliseconds or ISO-8601. */
function time(q: URLSearchParams, name: string): number | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? toEpochMs(v) : NaN;
  if (!Number.isSafeInteger(t) || t < 0) throw new Refusal(`${name}=${JSON.stringify(v.slice(0, 80))}: expected epoch milliseconds or an ISO-8601 date-time`);
  return t;
}

function limit(q: URLSearchParams): number {
  const v = single(q, 'limit');
  if (v === undefined) return DEFAULT_LIMIT;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_LIMIT) throw new Refusal(`limit=${JSON.stringify(v.slice(0, 80))}: expected an integer in 1..${MAX_LIMIT}`);
  return n;
}

function known(q: URLSearchParams, names: string[]): void {
  for (const k of q.keys()) if (!names.includes(k)) throw new Refusal(`unknown parameter ${JSON.stringify(k.slice(0, 80))} (known: ${names.join(', ')})`);
}

function range(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && from > to) throw new Refusal('from is after to');
}

function parse<T>(fn: () => T): Parsed<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.message };
    throw err;
  }
}

/** `/api/events?state=open|closed&scope=&substation=&type=&from=&to=&limit=` */
export function parseEventQuery(q: URLSearchParams): Parsed<EventFilter> {
  return parse(() => {
    known(q, ['state', 'scope', 'substation', 'type', 'from', 'to', 'limit']);
    const f: EventFilter = { limit: limit(q) };
    const state = oneOf(q, 'state', STATES);
    const scope = oneOf(q, 'scope', SCOPES);
    const substation = id(q, 'substation');
    const type = id(q, 'type');
    const from = time(q, 'from');
    const to = time(q, 'to');
    range(from, to);
    if (state !== undefined) f.state = state;
    if (scope !== undefined) f.scope = scope;
    if (substation !== undefined) f.substation = substation;
    if (type !== undefined) f.type = type;
    if (from !== undefined) f.from = from;
    if (to !== undefined) f.to = to;
    return f;
  });
}

/** `/api/anomalies?state=&type=&meter=&substation=&from=&to=&limit=` */
export function parseAnomalyQuery(q: URLSearchParams): Parsed<AnomalyFilter> {
  return parse(() => {
    known(q, ['state', 'type', 'meter', 'substation', 'from', 'to', 'limit']);
    const f: AnomalyFilter = { limit: limit(q) };
    const state = oneOf(q, 'state', STATES);
    const type = id(q, 'type');
    const meter = id(q, 'meter');
    const substation = id(q, 'substation');
    const from = time(q, 'from');
    const to = time(q, 'to');
    range(from, to);
    if (state !== undefined) f.state = state;
    if (type !== undefined) f.type = type;
    if (meter !== undefined) f.meter = meter;
    if (substation !== undefined) f.substation = substation;
    if (from !== undefined) f.from = from;
    if (to !== undefined) f.to = to;
    return f;
  });
}

/** `/api/topology?substation=` or `/api/topology?tree=1` (every substation with its feeders and transformers). */
export function parseTopologyQuery(q: URLSearchParams): Parsed<{ substation?: string; tree?: boolean }> {
  return parse(() => {
    known(q, ['substation', 'tree']);
    const substation = id(q, 'substation');
    const tree = oneOf(q, 'tree', ['1', 'true', '0', 'false'] as const);
    const wantTree = tree === '1' || tree === 'true';
    if (substation !== undefined && wantTree) throw new Refusal('substation and tree=1 exclude each other (one substation is already its tree)');
    return substation !== undefined ? { substation } : wantTree ? { tree: true } : {};
  });
}

/** A path segment that must be an id (meter, event). Event ids may be longer than device ids. */
export function parsePathId(raw: string, what: string, maxLength = 64, pattern = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/): Parsed<string> {
  let v: string;
  try {
    v = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: `${what}: not valid percent-encoding` };
  }
  if (v.length === 0 || v.length > maxLength || !pattern.test(v)) return { ok: false, reason: `${what} ${JSON.stringify(v.slice(0, 80))}: expected an id` };
  return { ok: true, value: v };
}
