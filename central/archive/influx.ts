// InfluxDB adapter: anomalies, grid events and per-feeder one-minute aggregates. The only archive
// file that imports the InfluxDB client. Tags are the few low-cardinality dimensions Grafana
// groups by; identities (meterId, anomalyId, eventId) are fields.
import { readFileSync } from 'node:fs';
import { HttpError, InfluxDB, Point, type WriteApi } from '@influxdata/influxdb-client';
import { GridwatchError, type Anomaly, type ForwardedReading, type GridEvent, type Logger } from '../../shared/index.ts';
import { MINUTE_MS, feederMinuteKey, foldReadings, mergeInto, pointTimeNs, type FeederMinute } from './aggregate.ts';
import type { InfluxWriter, ReadingSource } from './types.ts';

export interface InfluxWriterOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  logger: Logger;
  /** PEM CA bundle file trusted for an https:// InfluxDB instead of the system CAs. */
  caFile?: string;
  /** Points per write request (default 5,000). */
  batchSize?: number;
  /** Aggregates of minutes older than this (behind the newest seen per partition) leave memory (default 3 h). */
  keepMs?: number;
}

const tag = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : 'none');

/** 429 and 5xx and network failures may clear; any other HTTP status means the points are wrong. */
function classify(err: unknown): GridwatchError {
  if (err instanceof GridwatchError) return err;
  const status = err instanceof HttpError ? err.statusCode : undefined;
  const retryable = status === undefined || status === 429 || status >= 500;
  return new GridwatchError('ARCHIVE_FAILED', `influxdb write: ${(err as Error).message}`, { retryable, cause: err, details: status ? { status } : undefined });
}

export function anomalyPoint(a: Anomaly): Point {
  const p = new Point('anomaly')
    .tag('type', a.type)
    .tag('severity', a.severity)
    .tag('state', a.state)
    .tag('substation', tag(a.substationId))
    .tag('feeder', tag(a.feederId))
    .tag('channel', tag(a.channel))
    .stringField('meterId', a.meterId)
    .stringField('anomalyId', a.anomalyId)
    .stringField('edgeId', a.edgeId)
    .timestamp(pointTimeNs(a.startTs, a.anomalyId));
  if (a.transformerId) p.stringField('transformerId', a.transformerId);
  if (typeof a.observed === 'number') p.floatField('observed', a.observed);
  if (typeof a.baseline === 'number') p.floatField('baseline', a.baseline);
  if (typeof a.peak === 'number') p.floatField('peak', a.peak);
  if (typeof a.durationMs === 'number') p.intField('durationMs', a.durationMs);
  if (typeof a.endTs === 'number') p.intField('endTs', a.endTs);
  return p;
}

export function gridEventPoint(e: GridEvent): Point {
  const p = new Point('grid_event')
    .tag('scope', e.scope)
    .tag('type', e.type)
    .tag('severity', e.severity)
    .tag('state', e.state)
    .tag('substation', tag(e.substationId))
    .stringField('eventId', e.eventId)
    .stringField('rootId', e.rootId)
    .intField('affectedCount', e.affectedCount)
    .intField('version', e.version)
    .intField('updatedAt', e.updatedAt)
    .timestamp(pointTimeNs(e.startTs, e.eventId));
  if (typeof e.endTs === 'number') p.intField('endTs', e.endTs).intField('durationMs', Math.max(0, e.endTs - e.startTs));
  if (e.summary) p.stringField('summary', e.summary);
  return p;
}

export function feederMinutePoint(a: FeederMinute): Point {
  const p = new Point('feeder_1m')
    .tag('substation', a.substation)
    .tag('feeder', a.feeder)
    .tag('partition', a.partition)
    .intField('readings', a.count)
    .floatField('v_min', a.vMin)
    .floatField('v_max', a.vMax)
    .floatField('v_mean', a.vSum / a.count)
    .floatField('v_sum', a.vSum)
    .intField('load_count', a.loadCount)
    .floatField('load_kw_sum', a.loadSum)
    .timestamp(`${BigInt(a.minute) * 1_000_000n}`);
  if (a.loadCount > 0) p.floatField('load_kw_mean', a.loadSum / a.loadCount);
  if (a.lastOffset !== null) p.intField('last_offset', a.lastOffset.toString());
  return p;
}

interface Contribution {
  source: ReadingSource | undefined;
  partials: Map<string, FeederMinute>;
}

class InfluxWriterImpl implements InfluxWriter {
  private readonly influx: InfluxDB;
  private readonly write: WriteApi;
  private readonly opts: InfluxWriterOptions;
  private readonly logger: Logger;
  private readonly aggregates = new Map<string, FeederMinute>();
  private readonly dirty = new Set<string>();
  private readonly newestMinute = new Map<string, number>();
  private contributions: Contribution[] = [];
  private errors: unknown[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: InfluxWriterOptions) {
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'influx-writer', bucket: opts.bucket });
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, ...(opts.caFile ? { transportOptions: { ca: readCa(opts.url, opts.caFile) } } : {}) });
    if (!opts.url.startsWith('https:')) opts.logger.warn({ url: opts.url }, 'InfluxDB URL is plain http: points and the token cross the network unencrypted');
    // No retries inside the client: a failed write fails flush(), and the Archiver retries the
    // whole flush (same points, overwrite semantics), so there is one retry loop, not two.
    this.write = this.influx.getWriteApi(opts.org, opts.bucket, 'ns', {
      batchSize: opts.batchSize ?? 5000,
      flushInterval: 0,
      maxRetries: 0,
      writeFailed: (err: Error) => {
        this.errors.push(err);
      },
    });
  }

  writeAnomalies(a: Anomaly[]): void {
    for (const x of a) this.write.writePoint(anomalyPoint(x));
  }

  writeEvents(e: GridEvent[]): void {
    for (const x of e) this.write.writePoint(gridEventPoint(x));
  }

  writeReadings(r: ForwardedReading[], source?: ReadingSource): void {
    this.contributions.push({ source, partials: foldReadings(r, source ? String(source.partition) : 'none') });
  }

  writeFeederMinutes(partials: FeederMinute[], source?: ReadingSource): void {
    this.contributions.push({ source, partials: new Map(partials.map((a) => [feederMinuteKey(a), a])) });
  }

  flush(): Promise<void> {
    const run = this.chain.catch(() => undefined).then(() => this.doFlush());
    this.chain = run;
    return run;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.write.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the InfluxDB write API'));
    }
  }

  private async doFlush(): Promise<void> {
    const contributions = this.contributions;
    this.contributions = [];
    try {
      await this.seed(contributions);
    } catch (err) {
      this.contributions = contributions.concat(this.contributions);
      throw classify(err);
    }
    for (const c of contributions) this.apply(c);
    for (const k of this.dirty) this.write.writePoint(feederMinutePoint(this.aggregates.get(k) as FeederMinute));
    try {
      await this.write.flush();
    } catch (err) {
      this.errors.push(err);
    }
    const errors = this.errors;
    this.errors = [];
    if (errors.length > 0) throw classify(errors[0]);
    this.dirty.clear();
    this.evict();
  }

  /**
   * Aggregates not in memory (a restart, or a late reading for an evicted minute) are read back
   * from InfluxDB first, so that folding in more readings extends the stored point instead of
   * replacing it with a partial one.
   */
  private async seed(contributions: Contribution[]): Promise<void> {
    const missing = new Map<string, { min: number; max: number; keys: Set<string> }>();
    for (const c of contributions) {
      if (!c.source) continue;
      for (const [k, a] of c.partials) {
        if (this.aggregates.has(k)) continue;
        const m = missing.get(a.partition) ?? { min: a.minute, max: a.minute, keys: new Set<string>() };
        m.min = Math.min(m.min, a.minute);
        m.max = Math.max(m.max, a.minute);
        m.keys.add(k);
        missing.set(a.partition, m);
      }
    }
    for (const [partition, m] of missing) {
      const flux =
        `from(bucket: ${JSON.stringify(this.opts.bucket)})` +
        ` |> range(start: ${new Date(m.min).toISOString()}, stop: ${new Date(m.max + MINUTE_MS).toISOString()})` +
        ` |> filter(fn: (r) => r._measurement == "feeder_1m" and r.partition == ${JSON.stringify(partition)})` +
        ` |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`;
      for await (const { values, tableMeta } of this.influx.getQueryApi(this.opts.org).iterateRows(flux)) {
        const row = tableMeta.toObject(values) as Record<string, unknown>;
        const a: FeederMinute = {
          partition,
          substation: String(row.substation),
          feeder: String(row.feeder),
          minute: Date.parse(String(row._time)),
          count: Number(row.readings ?? 0),
          vSum: Number(row.v_sum ?? 0),
          vMin: Number(row.v_min ?? Infinity),
          vMax: Number(row.v_max ?? -Infinity),
          loadCount: Number(row.load_count ?? 0),
          loadSum: Number(row.load_kw_sum ?? 0),
          lastOffset: row.last_offset === undefined || row.last_offset === null ? null : BigInt(String(row.last_offset)),
        };
        const k = feederMinuteKey(a);
        if (m.keys.has(k) && !this.aggregates.has(k)) this.aggregates.set(k, a);
      }
    }
  }

  private apply(c: Contribution): void {
    for (const [k, partial] of c.partials) {
      const have = this.aggregates.get(k);
      if (have === undefined) {
        this.aggregates.set(k, { ...partial, lastOffset: c.source ? c.source.lastOffset : null });
      } else if (c.source && have.lastOffset !== null && have.lastOffset >= c.source.firstOffset) {
        // These readings are already in the aggregate (a replay of a flush that reached InfluxDB
        // before the crash): rewrite the point unchanged, do not count them twice.
      } else {
        mergeInto(have, partial);
        if (c.source) have.lastOffset = c.source.lastOffset;
      }
      this.dirty.add(k);
      const newest = this.newestMinute.get(partial.partition);
      if (newest === undefined || partial.minute > newest) this.newestMinute.set(partial.partition, partial.minute);
    }
  }

  private evict(): void {
    const keep = this.opts.keepMs ?? 3 * 3600_000;
    for (const [k, a] of this.aggregates) {
      const newest = this.newestMinute.get(a.partition) ?? a.minute;
      if (a.minute < newest - keep && !this.dirty.has(k)) this.aggregates.delete(k);
    }
  }
}

function readCa(url: string, file: string): string {
  if (!url.startsWith('https:')) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_INFLUX_CA_FILE is set but GRIDWATCH_INFLUX_URL is not https://');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_INFLUX_CA_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export function createInfluxWriter(opts: InfluxWriterOptions): InfluxWriter {
  return new InfluxWriterImpl(opts);
}

/** One partition's `feeder_1m` point as read back (the history API combines the partitions). */
export interface FeederMinuteRow {
  minute: number;
  partition: string;
  substation: string;
  readings: number;
  vMin: number;
  vMax: number;
  vSum: number;
  loadSum: number;
  loadCount: number;
}

export interface InfluxReader {
  /** Every partition's one-minute aggregate of a feeder in [from, to), in time order. */
  feederMinutes(feederId: string, from: number, to: number): Promise<FeederMinuteRow[]>;
}

export function createInfluxReader(opts: Omit<InfluxWriterOptions, 'logger' | 'batchSize' | 'keepMs'>): InfluxReader {
  const influx = new InfluxDB({ url: opts.url, token: opts.token, ...(opts.caFile ? { transportOptions: { ca: readCa(opts.url, opts.caFile) } } : {}) });
  return {
    async feederMinutes(feederId, from, to) {
      const flux =
        `from(bucket: ${JSON.stringify(opts.bucket)})` +
        ` |> range(start: ${new Date(from).toISOString()}, stop: ${new Date(to).toISOString()})` +
        ` |> filter(fn: (r) => r._measurement == "feeder_1m" and r.feeder == ${JSON.stringify(feederId)})` +
        ` |> filter(fn: (r) => r._field == "readings" or r._field == "v_min" or r._field == "v_max" or r._field == "v_sum" or r._field == "load_kw_sum" or r._field == "load_count")` +
        ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")';
      const rows: FeederMinuteRow[] = [];
      try {
        for await (const { values, tableMeta } of influx.getQueryApi(opts.org).iterateRows(flux)) {
          const r = tableMeta.toObject(values);
          rows.push({
            minute: Date.parse(String(r._time)),
            partition: String(r.partition),
            substation: String(r.substation),
            readings: Number(r.readings ?? 0),
            vMin: Number(r.v_min ?? Infinity),
            vMax: Number(r.v_max ?? -Infinity),
            vSum: Number(r.v_sum ?? 0),
            loadSum: Number(r.load_kw_sum ?? 0),
            loadCount: Number(r.load_count ?? 0),
          });
        }
      } catch (err) {
        const status = err instanceof HttpError ? err.statusCode : undefined;
        throw new GridwatchError('ARCHIVE_FAILED', `influxdb query: ${(err as Error).message.slice(0, 200)}`, { retryable: status === undefined || status >= 500, cause: err });
      }
      return rows.sort((a, b) => a.minute - b.minute || a.partition.localeCompare(b.partition));
    },
  };
}
