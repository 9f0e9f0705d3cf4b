// Mosquitto from Debian, run with the harness's own config on a loopback port (never the system service).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { toolPath } from './debian.ts';
import { HOST, PORTS, paths } from './layout.ts';
import { type Log, ensureServer, runningRecord, startDetached, stopByPidFile, waitUntilHealthy } from './process.ts';

export const mqttUrl = `mqtt://${HOST}:${PORTS.mosquitto.mqtt}`;

/**
 * Anonymous access is fine for a loopback test broker. Logging goes to stdout, which the harness
 * sends to the log file; `user root` keeps mosquitto from switching to a user that cannot read the cache.
 */
export function renderMosquittoConfig(): string {
  return `# Written by gridwatch deploy/services (rewritten on every start)
user root
listener ${PORTS.mosquitto.mqtt} ${HOST}
allow_anonymous true
persistence false
log_dest stdout
log_type error
log_type warning
log_type notice
log_timestamp_format %Y-%m-%dT%H:%M:%S
`;
}

export async function mqttAnswers(url = mqttUrl): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(url, { connectTimeout: 2000, reconnectPeriod: 0, clientId: `gridwatch-services-${process.pid}` });
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

export async function ensureMosquitto(log: Log): Promise<boolean> {
  return ensureServer({
    name: 'mosquitto',
    host: HOST,
    port: PORTS.mosquitto.mqtt,
    at: mqttUrl,
    answers: () => mqttAnswers(),
    log,
    start: async () => {
      const bin = await toolPath('mosquitto', log);
      const etc = join(paths.etc(), 'mosquitto');
      mkdirSync(etc, { recursive: true });
      const conf = join(etc, 'mosquitto.conf');
      writeFileSync(conf, renderMosquittoConfig());
      log(`[services] mosquitto: starting on ${mqttUrl} (log ${paths.log('mosquitto')})`);
      const record = startDetached('mosquitto', bin, ['-c', conf]);
      await waitUntilHealthy('mosquitto', () => mqttAnswers(), { timeoutMs: 30_000, pid: record.pid, command: record.command });
      log('[services] mosquitto: ready');
    },
  });
}

/** `token`: only the server the caller spawned (stopDecision in process.ts). */
export async function stopMosquitto(opts: { token?: string } = {}): Promise<boolean> {
  return stopByPidFile('mosquitto', 10_000, opts);
}

export const mosquittoRunningByUs = (): boolean => runningRecord('mosquitto') !== undefined;
