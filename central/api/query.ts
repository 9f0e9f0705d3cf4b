// Query strings of the API as TypeBox schemas: fastify validates every request against them (the
// same schemas are the OpenAPI document's parameters), an unknown or repeated parameter is refused
// (a typo must not silently widen a query), and each refusal says which parameter and what was
// expected. The parse* functions run the same validator on a URLSearchParams (tests, tools).
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { ID_PATTERN, toEpochMs } from '../../shared/index.ts';
import type { AnomalyFilter, EventFilter } from './store.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

const ID_EXPECTED = 'an id (1-64 chars: letters, digits, . _ : -)';
const TIME_EXPECTED = 'epoch milliseconds or an ISO-8601 date-time';
const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)), { description: `one of ${values.join(', ')}` });
const IdParam = Type.String({ pattern: ID_PATTERN, description: ID_EXPECTED });
// A time is checked by `time()` below (two syntaxes); the schema only says what it is.
const TimeParam = Type.String({ minLength: 1, maxLength: 64, description: TIME_EXPECTED });
const LimitParam = Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `an integer in 1..${MAX_LIMIT} (default ${DEFAULT_LIMIT})` });
const State = oneOf(['open', 'closed'] as const);

export const EventQuery = Type.Object(
  {
    state: Type.Optional(State),
    scope: Type.Optional(oneOf(['meter', 'transformer', 'feeder', 'substation', 'grid'] as const)),
    substation: Type.Optional(IdParam),
    type: Type.Optional(IdParam),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    limit: Type.Optional(LimitParam),
  },
  { additionalProperties: false },
);
export const AnomalyQuery = Type.Object(
  {
    state: Type.Optional(State),
    type: Type.Optional(IdParam),
    meter: Type.Optional(IdParam),
    substation: Type.Optional(IdParam),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    limit: Type.Optional(LimitParam),
  },
  { additionalProperties: false },
);
export const TopologyQuery = Type.Object(
  { substation: Type.Optional(IdParam), tree: Type.Optional(oneOf(['1', 'true', '0', 'false'] as const)) },
  { additionalProperties: false },
);
/** Routes that take no parameters refuse any. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** Thrown for a request the schema lets through but the meaning does not (from after to). */
export class Refusal extends Error {}

export type QueryCheck = (value: unknown) => { value: unknown } | { error: Error };

/**
 * A validator of one query-string schema in fastify's shape. Values arrive as strings (an array
 * when a parameter is repeated); they are converted to the schema's types, then checked.
 */
export function compileQuery(schema: TObject): QueryCheck {
  const check = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return (raw) => {
    const input = (raw ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(input)) {
      if (!known.includes(k)) return { error: new Refusal(`unknown parameter ${JSON.stringify(k.slice(0, 80))}${known.length ? ` (known: ${known.join(', ')})` : ': this route takes no parameters'}`) };
      if (Array.isArray(v)) return { error: new Refusal(`${k}: given ${v.length} times, expected once`) };
    }
    const value = Value.Convert(schema, { ...input });
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    const key = first?.path.split('/')[1] ?? '';
    if (first?.type === ValueErrorType.ObjectAdditionalProperties) return { error: new Refusal(`unknown parameter ${JSON.stringify(key.slice(0, 80))}`) };
    const prop = schema.properties[key] as TSchema | undefined;
    const given = JSON.stringify(String(input[key] ?? '').slice(0, 80));
    return { error: new Refusal(`${key}=${given}: expected ${prop?.description ?? first?.message ?? 'a valid value'}`) };
  };
}

/** Epoch milliseconds or ISO-8601 (throws a Refusal naming the parameter). */
export function time(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? toEpochMs(v) : NaN;
  if (!Number.isSafeInteger(t) || t < 0) throw new Refusal(`${name}=${JSON.stringify(v.slice(0, 80))}: expected ${TIME_EXPECTED}`);
  return t;
}

export function range(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && from > to) throw new Refusal('from is after to');
}

/** Drops the keys whose value is undefined (filters are matched by presence). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A validated `/api/events` query as the store's filter (throws a Refusal). */
export function eventFilter(q: Static<typeof EventQuery>): EventFilter {
  const from = time('from', q.from);
  const to = time('to', q.to);
  range(from, to);
  return defined({ limit: q.limit ?? DEFAULT_LIMIT, state: q.state, scope: q.scope, substation: q.substation, type: q.type, from, to });
}

/** A validated `/api/anomalies` query as the store's filter (throws a Refusal). */
export function anomalyFilter(q: Static<typeof AnomalyQuery>): AnomalyFilter {
  const from = time('from', q.from);
  const to = time('to', q.to);
  range(from, to);
  return defined({ limit: q.limit ?? DEFAULT_LIMIT, state: q.state, type: q.type, meter: q.meter, substation: q.substation, from, to });
}

/** `/api/topology?substation=` or `?tree=1` (every substation with its feeders and transformers). */
export function topologyFilter(q: Static<typeof TopologyQuery>): { substation?: string; tree?: boolean } {
  const wantTree = q.tree === '1' || q.tree === 'true';
  if (q.substation !== undefined && wantTree) throw new Refusal('substation and tree=1 exclude each other (one substation is already its tree)');
  return q.substation !== undefined ? { substation: q.substation } : wantTree ? { tree: true } : {};
}

function parseWith<S extends TObject, T>(schema: S, convert: (q: Static<S>) => T): (q: URLSearchParams) => Parsed<T> {
  const check = compileQuery(schema);
  return (q) => {
    const raw: Record<string, string | string[]> = {};
    for (const k of new Set(q.keys())) {
      const all = q.getAll(k);
      raw[k] = all.length === 1 ? all[0]! : all;
    }
    const r = check(raw);
    if ('error' in r) return { ok: false, reason: r.error.message };
    try {
      return { ok: true, value: convert(r.value as Static<S>) };
    } catch (err) {
      if (err instanceof Refusal) return { ok: false, reason: err.message };
      throw err;
    }
  };
}

export const parseEventQuery = parseWith(EventQuery, eventFilter);
export const parseAnomalyQuery = parseWith(AnomalyQuery, anomalyFilter);
export const parseTopologyQuery = parseWith(TopologyQuery, topologyFilter);

/**
 * A path segment that must be an id (meter, event), as the router decoded it. Event ids may be
 * longer than device ids.
 */
export function parsePathId(v: string, what: string, maxLength = 64, pattern = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/): Parsed<string> {
  if (v.length === 0 || v.length > maxLength || !pattern.test(v)) return { ok: false, reason: `${what} ${JSON.stringify(v.slice(0, 80))}: expected an id` };
  return { ok: true, value: v };
}
