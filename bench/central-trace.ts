// Where a central instance waits while it consumes and archives (bench/central.ts, readings phase,
// with BENCH_TRACE=<file>): the group consumer's fetches and batches (kafkajs instrumentation
// events), the committer's flushes, and a sample every 100 ms of what is consumed, held by the
// archive and paused, with the event loop's utilisation (busy share of the thread). Written as
// JSON lines for reading by eye or a small script; the summary goes into the bench's result.
import { writeFileSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Consumer } from 'kafkajs';
import type { Aggregator } from '../central/aggregator.ts';
import type { Metrics } from '../shared/index.ts';

interface Span {
  n: number;
  total: number;
  max: number;
}

const span = (): Span => ({ n: 0, total: 0, max: 0 });
const add = (s: Span, ms: number): void => {
  s.n++;
  s.total += ms;
  s.max = Math.max(s.max, ms);
};
const show = (s: Span): Record<string, number> => ({ n: s.n, totalMs: Math.round(s.total), meanMs: s.n ? Number((s.total / s.n).toFixed(1)) : 0, maxMs: Math.round(s.max) });

export interface Trace {
  stop(): Record<string, unknown>;
}

/** Starts tracing `pipeline` (its group consumer and committer); `stop` writes the file and returns a summary. */
export function traceCentral(pipeline: Aggregator, metrics: Metrics, file: string): Trace {
  const t0 = performance.now();
  const lines: string[] = [];
  const at = (): number => Math.round(performance.now() - t0);
  const log = (o: Record<string, unknown>): void => void lines.push(JSON.stringify({ t: at(), ...o }));
  const consumer = (pipeline as unknown as { group: { consumer: Consumer } }).group.consumer;
  const fetches = span();
  const batches = span();
  const flushes = span();
  let fetchedRecords = 0;
  let gapSince: number | null = null;
  const between = span(); // from the end of a fetch's last batch to the next fetch's answer
  const offs = [
    consumer.on(consumer.events.FETCH_START, () => {
      gapSince ??= performance.now();
    }),
    consumer.on(consumer.events.FETCH, (e) => {
      add(fetches, e.payload.duration);
      if (gapSince !== null) add(between, performance.now() - gapSince);
      gapSince = null;
      log({ ev: 'fetch', ms: e.payload.duration, batches: e.payload.numberOfBatches });
    }),
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      add(batches, e.payload.duration);
      fetchedRecords += e.payload.batchSize;
      log({ ev: 'batch', p: e.payload.partition, n: e.payload.batchSize, ms: e.payload.duration, lag: Number(e.payload.offsetLag) });
    }),
  ];
  const committer = pipeline.committer as unknown as { commitDue(all: boolean): Promise<void> };
  const commitDue = committer.commitDue.bind(committer);
  committer.commitDue = (all: boolean) => {
    const s = performance.now();
    const p = commitDue(all);
    void p.then(() => {
      const ms = performance.now() - s;
      if (ms > 1) {
        add(flushes, ms);
        log({ ev: 'commit', ms: Math.round(ms) });
      }
    });
    return p;
  };
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  const busy: number[] = [];
  const timer = setInterval(() => {
    void (async () => {
      const next = performance.eventLoopUtilization();
      const d = performance.eventLoopUtilization(next, elu);
      elu = next;
      busy.push(d.utilization);
      const get = async (m: string): Promise<number> => ((await metrics.registry.getSingleMetric(m)?.get())?.values ?? []).reduce((n, v) => n + v.value, 0);
      log({ ev: 'sample', elu: Number(d.utilization.toFixed(2)), consumed: await get('gridwatch_central_records_consumed_total'), held: await get('gridwatch_archive_held_bytes'), archived: await get('gridwatch_archive_records_total'), paused: pipeline.stats().pausedPartitions });
    })();
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      for (const off of offs) off();
      writeFileSync(file, `${lines.join('\n')}\n`);
      const mean = busy.length ? busy.reduce((a, b) => a + b, 0) / busy.length : 0;
      return { file, wallMs: at(), eventLoopBusy: Number(mean.toFixed(2)), fetchedRecords, fetches: show(fetches), fetchStartToAnswer: show(between), batches: show(batches), commits: show(flushes) };
    },
  };
}
