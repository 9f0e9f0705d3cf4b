// The one decode-validate-count step of both consumer flows, and the topic -> handler table type.
// A record that is not valid JSON of its topic's contract is counted in
// central_records_invalid_total{topic} and goes no further (the archive still has it).
import type { Batch } from 'kafkajs';
import { decodeForwardedReadings, isAvroReadingBatch, isAvroSingleObject, READINGS_BATCH_CONTRACT, UnknownEncoding } from '../../shared/contracts/forwarded-reading-avro.ts';
import type { CentralMetrics } from '../metrics.ts';

/** One record, as the handlers see it. */
export interface InRecord<T> {
  key: string | null;
  value: T;
  partition: number;
  offset: string;
  timestamp: string;
}

interface Check<T> {
  check(v: unknown): v is T;
}

/** A handler of one topic: `contract` decodes and validates the value first; without one the raw text (or null, a tombstone) is passed. */
export type TopicHandler<Ctx> =
  | { contract: Check<unknown>; handle(r: InRecord<never>, ctx: Ctx): void }
  | { contract?: undefined; handle(r: InRecord<string | null>, ctx: Ctx): void };

/** A handler for records of one contract (typed by the validator). */
export function onContract<T, Ctx>(contract: Check<T>, handle: (r: InRecord<T>, ctx: Ctx) => void): TopicHandler<Ctx> {
  return { contract, handle: handle as (r: InRecord<never>, ctx: Ctx) => void };
}

/** A handler for the raw text of records (topology and state records, readings kept as text). */
export function onRaw<Ctx>(handle: (r: InRecord<string | null>, ctx: Ctx) => void): TopicHandler<Ctx> {
  return { handle };
}

/** Decodes, validates and counts one record value; undefined when it goes no further. */
export function decode(topic: string, value: string, contract: Check<unknown>, invalid: CentralMetrics['invalid']): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    invalid.inc({ topic });
    return undefined;
  }
  if (!contract.check(parsed)) {
    invalid.inc({ topic });
    return undefined;
  }
  return parsed;
}

/**
 * A record value as JSON text. grid.readings may come in the Avro single-object encoding (the
 * edge's GRIDWATCH_READINGS_ENCODING=avro; shared/contracts/forwarded-reading-avro.ts): it is
 * decoded here, once, back to the JSON contract's text, so every step after (handlers, archive)
 * sees one form. A single-object value of a schema this build does not know is an UnknownEncoding:
 * counted as invalid, kept for the archive as `{"_undecodable": reason, "_base64": value}` (nothing
 * silently dropped), and not handed to the topic's handler.
 */
export function valueText(value: Buffer): { text: string; undecodable?: UnknownEncoding } {
  if (!isAvroSingleObject(value)) return { text: value.toString() };
  try {
    // A batch of several readings comes back as JSON lines (batchTexts hands them out one by one).
    return { text: decodeForwardedReadings(value).map((r) => JSON.stringify(r)).join('\n') };
  } catch (err) {
    const e = err instanceof UnknownEncoding ? err : new UnknownEncoding(`unreadable body (${(err as Error).message})`);
    return { text: JSON.stringify({ _undecodable: e.message, _base64: value.toString('base64') }), undecodable: e };
  }
}

/**
 * The readings of one grid.readings record holding several (contract forwarded-reading-batch/v1,
 * contracts/README.md "Several readings per record"): JSON lines (the header names the contract;
 * each line is one reading's JSON text, passed on as it came) or the Avro batch schema (decoded
 * once to the JSON contract's texts). null: a record of one reading (the v1 form, valueText).
 * `joined` is the readings as JSON lines, for the archive (one entry per record, split again by
 * the archive's build step). An Avro value of a schema this build does not know is undecodable.
 */
export function batchTexts(value: Buffer, headers: Batch['messages'][number]['headers']): { texts: string[]; joined: string; decoded: boolean } | null {
  if (isAvroSingleObject(value)) {
    if (!isAvroReadingBatch(value)) return null;
    try {
      const texts = decodeForwardedReadings(value).map((r) => JSON.stringify(r));
      return { texts, joined: texts.join('\n'), decoded: true };
    } catch {
      return null; // an unreadable body: valueText says why, once, and it is counted
    }
  }
  if (!isBatchContract(headers)) return null;
  const joined = value.toString();
  return { texts: joined.split('\n'), joined, decoded: false };
}

function isBatchContract(headers: Batch['messages'][number]['headers']): boolean {
  const h = headers?.['gridwatch-contract'];
  return h !== undefined && String(h) === READINGS_BATCH_CONTRACT;
}

/** The meterId of a reading's JSON text without parsing all of it (a batch record's key is not one meter). */
export function meterIdOf(text: string): string | null {
  const at = text.indexOf('"meterId":"');
  if (at < 0) return null;
  const start = at + 11;
  const end = text.indexOf('"', start);
  if (end < 0) return null;
  const id = text.slice(start, end);
  return id.includes('\\') ? null : id;
}

/** What `each` hears of a record: its message, key and value as JSON text (null: the record's own bytes, or a tombstone), and whether that text was decoded here. */
export type EachRecord = (m: Batch['messages'][number], key: string | null, value: string | null, decoded: boolean) => void;

/**
 * grid.readings' dispatch (the hot path): as `dispatch`, but a record of one JSON reading (the v1
 * form) is handed on as its bytes, not decoded to text, and without an InRecord per reading: the
 * recent-readings store copies the bytes and the archive keeps the record's own, so nothing on the
 * consumer thread needs the text (the learned scorer decodes it when on). Avro values and records
 * of several readings are decoded as dispatch does. `each` hears of every record once (value null:
 * its own bytes). Returns the readings handed on, counting each of a record of several (the
 * consumed metric counts readings, not records).
 */
export function dispatchReadings(batch: Batch, invalid: CentralMetrics['invalid'], handle: (key: string | null, value: Buffer | string) => void, each?: EachRecord): number {
  return dispatchReadingsSlice(batch, invalid, handle, each, 0, Infinity).readings;
}

/** Readings between two looks at the clock in a slice (performance.now() is not free per reading). */
const SLICE_CHECK_EVERY = 64;

/**
 * dispatchReadings over the records from index `from`, stopping at the first look at the clock
 * past `until` (performance.now() ms): `next` is the index of the first record not handled
 * (batch.messages.length when all were). A slice ends between records, never inside one.
 */
export function dispatchReadingsSlice(batch: Batch, invalid: CentralMetrics['invalid'], handle: (key: string | null, value: Buffer | string) => void, each: EachRecord | undefined, from: number, until: number): { readings: number; next: number } {
  const { topic } = batch;
  const messages = batch.messages;
  let readings = 0;
  let checked = 0;
  let i = from;
  for (; i < messages.length; i++) {
    if (readings - checked >= SLICE_CHECK_EVERY) {
      checked = readings;
      if (performance.now() > until) break;
    }
    const m = messages[i]!;
    const key = m.key === null ? null : m.key.toString();
    const v = m.value;
    readings++;
    if (v === null) {
      each?.(m, key, null, false);
      continue;
    }
    if (!isAvroSingleObject(v) && !isBatchContract(m.headers)) {
      each?.(m, key, null, false);
      handle(key, v);
      continue;
    }
    const several = batchTexts(v, m.headers);
    if (several !== null) {
      each?.(m, key, several.joined, several.decoded);
      readings += several.texts.length - 1;
      for (const text of several.texts) handle(meterIdOf(text), text);
      continue;
    }
    const text = valueText(v);
    each?.(m, key, text.text, true);
    if (text.undecodable !== undefined) invalid.inc({ topic });
    else handle(key, text.text);
  }
  return { readings, next: i };
}

/**
 * Runs every record of a batch through its topic's handler (synchronously: the hot path of
 * readings). A record of several readings goes to the handler once per reading (key: the
 * reading's meterId), in their order; `each` hears of every record once, with its value as JSON
 * text (`decoded`: the text is not the record's bytes, an Avro value decoded here).
 */
export function dispatch<Ctx>(batch: Batch, handler: TopicHandler<Ctx>, ctx: Ctx, invalid: CentralMetrics['invalid'], each?: EachRecord): void {
  const { topic, partition } = batch;
  for (const m of batch.messages) {
    const key = m.key === null ? null : m.key.toString();
    const several = m.value === null ? null : batchTexts(m.value, m.headers);
    if (several !== null) {
      each?.(m, key, several.joined, several.decoded);
      const base = { partition, offset: m.offset, timestamp: m.timestamp };
      for (const text of several.texts) {
        if (handler.contract === undefined) {
          handler.handle({ ...base, key: meterIdOf(text), value: text }, ctx);
          continue;
        }
        const decoded = decode(topic, text, handler.contract, invalid);
        if (decoded !== undefined) handler.handle({ ...base, key: meterIdOf(text), value: decoded as never }, ctx);
      }
      continue;
    }
    const text = m.value === null ? null : valueText(m.value);
    const value = text === null ? null : text.text;
    each?.(m, key, value, text !== null && m.value !== null && isAvroSingleObject(m.value));
    if (text?.undecodable !== undefined) {
      invalid.inc({ topic });
      continue;
    }
    const base = { key, partition, offset: m.offset, timestamp: m.timestamp };
    if (handler.contract === undefined) {
      handler.handle({ ...base, value }, ctx);
      continue;
    }
    if (value === null) continue;
    const decoded = decode(topic, value, handler.contract, invalid);
    if (decoded !== undefined) handler.handle({ ...base, value: decoded as never }, ctx);
  }
}
