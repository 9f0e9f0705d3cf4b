// The archive's build thread: takes packed flushes (build.ts BuildRequest), returns built ones.
// Nothing here touches a sink, Kafka or a clock: it only turns bytes into archive objects. The
// results are copied back, not transferred: gzip output may live in Node's shared buffer pool,
// and the objects are compressed (a tenth of the request or less).
import { parentPort } from 'node:worker_threads';
import { buildFlush, type BuildRequest } from './build.ts';

const port = parentPort;
if (port === null) throw new Error('build-thread.ts runs as a worker thread only');
port.on('message', (msg: { id: number; req: BuildRequest }) => {
  try {
    port.postMessage({ id: msg.id, result: buildFlush(msg.req) });
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).stack ?? String(err) });
  }
});
