import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { testEndpoints } from '../harness/env.ts';
import { testPrefix } from './helpers.ts';
import { notifyListener, type NotifyListener } from './ops/notify-listener.ts';

// `gridwatch edge` as systemd runs it (Type=notify, WatchdogSec): NOTIFY_SOCKET points at a unix
// datagram socket this test binds (python3 listener), the notifications go through systemd-notify.
let child: ChildProcess | null = null;
let listener: NotifyListener | null = null;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  listener?.close();
});

describe('gridwatch edge under systemd (notify socket, watchdog)', () => {
  it('sends READY=1 when it takes readings, watchdog pings with the outbox depth, STOPPING=1 on SIGTERM', async () => {
    const l = await notifyListener();
    listener = l;
    const prefix = testPrefix('edge-sd');
    const env = {
      ...process.env,
      NOTIFY_SOCKET: l.socketPath,
      WATCHDOG_USEC: '1000000', // pings every 500 ms
      GRIDWATCH_EDGE_ID: prefix.slice(0, 60),
      GRIDWATCH_DATA_DIR: mkdtempSync(join(tmpdir(), 'gridwatch-edge-sd-')),
      GRIDWATCH_KAFKA_BROKERS: testEndpoints().kafkaBrokers.join(','),
      GRIDWATCH_KAFKA_TOPIC_PREFIX: `${prefix}.`,
      GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '1',
      GRIDWATCH_MQTT_HOST: '127.0.0.1',
      GRIDWATCH_MQTT_PORT: '0',
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: '0',
      GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
      GRIDWATCH_DRAIN_TIMEOUT_MS: '2000',
      GRIDWATCH_LOG_LEVEL: 'info',
    };
    const c = spawn(process.execPath, ['bin/gridwatch.js', 'edge'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let log = '';
    c.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (log += d.toString()));

    const ready = await l.waitFor((m) => m.includes('READY=1'), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${log}`);
    });
    expect(ready[0]).toBe(`MAINPID=${c.pid}`);
    expect(ready.find((a) => a.startsWith('STATUS='))).toMatch(/^STATUS=outbox \d+ records/);
    // READY only once the MQTT listener takes readings.
    const t1 = Date.now();
    while (!/"tcp":\d+/.test(log) && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 20));
    const port = Number(/"tcp":(\d+)/.exec(log)?.[1]);
    expect(port).toBeGreaterThan(0);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `${prefix}-c`, reconnectPeriod: 0 });
    await client.publishAsync(`meters/${prefix}-m/reading`, JSON.stringify({ meterId: `${prefix}-m`, seq: 1, ts: Date.now(), voltage: 231 }), { qos: 1 });
    await client.endAsync();

    const t0 = Date.now();
    const before = l.messages.filter((m) => m.includes('WATCHDOG=1')).length;
    await new Promise((r) => setTimeout(r, 2600));
    const pings = l.messages.filter((m) => m.includes('WATCHDOG=1'));
    // At half of WATCHDOG_USEC: about 5 in 2.6 s (timers on a busy 2-core machine run late, never early).
    expect(pings.length - before).toBeGreaterThanOrEqual(3);
    expect(pings.length - before).toBeLessThanOrEqual(6);
    expect(pings.at(-1)?.find((a) => a.startsWith('STATUS='))).toMatch(/^STATUS=outbox \d+ records, [\d.]+ MiB, oldest \d+ s; 1 meters; Kafka /);
    expect(Date.now() - t0).toBeLessThan(10_000);

    c.kill('SIGTERM');
    await l.waitFor((m) => m.includes('STOPPING=1'), 10_000);
    const code = await new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (x) => r(x))));
    expect(code).toBe(0);
  });
});
