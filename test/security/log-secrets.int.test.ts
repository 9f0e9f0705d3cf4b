// No secret reaches a log. Edge and central run as the demo runs them (bin/gridwatch.js as child
// processes, against the real Kafka, MinIO and InfluxDB) through a full start, failures (a
// device with a wrong password, an unreachable upstream broker, S3 refusing a wrong secret key at
// start, a secret that fails validation, API calls with a wrong token; the webhook goes to a
// receiver that answers 500 when central has an event to notify) and a stop; then every line they wrote is searched for
// every secret they were given. Secrets come through the environment and through <NAME>_FILE.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { S3Sink } from '../../central/archive/index.ts';
import { topicPrefix } from '../../central/archive/layout.ts';
import { hashPassword } from '../../edge/ingest/auth.ts';
import { kafkaPrincipalEnv, serviceEndpoints } from '../../deploy/services/index.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';
import { freePort } from '../harness/ports.ts';

const ep = testEndpoints();
// The SASL_SSL listener of the harness's Kafka and its admin principal (deploy/services).
const KAFKA = kafkaPrincipalEnv(serviceEndpoints(), 'admin');
const rnd = (label: string): string => `${label}-${randomBytes(12).toString('hex')}`;
const SECRETS = {
  s3SecretKey: ep.s3.secretKey, // the real one: the archive must work
  s3WrongSecretKey: rnd('s3-wrong'),
  influxToken: rnd('influx-token'),
  webhookSecret: rnd('webhook-secret'),
  // Kafka over SASL_SSL (SCRAM-SHA-512, mutual TLS) as the harness's admin principal: the real password.
  kafkaSaslPassword: readFileSync(KAFKA.GRIDWATCH_KAFKA_SASL_PASSWORD_FILE!, 'utf8').replace(/\r?\n$/, ''),
  apiToken: rnd('gw-api-token'),
  mqttPassword: rnd('mqtt-device-pw'),
  mqttWrongPassword: rnd('mqtt-wrong-pw'),
  upstreamPassword: rnd('upstream-pw'),
  shortWebhookSecret: randomBytes(7).toString('hex'), // 14 characters: below the 16 required
};


const dir = mkdtempSync(join(tmpdir(), 'gw-log-secrets-'));
const secretFile = (name: string, value: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return p;
};

/**
 * The environment without the harness's GRIDWATCH_* (so that only what a test gives is set),
 * plus the SASL_SSL connection settings of the admin principal without the password, which each
 * run passes its own way.
 */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GRIDWATCH_')) out[k] = v;
  const { GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: _password, ...kafka } = KAFKA;
  return { ...out, ...kafka, GRIDWATCH_LOG_LEVEL: 'debug', GRIDWATCH_CACHE_DIR: ep.cacheDir };
}

interface Run {
  name: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | string>;
}
const runs: Run[] = [];

function start(name: string, args: string[], env: Record<string, string>): Run {
  let log = '';
  const child = spawn(process.execPath, ['bin/gridwatch.js', ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? 'unknown')));
  const run = { name, child, log: () => log, exited };
  runs.push(run);
  return run;
}

async function until<T>(what: string, run: Run | null, f: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(f()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${run ? `\n--- ${run.name} log ---\n${run.log().slice(-4000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(run: Run): Promise<number | string> {
  run.child.kill('SIGTERM');
  return run.exited;
}

let receiver: Server | undefined;
afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  if (receiver) await new Promise((r) => receiver!.close(r));
});

describe('secrets never reach a log', () => {
  it('edge and central through start, failures and stop: none of the secrets in any line they wrote', async () => {
    const prefix = uniqueName('logsec');
    const bucket = uniqueName('logsec');
    const meterId = `${prefix}-m1`;
    const t = (name: string): string => `${prefix}.grid.${name}`;
    const influxDb = prefix.replace(/-/g, '_');
    const created = await fetch(`${ep.influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: `CREATE DATABASE "${influxDb}"` }) });
    expect(created.ok).toBe(true);

    // A webhook receiver that refuses everything: a failing hop central must report without its key.
    receiver = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    const hookPort = (receiver.address() as { port: number }).port;

    const centralPort = await freePort();
    const centralEnv = {
      GRIDWATCH_CENTRAL_GROUP: `${prefix}-central`,
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: String(centralPort),
      GRIDWATCH_TOPIC_READINGS: t('readings'),
      GRIDWATCH_TOPIC_ANOMALIES: t('anomalies'),
      GRIDWATCH_TOPIC_EVENTS: t('events'),
      GRIDWATCH_TOPIC_EDGE_STATUS: t('edge-status'),
      GRIDWATCH_TOPIC_GAPS: t('gaps'),
      GRIDWATCH_TOPIC_TOPOLOGY: t('topology'),
      GRIDWATCH_TOPIC_STATE: t('central-state'),
      GRIDWATCH_ARCHIVE_MAX_AGE_MS: '200',
      GRIDWATCH_COMMIT_INTERVAL_MS: '200',
      GRIDWATCH_S3_ENDPOINT: ep.s3.url,
      GRIDWATCH_S3_ACCESS_KEY: ep.s3.accessKey,
      GRIDWATCH_S3_SECRET_KEY_FILE: secretFile('s3-secret', SECRETS.s3SecretKey),
      GRIDWATCH_S3_BUCKET: bucket,
      GRIDWATCH_INFLUX_URL: ep.influx.url,
      GRIDWATCH_INFLUX_TOKEN: SECRETS.influxToken,
      GRIDWATCH_INFLUX_BUCKET: influxDb,
      GRIDWATCH_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook`,
      GRIDWATCH_WEBHOOK_SECRET_FILE: secretFile('webhook-secret', SECRETS.webhookSecret),
      GRIDWATCH_WEBHOOK_MIN_SEVERITY: 'info',
      GRIDWATCH_KAFKA_SASL_PASSWORD: SECRETS.kafkaSaslPassword,
      GRIDWATCH_API_TOKEN: SECRETS.apiToken,
    };

    // 1. Central refused by S3 at start (wrong secret key): it stops with an error, not a secret.
    const refused = start('central (wrong S3 key)', ['central'], { ...centralEnv, GRIDWATCH_S3_SECRET_KEY_FILE: secretFile('s3-wrong', SECRETS.s3WrongSecretKey) });
    const refusedExit = await refused.exited;
    expect(refusedExit).not.toBe(0);
    expect(refused.log()).toMatch(/ARCHIVE_FAILED|SignatureDoesNotMatch|InvalidAccessKeyId/);

    // ... and stopped by a configuration error about a secret: the message names the variable only.
    const misconfigured = start('central (short webhook secret)', ['central'], { ...centralEnv, GRIDWATCH_WEBHOOK_SECRET_FILE: '', GRIDWATCH_WEBHOOK_SECRET: SECRETS.shortWebhookSecret });
    expect(await misconfigured.exited).not.toBe(0);
    expect(misconfigured.log()).toMatch(/CONFIG_INVALID[^\n]*\n?[^\n]*GRIDWATCH_WEBHOOK_SECRET/);

    // 2. Central: full start.
    const central = start('central', ['central'], centralEnv);
    await until('central /readyz', central, async () => ((await fetch(`http://127.0.0.1:${centralPort}/readyz`)).ok ? true : undefined));

    // 3. Edge: full start, with a credentials file of one meter device.
    const credentials = join(dir, 'mqtt-credentials.json');
    writeFileSync(credentials, JSON.stringify({ [meterId]: { passwordHash: await hashPassword(SECRETS.mqttPassword), kind: 'meter', id: meterId } }), { mode: 0o600 });
    const mqttPort = await freePort();
    const edgeEnv = {
      GRIDWATCH_EDGE_ID: `${prefix}-edge`.slice(0, 60),
      GRIDWATCH_DATA_DIR: mkdtempSync(join(dir, 'edge-')),
      GRIDWATCH_KAFKA_TOPIC_PREFIX: `${prefix}.`,
      GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '1',
      GRIDWATCH_MQTT_HOST: '127.0.0.1',
      GRIDWATCH_MQTT_PORT: String(mqttPort),
      GRIDWATCH_MQTT_CREDENTIALS: credentials,
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: '0',
      GRIDWATCH_DRAIN_TIMEOUT_MS: '3000',
      GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: secretFile('kafka-sasl', SECRETS.kafkaSaslPassword),
    };
    const edge = start('edge', ['edge'], edgeEnv);
    await until('edge MQTT listener', edge, () => (edge.log().includes(`"tcp":${mqttPort}`) ? true : undefined));

    // A device with a wrong password is refused; the right one publishes readings.
    const bad = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `${prefix}-bad`, username: meterId, password: SECRETS.mqttWrongPassword, reconnectPeriod: 0 }).catch((e: Error) => e);
    expect(bad).toBeInstanceOf(Error);
    const good = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `${prefix}-good`, username: meterId, password: SECRETS.mqttPassword, reconnectPeriod: 0 });
    const now = Date.now();
    for (let seq = 1; seq <= 5; seq++) {
      await good.publishAsync(`meters/${meterId}/reading`, JSON.stringify({ meterId, seq, ts: now - (5 - seq) * 1000, voltage: 231 }), { qos: 1 });
    }
    await good.endAsync();

    // The readings crossed Kafka and were archived into MinIO with the secret key from the file.
    const archive = new S3Sink({ endPoint: ep.s3.endPoint, port: ep.s3.port, useSSL: ep.s3.useSSL, accessKey: ep.s3.accessKey, secretKey: ep.s3.secretKey, bucket });
    const readingsPrefix = topicPrefix(t('readings'));
    await until('readings in the archive', central, async () => ((await archive.list(`${readingsPrefix}/`)).length > 0 ? true : undefined), 90_000);

    // The API asked with the API token and with a wrong one (refused once tokens are required).
    for (const token of [SECRETS.apiToken, `${SECRETS.apiToken}x`]) {
      await fetch(`http://127.0.0.1:${centralPort}/api/meters/${meterId}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    }

    // 4. An edge in upstream mode whose broker does not answer: connection errors, with the URL's password.
    const deadPort = await freePort();
    const upstream = start('edge (upstream unreachable)', ['edge'], {
      ...edgeEnv,
      GRIDWATCH_EDGE_ID: `${prefix}-up`.slice(0, 60),
      GRIDWATCH_DATA_DIR: mkdtempSync(join(dir, 'edge-up-')),
      GRIDWATCH_MQTT_MODE: 'upstream',
      GRIDWATCH_MQTT_PORT: '0',
      GRIDWATCH_MQTT_CREDENTIALS: '',
      GRIDWATCH_MQTT_UPSTREAM_URL_FILE: secretFile('upstream-url', `mqtt://gridwatch:${SECRETS.upstreamPassword}@127.0.0.1:${deadPort}`),
    });
    await until('upstream connection errors', upstream, () => (/upstream MQTT error|reconnecting to the upstream/.test(upstream.log()) ? true : undefined), 30_000);

    // 5. Stop: each ends cleanly.
    expect(await stop(upstream)).toBe(0);
    expect(await stop(edge)).toBe(0);
    expect(await stop(central)).toBe(0);

    // The grep: every line of every process, every secret.
    const logs = runs.map((r) => ({ name: r.name, text: r.log() }));
    for (const { name, text } of logs) {
      expect(text.length, `${name} wrote a log`).toBeGreaterThan(100);
      for (const [what, secret] of Object.entries(SECRETS)) {
        expect(text.includes(secret), `${what} in the log of ${name}`).toBe(false);
      }
    }
    // The search could have matched: what the programs logged includes things next to the secrets.
    expect(logs.find((l) => l.name === 'central')?.text).toContain(bucket);
  });
});
