import { toEpochMs, validators, type MeterEventType, type ReadingFlag, type ValidationProblem } from '../../shared/contracts/index.ts';

/**
 * Contract checks for what meters and concentrators send. Pure: a payload and the gateway's time
 * in, an accepted value or a rejection with its reason out. Never throws on input.
 *
 * Reasons are a closed set (they are metric labels and dead-letter reasons), so hostile input can
 * never create new Prometheus series.
 */
export const REJECT_REASONS = [
  'invalid_json',
  'not_object',
  'missing_field',
  'wrong_type',
  'out_of_range',
  'non_finite',
  'topic_mismatch',
  'clock_absurd',
  'unknown_meter',
  'array_too_long',
  'unknown_topic',
  'unauthorized',
  'payload_too_large',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type TopicRoute =
  | { kind: 'reading'; meterId: string }
  | { kind: 'readings'; concentratorId: string }
  | { kind: 'event'; meterId: string };

/** `meters/{meterId}/reading`, `concentrators/{id}/readings`, `meters/{meterId}/event`; anything else: null. */
export function routeTopic(topic: string): TopicRoute | null {
  const a = topic.indexOf('/');
  if (a <= 0) return null;
  const b = topic.indexOf('/', a + 1);
  if (b <= a + 1 || topic.indexOf('/', b + 1) !== -1) return null;
  const head = topic.slice(0, a);
  const id = topic.slice(a + 1, b);
  const tail = topic.slice(b + 1);
  if (head === 'meters') {
    if (tail === 'reading') return { kind: 'reading', meterId: id };
    if (tail === 'event') return { kind: 'event', meterId: id };
  } else if (head === 'concentrators' && tail === 'readings') return { kind: 'readings', concentratorId: id };
  return null;
}

export interface ClockBounds {
  /** Tag clock_ahead beyond now + aheadTagMs. */
  aheadTagMs: number;
  /** Tag clock_behind before now - behindTagMs. */
  behindTagMs: number;
  rejectAheadMs: number;
  rejectBehindMs: number;
}

export interface AcceptedReading {
  ok: true;
  /** The sender's object with ts normalised to epoch ms (unknown fields kept, forwarded untrusted). */
  reading: Record<string, unknown> & { meterId: string; ts: number; seq?: number; voltage: number };
  /** clock_ahead / clock_behind, or null (the common case: no allocation). */
  flags: ReadingFlag[] | null;
}
export interface Rejection {
  ok: false;
  reason: RejectReason;
  detail: string;
  /** Identity of what was rejected, when the payload got far enough to say (for a `rejected` gap). */
  meterId?: string;
  seq?: number;
  ts?: number;
}
export type ReadingVerdict = AcceptedReading | Rejection;

export interface AcceptedEvent {
  ok: true;
  event: { meterId: string; ts: number; type: MeterEventType; seq?: number };
}
export type EventVerdict = AcceptedEvent | Rejection;

const FLAG_AHEAD: ReadingFlag[] = ['clock_ahead'];
const FLAG_BEHIND: ReadingFlag[] = ['clock_behind'];

/** JSON.parse without throwing. Returns `PARSE_FAILED` on invalid JSON. */
export const PARSE_FAILED = Symbol('parse_failed');
export function parseJson(payload: Buffer | string): unknown {
  try {
    return JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return PARSE_FAILED;
  }
}

/**
 * Checks one reading. `topicMeterId` is the meter named by the topic (single readings) or null
 * (concentrator arrays). The compiled check runs first; the error walk only on failure.
 */
export function checkReading(value: unknown, topicMeterId: string | null, now: number, bounds: ClockBounds): ReadingVerdict {
  if (!validators.reading.check(value)) return contractRejection(value, validators.reading.validate(value));
  const r = value as AcceptedReading['reading'];
  if (topicMeterId !== null && r.meterId !== topicMeterId) {
    return { ok: false, reason: 'topic_mismatch', detail: `meterId ${r.meterId} in a message on meters/${topicMeterId}/reading`, meterId: topicMeterId };
  }
  const ts = typeof r.ts === 'number' ? r.ts : toEpochMs(r.ts);
  const clock = judgeClock(ts, now, bounds);
  if (clock === 'absurd') return absurd(r.meterId, r.seq, ts, now);
  if (typeof r.ts !== 'number') r.ts = ts;
  return { ok: true, reading: r, flags: clock };
}

export function checkEvent(value: unknown, topicMeterId: string, now: number, bounds: ClockBounds): EventVerdict {
  if (!validators.meterEvent.check(value)) return contractRejection(value, validators.meterEvent.validate(value));
  if (value.meterId !== topicMeterId) {
    return { ok: false, reason: 'topic_mismatch', detail: `meterId ${value.meterId} in a message on meters/${topicMeterId}/event`, meterId: topicMeterId };
  }
  const ts = toEpochMs(value.ts);
  if (judgeClock(ts, now, bounds) === 'absurd') return absurd(value.meterId, value.seq, ts, now);
  return { ok: true, event: { meterId: value.meterId, ts, type: value.type, ...(value.seq === undefined ? {} : { seq: value.seq }) } };
}

function judgeClock(ts: number, now: number, b: ClockBounds): ReadingFlag[] | null | 'absurd' {
  const ahead = ts - now;
  if (ahead > b.aheadTagMs) return ahead > b.rejectAheadMs ? 'absurd' : FLAG_AHEAD;
  if (-ahead > b.behindTagMs) return -ahead > b.rejectBehindMs ? 'absurd' : FLAG_BEHIND;
  return null;
}

function absurd(meterId: string, seq: number | undefined, ts: number, now: number): Rejection {
  return {
    ok: false,
    reason: 'clock_absurd',
    detail: `ts ${new Date(ts).toISOString()} is ${Math.round((ts - now) / 1000)} s from the gateway clock`,
    meterId,
    ...(seq === undefined ? {} : { seq }),
  };
}

/** Turns a failed contract check into one reason from the closed set, with the field paths as detail. */
export function contractRejection(value: unknown, result: { ok: true } | { ok: false; problems: ValidationProblem[] }): Rejection {
  const problems = result.ok ? [] : result.problems;
  const detail = problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ').slice(0, 500);
  const identity = identityOf(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not_object', detail: detail || 'expected a JSON object', ...identity };
  return { ok: false, reason: classify(value as Record<string, unknown>, problems), detail, ...identity };
}

function classify(obj: Record<string, unknown>, problems: ValidationProblem[]): RejectReason {
  for (const p of problems) {
    const v = obj[p.path.slice(1)];
    if (typeof v === 'number' && !Number.isFinite(v)) return 'non_finite';
  }
  const first = problems[0]?.message ?? '';
  if (/required/i.test(first) || (problems[0] !== undefined && problems[0].path !== '' && obj[problems[0].path.slice(1)] === undefined)) return 'missing_field';
  if (/less|greater|length|match|format/i.test(first) && !problems.some((p) => /Expected (number|integer|string|boolean)$/.test(p.message))) return 'out_of_range';
  return 'wrong_type';
}

/** meterId/seq/ts of a rejected payload when they are well-formed, so the rejection can be a gap. */
function identityOf(value: unknown): { meterId?: string; seq?: number; ts?: number } {
  if (value === null || typeof value !== 'object') return {};
  const v = value as Record<string, unknown>;
  const out: { meterId?: string; seq?: number; ts?: number } = {};
  if (typeof v.meterId === 'string' && METER_ID.test(v.meterId)) out.meterId = v.meterId;
  if (Number.isSafeInteger(v.seq) && (v.seq as number) >= 0) out.seq = v.seq as number;
  if (typeof v.ts === 'number' && Number.isSafeInteger(v.ts) && v.ts >= 0) out.ts = v.ts;
  else if (typeof v.ts === 'string' && v.ts.length <= 40) {
    const t = Date.parse(v.ts);
    if (Number.isFinite(t) && t >= 0) out.ts = t;
  }
  return out;
}
const METER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
