// Shopify's toxiproxy, a TCP fault proxy, built from its Go module: the reliability tests put it
// between an edge and Kafka and drive it over its HTTP API (latency, bandwidth, cuts, black holes).
// The API listens on loopback only; proxies it creates listen where the tests say (loopback too).
import { goBinary, goInstall } from './go-build.ts';
import { HOST, PORTS, paths } from './layout.ts';
import { type Log, ensureServer, httpOk, runningRecord, startDetached, stopByPidFile, waitUntilHealthy } from './process.ts';
import { TOXIPROXY_MODULE, TOXIPROXY_VERSION } from './versions.ts';

export const toxiproxyUrl = `http://${HOST}:${PORTS.toxiproxy.api}`;
// The module's server command is cmd/server, so `go install` names the binary `server`.
export const toxiproxyBinary = (): string => goBinary('toxiproxy', 'server', TOXIPROXY_VERSION);
// 5 s: on a loaded machine a 2 s probe can miss a running server, and a second one would fail to bind.
export const toxiproxyAnswers = (): Promise<boolean> => httpOk(`${toxiproxyUrl}/version`, 5000);

export async function ensureToxiproxy(log: Log): Promise<boolean> {
  return ensureServer({
    name: 'toxiproxy',
    host: HOST,
    port: PORTS.toxiproxy.api,
    at: toxiproxyUrl,
    answers: toxiproxyAnswers,
    log,
    start: async () => {
      const bin = await goInstall({ name: 'toxiproxy', binary: 'server', pkg: TOXIPROXY_MODULE, version: TOXIPROXY_VERSION, log });
      log(`[services] toxiproxy: starting API on ${HOST}:${PORTS.toxiproxy.api} (log ${paths.log('toxiproxy')})`);
      const t = Date.now();
      const record = startDetached('toxiproxy', bin, ['-host', HOST, '-port', String(PORTS.toxiproxy.api)]);
      await waitUntilHealthy('toxiproxy', toxiproxyAnswers, { timeoutMs: 30_000, pid: record.pid, command: record.command });
      log(`[services] toxiproxy: ready in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    },
  });
}

/** `token`: only the server the caller spawned (stopDecision in process.ts). */
export function stopToxiproxy(opts: { token?: string } = {}): Promise<boolean> {
  return stopByPidFile('toxiproxy', 5_000, opts);
}

export const toxiproxyRunningByUs = (): boolean => runningRecord('toxiproxy') !== undefined;
