import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TOPICS, type Anomaly, type Clock, type Gap, type MeterEventType, type ReadingFlag } from '../../shared/index.ts';
import type { DetectResult, ReadingIn } from '../detect/index.ts';
import type { RollingCheckpoints } from './checkpoints.ts';
import type { MeterDirectory } from './meters.ts';
import type { Authorizer, Principal } from './auth.ts';
import type { CommitUnit, Committer, DeadLetter } from './ports.ts';
import { spliceAt, spliceForwarded } from './forwarded-text.ts';
import { checkEvent, checkReading, contractRejection, parseJson, PARSE_FAILED, REJECT_REASONS, routeTopic, type ClockBounds, type RejectReason, type Rejection } from './validate.ts';

/** The detector as the intake uses it (edge/detect's Detector satisfies it). */
export interface DetectorPort {
  onReading(r: ReadingIn): DetectResult;
  onMeterEvent(e: { meterId: string; ts: number; type: MeterEventType }): Anomaly[];
  takeDirty(): string[];
  exportMeter(id: string): unknown;
}

export interface IntakeOptions {
  edgeId: string;
  substationId: string | null;
  detector: DetectorPort;
  committer: Committer;
  authorizer: Authorizer;
  clock: Clock;
  /** Loaded topology, or null: every meter is then unassigned. */
  /** Topology view of each meter; `hasTopology` false means every meter is unassigned by design. */
  meters: MeterDirectory;
  unknownMeterPolicy: 'accept' | 'reject';
  bounds: ClockBounds;
  maxArrayReadings: number;
  /** Rolling detector checkpoints riding on commit units (./checkpoints.ts; null: none, for tests of the intake alone). */
  checkpoints: RollingCheckpoints | null;
  /** Kafka topic names; tests override them to stay apart. */
  topics?: Partial<typeof TOPICS>;
  /** Called once a message's unit is durable: publish->commit in ms and readings accepted. */
  onCommitted?: (latencyMs: number, readings: number) => void;
}

/** Outcome handed back to the transport: undefined = durable (ack it), an Error = do not ack, drop the client. */
export type IntakeDone = (err?: Error) => void;

/** Dead-letter payloads are kept up to this size: enough to see what was wrong, bounded on disk. */
export const DEAD_LETTER_PAYLOAD_BYTES = 4096;

export class UnauthorizedPublish extends Error {
  constructor(readonly reason: RejectReason, message: string) {
    super(message);
    this.name = 'UnauthorizedPublish';
  }
}


/** Counts kept as plain numbers on the hot path and read by the metrics collector. */
export class IntakeCounts {
  accepted = 0;
  duplicates = 0;
  messages = 0;
  events = 0;
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  readonly anomalies = new Map<string, number>();
  rejectedTotal(): number {
    let n = 0;
    for (const r of REJECT_REASONS) n += this.rejected[r];
    return n;
  }
}

/**
 * One MQTT message in, one commit unit out: route -> authorise -> parse -> validate -> topology
 * -> detect -> outbox records (+ detector state, dead letters, rejection gaps) -> group commit.
 * Synchronous up to `committer.submit`, so units are submitted in arrival order.
 */
export class Intake {
  readonly counts = new IntakeCounts();
  private readonly topics: typeof TOPICS;
  private readonly edgeIdJson: string;
  /** Median of recent receivedAt - ts, or null before any reading. */
  medianSkewMs(): number | null {
    const n = Math.min(this.skewCount, this.skew.length);
    if (n === 0) return null;
    const a = Array.from(this.skew.subarray(0, n)).sort((x, y) => x - y);
    return a[n >> 1]!;
  }

  /** Recent receivedAt - ts, for the heartbeat's clock state (a ring, written on every reading). */
  readonly skew = new Float64Array(256);
  private skewAt = 0;
  skewCount = 0;

  constructor(private readonly o: IntakeOptions) {
    this.topics = { ...TOPICS, ...o.topics };
    this.edgeIdJson = JSON.stringify(o.edgeId);
  }

  /**
   * Handles one PUBLISH. `done()` once everything it produced is committed (the transport then
   * acks); `done(err)` when it must not be acked (unauthorised, or the commit failed).
   */
  onPublish(principal: Principal, clientId: string | null, topic: string, payload: Buffer, done: IntakeDone): void {
    const t0 = performance.now();
    const receivedAt = this.o.clock.now();
    this.counts.messages++;
    const route = routeTopic(topic);
    if (route === null) return this.deny('unknown_topic', `no device may publish on ${topic.slice(0, 128)}`, done);
    if (!this.o.authorizer.mayPublish(principal, route)) return this.deny('unauthorized', `${principal.kind} ${principal.id} may not publish on ${topic}`, done);

    const unit: CommitUnit = { records: [] };
    // The text is kept for a single reading: its forwarded value is this text plus the gateway's fields (./forwarded-text.ts).
    const text = payload.toString('utf8');
    const value = parseJson(text);
    let accepted = 0;
    if (value === PARSE_FAILED) {
      this.reject(unit, receivedAt, topic, clientId, { ok: false, reason: 'invalid_json', detail: 'payload is not valid JSON' }, payload);
    } else if (route.kind === 'reading') {
      accepted += this.reading(unit, value, route.meterId, receivedAt, topic, clientId, payload, text);
    } else if (route.kind === 'readings') {
      if (!Array.isArray(value)) {
        this.reject(unit, receivedAt, topic, clientId, contractRejection(value, { ok: false, problems: [{ path: '', message: 'Expected array' }] }), payload);
      } else if (value.length > this.o.maxArrayReadings) {
        this.reject(unit, receivedAt, topic, clientId, { ok: false, reason: 'array_too_long', detail: `${value.length} readings; at most ${this.o.maxArrayReadings} per message` }, payload);
      } else {
        for (const el of value) {
          if (principal.kind === 'concentrator' && el !== null && typeof el === 'object' && typeof (el as { meterId?: unknown }).meterId === 'string') {
            const meterId = (el as { meterId: string }).meterId;
            if (!this.o.authorizer.mayReportMeter(principal, meterId)) {
              this.reject(unit, receivedAt, topic, clientId, { ok: false, reason: 'unauthorized', detail: `concentrator ${principal.id} does not report meter ${meterId.slice(0, 64)}` }, el);
              continue;
            }
          }
          accepted += this.reading(unit, el, null, receivedAt, topic, clientId, el, null);
        }
      }
    } else {
      this.event(unit, value, route.meterId, receivedAt, topic, clientId, payload);
    }
    this.counts.accepted += accepted;
    if (unit.records.length === 0 && unit.deadLetters === undefined && route.kind !== 'event') return done();
    this.attachCheckpoint(unit, route.kind === 'event' ? [route.meterId] : null);
    const onCommitted = this.o.onCommitted;
    this.o.committer.submit(unit, (err) => {
      if (err) return done(err);
      if (onCommitted) onCommitted(performance.now() - t0, accepted);
      done();
    });
  }

  /** `text`: the JSON text `value` was parsed from (a single reading), or null (an element of an array). */
  private reading(unit: CommitUnit, value: unknown, topicMeterId: string | null, receivedAt: number, topic: string, clientId: string | null, raw: unknown, text: string | null): number {
    // The check turns an ISO ts into epoch ms: then the text no longer says what is forwarded.
    const tsAsSent = text !== null && value !== null && typeof value === 'object' && typeof (value as { ts?: unknown }).ts === 'number';
    const v = checkReading(value, topicMeterId, receivedAt, this.o.bounds);
    if (!v.ok) {
      this.reject(unit, receivedAt, topic, clientId, v, raw);
      return 0;
    }
    const r = v.reading;
    const ctx = this.o.meters.context(r.meterId);
    if (!ctx.assigned && this.o.meters.hasTopology && this.o.unknownMeterPolicy === 'reject') {
      this.reject(unit, receivedAt, topic, clientId, { ok: false, reason: 'unknown_meter', detail: `meter ${r.meterId} is not in the topology`, meterId: r.meterId, ...(r.seq === undefined ? {} : { seq: r.seq }), ts: r.ts }, raw);
      return 0;
    }
    this.skew[this.skewAt] = receivedAt - r.ts;
    this.skewAt = (this.skewAt + 1) & 255;
    this.skewCount++;
    const det = this.o.detector.onReading(r as ReadingIn);
    this.noteMeter(r.meterId);
    this.anomalies(unit, det.anomalies);
    let flags: ReadingFlag[] | null = v.flags;
    if (det.flags.length > 0) {
      // A repeat of a seq already taken (a QoS 1 redelivery whose PUBACK was lost) is not forwarded again.
      if (det.flags.includes('duplicate_seq')) {
        this.counts.duplicates++;
        return 0;
      }
      flags = flags === null ? [...det.flags] : [...flags, ...det.flags];
    }
    if (!ctx.assigned) flags = flags === null ? ['unassigned'] : [...flags, 'unassigned'];
    const out = r as Record<string, unknown>;
    const readingId = r.seq === undefined ? `${r.meterId}:h:${contentHash(r)}` : `${r.meterId}:${r.seq}`;
    const close = tsAsSent ? spliceAt(text, out) : -1;
    if (close >= 0) {
      const forwarded = spliceForwarded(text!, close, { readingId, edgeIdJson: this.edgeIdJson, idsJson: ctx.idsJson, receivedAt, flags });
      unit.records.push({ topic: this.topics.readings, key: r.meterId, value: forwarded, lane: 'readings', ts: r.ts, meterId: r.meterId, seq: r.seq ?? null });
      return 1;
    }
    out.readingId = readingId;
    out.edgeId = this.o.edgeId;
    out.substationId = ctx.substationId;
    out.feederId = ctx.feederId;
    out.transformerId = ctx.transformerId;
    out.receivedAt = receivedAt;
    if (flags !== null) out.flags = flags;
    else if (out.flags !== undefined) delete out.flags; // the sender's own `flags` are not ours to forward
    unit.records.push({ topic: this.topics.readings, key: r.meterId, value: JSON.stringify(out), lane: 'readings', ts: r.ts, meterId: r.meterId, seq: r.seq ?? null });
    return 1;
  }

  private event(unit: CommitUnit, value: unknown, meterId: string, receivedAt: number, topic: string, clientId: string | null, raw: Buffer): void {
    const v = checkEvent(value, meterId, receivedAt, this.o.bounds);
    if (!v.ok) return this.reject(unit, receivedAt, topic, clientId, v, raw);
    const ctx = this.o.meters.context(meterId);
    if (!ctx.assigned && this.o.meters.hasTopology && this.o.unknownMeterPolicy === 'reject') {
      return this.reject(unit, receivedAt, topic, clientId, { ok: false, reason: 'unknown_meter', detail: `meter ${meterId} is not in the topology`, meterId }, raw);
    }
    this.counts.events++;
    this.anomalies(unit, this.o.detector.onMeterEvent(v.event));
    this.noteMeter(meterId);
  }

  /** Records anomalies the detector produced (dropout timer, tick) outside any message. */
  commitAnomalies(anomalies: Anomaly[], done: IntakeDone): void {
    const unit: CommitUnit = { records: [] };
    this.anomalies(unit, anomalies);
    if (unit.records.length === 0) return done();
    // Tick-driven changes (dropout) are not in the replay journal: checkpoint those meters now.
    this.attachCheckpoint(unit, [...new Set(anomalies.map((a) => a.meterId))]);
    this.o.committer.submit(unit, done);
  }

  private anomalies(unit: CommitUnit, list: Anomaly[]): void {
    for (const a of list) {
      unit.records.push({ topic: this.topics.anomalies, key: a.substationId ?? this.o.substationId ?? this.o.edgeId, value: JSON.stringify(a), lane: 'control', ts: a.detectedAt, meterId: a.meterId, seq: null });
      const key = `${a.type}:${a.state}`;
      this.counts.anomalies.set(key, (this.counts.anomalies.get(key) ?? 0) + 1);
    }
  }

  private attachCheckpoint(unit: CommitUnit, alsoMeters: string[] | null): void {
    this.o.checkpoints?.attach(unit, alsoMeters);
  }

  private noteMeter(id: string): void {
    this.o.checkpoints?.noteMeter(id);
  }

  private reject(unit: CommitUnit, receivedAt: number, topic: string, clientId: string | null, r: Rejection, raw: unknown): void {
    this.counts.rejected[r.reason]++;
    const dl: DeadLetter = { receivedAt, topic, clientId, reason: r.reason, detail: r.detail.slice(0, 1000), payload: deadLetterPayload(raw) };
    (unit.deadLetters ??= []).push(dl);
    if (r.meterId !== undefined && r.seq !== undefined) {
      // A rejected reading with an identity is a hole in that meter's sequence: say so on grid.gaps.
      const ts = r.ts ?? receivedAt;
      const gap: Gap = {
        gapId: `${this.o.edgeId}:rejected:${r.meterId}:${r.seq}:${receivedAt}`,
        edgeId: this.o.edgeId,
        meterId: r.meterId,
        reason: 'rejected',
        detail: `${r.reason}: ${r.detail}`.slice(0, 256),
        fromTs: ts,
        toTs: ts,
        fromSeq: r.seq,
        toSeq: r.seq,
        count: 1,
        recordedAt: receivedAt,
      };
      unit.records.push({ topic: this.topics.gaps, key: this.o.edgeId, value: JSON.stringify(gap), lane: 'control', ts: receivedAt, meterId: r.meterId, seq: null });
    }
  }

  /** Counts a publish the broker refused before it reached the intake (an oversized packet). */
  countRefused(reason: RejectReason): void {
    this.counts.rejected[reason]++;
  }

  private deny(reason: RejectReason, message: string, done: IntakeDone): void {
    this.counts.rejected[reason]++;
    done(new UnauthorizedPublish(reason, message));
  }
}

function contentHash(r: object): string {
  return createHash('sha1').update(JSON.stringify(r)).digest('base64url').slice(0, 22);
}

function deadLetterPayload(raw: unknown): Buffer | string {
  if (Buffer.isBuffer(raw)) return raw.length > DEAD_LETTER_PAYLOAD_BYTES ? raw.subarray(0, DEAD_LETTER_PAYLOAD_BYTES) : raw;
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return text.length > DEAD_LETTER_PAYLOAD_BYTES ? text.slice(0, DEAD_LETTER_PAYLOAD_BYTES) : text;
}
