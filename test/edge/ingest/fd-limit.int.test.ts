// A gateway started under an open-files limit below GRIDWATCH_MQTT_MAX_CONNECTIONS holds the broker
// to the limit less its reserve, says so at start, refuses the connections past it, and stays up
// (at 19,970 of 20,000 connections under a 20,000 limit it used to die: docs/scaling.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { FD_RESERVE } from '../../../edge/ingest/fd-limit.ts';
import { testKafkaEnv } from '../../harness/env.ts';
import { freePort } from '../../harness/ports.ts';
import { testPrefix } from '../helpers.ts';

const FD_LIMIT = 400;
const children: ChildProcess[] = [];
const clients: MqttClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('edge gateway under a low open-files limit (child process, real Kafka)', () => {
  it('holds at most the limit less the reserve, says so, and keeps serving the ones it holds', async () => {
    const prefix = testPrefix('edge-fd');
    const mqttPort = await freePort();
    const child = spawn('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, 'bin/gridwatch.js', 'edge'], {
      env: {
        ...process.env,
        ...testKafkaEnv(),
        GRIDWATCH_EDGE_ID: prefix.slice(0, 60),
        GRIDWATCH_DATA_DIR: mkdtempSync(join(tmpdir(), 'gridwatch-edge-fd-')),
        GRIDWATCH_KAFKA_TOPIC_PREFIX: `${prefix}.`,
        GRIDWATCH_MQTT_HOST: '127.0.0.1',
        GRIDWATCH_MQTT_PORT: String(mqttPort),
        GRIDWATCH_HTTP_HOST: '127.0.0.1',
        GRIDWATCH_HTTP_PORT: '0',
        GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
        GRIDWATCH_MQTT_MAX_CONNECTIONS: '20000',
        GRIDWATCH_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (log.includes('"edge gateway started"')) { clearInterval(t); resolve(); }
      }, 100);
      child.once('exit', (code) => { clearInterval(t); reject(new Error(`gateway exited ${code}:\n${log}`)); });
      setTimeout(() => { clearInterval(t); reject(new Error(`gateway did not start in 60 s:\n${log}`)); }, 60_000);
    });
    const allowed = FD_LIMIT - FD_RESERVE;
    const warning = log.split('\n').find((l) => l.includes('above the open-files limit'));
    expect(warning, log).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 'warn', asked: 20_000, openFilesLimit: FD_LIMIT, maxConnections: allowed });

    // Ask for 20 more than it may hold: exactly `allowed` are held, the rest are refused.
    const results = await Promise.allSettled(Array.from({ length: allowed + 20 }, async (_, i) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `${prefix}-c${i}`, reconnectPeriod: 0, connectTimeout: 10_000 });
      clients.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
        c.once('close', () => reject(new Error('closed')));
      });
    }));
    const held = results.filter((r) => r.status === 'fulfilled').length;
    expect(held).toBe(allowed);
    expect(child.exitCode).toBeNull();

    // The ones it holds still get their readings acknowledged.
    const first = clients.find((c) => c.connected)!;
    await first.publishAsync(`meters/${prefix}-m1/reading`, JSON.stringify({ meterId: `${prefix}-m1`, seq: 1, ts: Date.now(), voltage: 230 }), { qos: 1 });
    expect(child.exitCode).toBeNull();
  }, 120_000);
});
