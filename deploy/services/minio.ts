// MinIO built from its Go module, serving S3 on loopback with fixed root credentials.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { goBinary, goInstall } from './go-build.ts';
import { HOST, MINIO_CREDENTIALS, PORTS, paths } from './layout.ts';
import { type Log, ensureServer, httpOk, runningRecord, startDetached, stopByPidFile, stopChild, waitUntilHealthy } from './process.ts';
import { MINIO_MODULE, MINIO_VERSION } from './versions.ts';

const liveUrl = `http://${HOST}:${PORTS.minio.api}/minio/health/live`;
export const minioBinary = (): string => goBinary('minio', 'minio', MINIO_VERSION);

export async function ensureMinio(log: Log): Promise<boolean> {
  return ensureServer({
    name: 'minio',
    host: HOST,
    port: PORTS.minio.api,
    at: `http://${HOST}:${PORTS.minio.api}`,
    answers: () => httpOk(liveUrl),
    log,
    start: async () => {
      const bin = await goInstall({ name: 'minio', binary: 'minio', pkg: MINIO_MODULE, version: MINIO_VERSION, log });
      const dataDir = join(paths.data(), 'minio');
      mkdirSync(dataDir, { recursive: true });
      log(`[services] minio: starting on ${HOST}:${PORTS.minio.api} (log ${paths.log('minio')})`);
      const t = Date.now();
      const record = startDetached('minio', bin, ['server', dataDir, '--address', `${HOST}:${PORTS.minio.api}`, '--console-address', `${HOST}:${PORTS.minio.console}`, '--quiet'], {
        env: {
          ...process.env,
          MINIO_ROOT_USER: MINIO_CREDENTIALS.accessKey,
          MINIO_ROOT_PASSWORD: MINIO_CREDENTIALS.secretKey,
          MINIO_UPDATE: 'off',
        },
      });
      await waitUntilHealthy('minio', () => httpOk(liveUrl), { timeoutMs: 60_000, pid: record.pid, command: record.command });
      log(`[services] minio: ready in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    },
  });
}

/** `token`: only the server the caller spawned (stopDecision in process.ts). */
export async function stopMinio(opts: { token?: string } = {}): Promise<boolean> {
  return stopByPidFile('minio', 15_000, opts);
}

export const minioRunningByUs = (): boolean => runningRecord('minio') !== undefined;
export const minioAnswers = (): Promise<boolean> => httpOk(liveUrl);

/** A MinIO of a test's own (never the shared one): its port and data directory, stoppable and restartable. */
export interface ThrowawayMinio {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Starts (again) on the same port and data directory; resolves once it answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** How the last process ended, when it did ("code 1", "signal SIGKILL"), for a test's failure message. */
  lastExit(): string | null;
}

/**
 * For fault tests (MinIO down under load): the provisioned binary (`services up` builds it) run as
 * a child of this process on `port`, with its data in `dataDir`. The caller stops it at the end.
 */
export function throwawayMinio(opts: { port: number; dataDir: string }): ThrowawayMinio {
  const bin = minioBinary();
  if (!existsSync(bin)) throw new Error(`minio binary not found at ${bin}: run \`gridwatch services up\` first`);
  mkdirSync(opts.dataDir, { recursive: true });
  const url = `http://${HOST}:${opts.port}`;
  let child: ChildProcess | null = null;
  let exited: string | null = null;
  return {
    lastExit: () => exited,
    endpoint: url,
    accessKey: MINIO_CREDENTIALS.accessKey,
    secretKey: MINIO_CREDENTIALS.secretKey,
    async start() {
      if (child !== null) return;
      const c = spawn(bin, ['server', opts.dataDir, '--address', `${HOST}:${opts.port}`, '--console-address', `${HOST}:${opts.port + 1}`, '--quiet'], {
        env: { ...process.env, MINIO_ROOT_USER: MINIO_CREDENTIALS.accessKey, MINIO_ROOT_PASSWORD: MINIO_CREDENTIALS.secretKey, MINIO_UPDATE: 'off' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      c.stderr?.on('data', (d: Buffer) => (exited = `stderr: ${d.toString().slice(-500)}`));
      child = c;
      c.on('exit', (code, signal) => {
        exited = signal ? `signal ${signal}` : `code ${String(code)}`;
        if (child === c) child = null;
      });
      await waitUntilHealthy('minio (throwaway)', () => httpOk(`${url}/minio/health/live`), { timeoutMs: 60_000, pid: c.pid ?? 0, command: bin });
    },
    async stop() {
      await stopChild(child);
    },
  };
}
