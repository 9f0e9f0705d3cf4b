import { GridwatchError } from './errors.ts';

/**
 * The one parser of durations given by people (command-line flags, scenario files, settings).
 * A duration always carries its unit: a bare number is refused, because `--duration 120` was
 * read as 120 ms and ran a simulation of a tenth of a second without a word.
 */
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** What the error messages show as the accepted forms. */
export const DURATION_FORMS = '120s, 2m, 1.5h, 250ms or 1d';

/** "250ms", "90s", "10m", "1.5h", "2d" -> milliseconds. `what` names the flag or setting in the message. */
export function parseDuration(value: unknown, what = 'duration'): number {
  const text = typeof value === 'string' ? value.trim() : null;
  const m = text === null ? null : DURATION.exec(text);
  if (m) return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  const bare = typeof value === 'number' || (text !== null && /^\d+(?:\.\d+)?$/.test(text));
  const why = bare ? 'a duration needs a unit' : 'expected a duration';
  throw new GridwatchError('CONFIG_INVALID', `${what}: ${why}, like ${DURATION_FORMS}; got ${JSON.stringify(value)}`);
}

/** Whether `value` is a duration `parseDuration` accepts. */
export function isDuration(value: unknown): boolean {
  return typeof value === 'string' && DURATION.test(value.trim());
}

/** Milliseconds as the shortest exact duration text (`formatDuration(120_000)` = "2m"), for messages and flags. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit]! && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}
