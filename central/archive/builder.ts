// Where a flush is built: in the archive's worker thread (the default: parsing, grouping and gzip
// off the consumer's thread) or inline (tests of the pure layout, tools). One worker per process,
// shared by every Archiver in it and started on first use; it does not keep the process alive.
import { Worker } from 'node:worker_threads';
import { GridwatchError } from '../../shared/index.ts';
import { buildFlush, type BuildRequest, type BuildResult } from './build.ts';

export interface FlushBuilder {
  build(req: BuildRequest): Promise<BuildResult>;
}

export const inlineBuilder: FlushBuilder = {
  build: async (req) => buildFlush(req),
};

type Pending = { resolve: (r: BuildResult) => void; reject: (e: Error) => void };

class WorkerBuilder implements FlushBuilder {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  build(req: BuildRequest): Promise<BuildResult> {
    const w = this.ensure();
    const id = this.next++;
    return new Promise<BuildResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) w.ref();
      // The packed values move to the worker (no copy); the request is not used again here.
      w.postMessage({ id, req }, [req.values.buffer as ArrayBuffer, req.lengths.buffer as ArrayBuffer, req.offsets.buffer as ArrayBuffer, req.timestamps.buffer as ArrayBuffer]);
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    });
  }

  private ensure(): Worker {
    if (this.worker !== null) return this.worker;
    const w = new Worker(new URL('./build-worker.mjs', import.meta.url), { execArgv: [] });
    w.unref();
    w.on('message', (msg: { id: number; result?: BuildResult; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.result) {
        // Structured clone turns Buffers into plain Uint8Arrays.
        for (const o of msg.result.objects) o.body = Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength);
        p.resolve(msg.result);
      } else {
        p.reject(new GridwatchError('ARCHIVE_FAILED', `archive build failed: ${msg.error ?? 'unknown'}`, { retryable: false }));
      }
    });
    const fail = (err: Error): void => {
      // A dead worker fails what it held (each flush is retried with the same range); the next build starts a new one.
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new GridwatchError('ARCHIVE_FAILED', `archive build thread stopped: ${err.message}`, { retryable: true, cause: err }));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }
}

let shared: WorkerBuilder | null = null;

/** The process's archive build thread. */
export function workerBuilder(): FlushBuilder {
  shared ??= new WorkerBuilder();
  return shared;
}
