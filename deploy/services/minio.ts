// MinIO built from its Go module, serving S3 on loopback with fixed root credentials.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { goBinary, goInstall } from './go-build.ts';
import { HOST, MINIO_CREDENTIALS, PORTS, paths } from './layout.ts';
import { type Log, httpOk, runningRecord, startDetached, stopByPidFile, waitUntilHealthy } from './process.ts';
import { MINIO_MODULE, MINIO_VERSION } from './versions.ts';

const liveUrl = `http://${HOST}:${PORTS.minio.api}/minio/health/live`;
export const minioBinary = (): string => goBinary('minio', 'minio', MINIO_VERSION);

export async function ensureMinio(log: Log): Promise<boolean> {
  if (await httpOk(liveUrl)) {
    log(`[services] minio: already running at http://${HOST}:${PORTS.minio.api}`);
    return false;
  }
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
  return true;
}

export async function stopMinio(): Promise<boolean> {
  return stopByPidFile('minio', 15_000);
}

export const minioRunningByUs = (): boolean => runningRecord('minio') !== undefined;
export const minioAnswers = (): Promise<boolean> => httpOk(liveUrl);
