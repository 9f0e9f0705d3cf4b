import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

// RFC 3339 date-time with a zone (what ISO-8601 senders produce), checked by shape then by
// Date.parse so that 2026-02-30 is refused.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && isRealDate(v));
}

function isRealDate(v: string): boolean {
  const t = Date.parse(v);
  if (Number.isNaN(t)) return false;
  // Date.parse rolls 2026-02-30 over to March; compare the calendar date back.
  const day = v.slice(0, 10);
  const offsetMatch = /([+-])(\d{2}):?(\d{2})$/.exec(v);
  const offsetMin = offsetMatch ? (offsetMatch[1] === '-' ? -1 : 1) * (Number(offsetMatch[2]) * 60 + Number(offsetMatch[3])) : 0;
  return new Date(t + offsetMin * 60_000).toISOString().slice(0, 10) === day;
}

export interface ValidationProblem {
  /** JSON pointer of the offending field, `` for the whole value. */
  path: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: ValidationProblem[] };

/** At most this many problems are collected per value: a hostile payload cannot make us list millions. */
export const MAX_PROBLEMS = 20;

/**
 * A compiled validator for one contract. `check` is the hot-path boolean; `validate` returns every
 * problem with its field path (bounded), and runs the slower error walk only when `check` fails.
 */
export class Validator<S extends TSchema> {
  readonly schema: S;
  private readonly compiled: TypeCheck<S>;

  constructor(schema: S) {
    this.schema = schema;
    this.compiled = TypeCompiler.Compile(schema);
  }

  check(value: unknown): value is Static<S> {
    return this.compiled.Check(value);
  }

  validate(value: unknown): Validated<Static<S>> {
    if (this.compiled.Check(value)) return { ok: true, value };
    const problems: ValidationProblem[] = [];
    for (const e of this.compiled.Errors(value)) {
      problems.push({ path: e.path, message: e.message });
      if (problems.length >= MAX_PROBLEMS) break;
    }
    return { ok: false, problems: collapseUnionNoise(problems) };
  }
}

// TypeBox reports a failed union once per branch plus once for the union; keep the first message
// per path so that a reason reads "/ts: Expected union value" rather than three lines.
function collapseUnionNoise(problems: ValidationProblem[]): ValidationProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => (seen.has(p.path) ? false : (seen.add(p.path), true)));
}

export function formatProblems(problems: ValidationProblem[]): string {
  return problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ');
}

/** Normalises a contract timestamp (epoch ms or ISO-8601) to epoch milliseconds. */
export function toEpochMs(ts: number | string): number {
  return typeof ts === 'number' ? ts : Date.parse(ts);
}
