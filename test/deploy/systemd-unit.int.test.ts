// deploy/systemd as shipped: the unit passes `systemd-analyze verify` (Debian's systemd package,
// pinned in deploy/services/versions.ts and installed by the services harness when missing), and
// edge.env.example starts a gateway as it is, secured: device credentials, TLS with its CA, no
// anonymous clients. Only what a host provides is changed: the files it names are made under a
// temporary root, the ports are free ones, and the data directory is a temporary one.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../deploy/services/debian.ts';
import { hashPassword } from '../../edge/ingest/auth.ts';
import { throwawayTls } from '../harness/throwaway-tls.ts';
import { freePorts } from '../harness/ports.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const UNIT = join(ROOT, 'deploy/systemd/gridwatch-edge.service');
const EXAMPLE = join(ROOT, 'deploy/systemd/edge.env.example');
const run = promisify(execFile);

/** systemd's EnvironmentFile syntax as the example uses it: KEY=VALUE lines, # comments. */
function parseEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`not KEY=VALUE: ${line}`);
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

let child: ChildProcess | null = null;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('deploy/systemd', () => {
  it('systemd-analyze verify accepts the unit, and rejects a broken copy of it', async () => {
    const analyze = await toolPath('systemd');
    const dir = mkdtempSync(join(tmpdir(), 'gw-unit-'));
    // verify checks that ExecStart's binary exists: where node is not /usr/bin/node, point at this one.
    const unit = readFileSync(UNIT, 'utf8').replace('/usr/bin/node ', existsSync('/usr/bin/node') ? '/usr/bin/node ' : `${process.execPath} `);
    writeFileSync(join(dir, 'gridwatch-edge.service'), unit);
    const ok = await run(analyze, ['verify', join(dir, 'gridwatch-edge.service')]).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(ok.out.split('\n').filter((l) => l.includes('gridwatch-edge.service'))).toEqual([]);
    expect(ok.code).toBe(0);
    mkdirSync(join(dir, 'bad'));
    writeFileSync(join(dir, 'bad', 'gridwatch-edge.service'), unit.replace('Restart=always', 'Restart=sometimes'));
    const bad = await run(analyze, ['verify', join(dir, 'bad', 'gridwatch-edge.service')]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    expect(bad).toMatch(/restart specifier/i);
  });

  it('edge.env.example names every file a secured gateway needs, and a gateway starts with it as it is', async () => {
    const env = parseEnvironmentFile(readFileSync(EXAMPLE, 'utf8'));
    expect(env.GRIDWATCH_MQTT_ALLOW_ANONYMOUS).toBe('false');
    for (const k of ['GRIDWATCH_MQTT_CREDENTIALS', 'GRIDWATCH_KAFKA_TLS_CA_FILE', 'GRIDWATCH_MQTT_TLS_CERT', 'GRIDWATCH_MQTT_TLS_KEY', 'GRIDWATCH_KAFKA_SASL_PASSWORD_FILE']) {
      expect(env[k], k).toMatch(/^\/etc\/gridwatch\//);
    }
    for (const k of Object.keys(env)) expect(k, `${k} is a secret written in the file`).not.toMatch(/(PASSWORD|SECRET|TOKEN)$/);

    // The host's files, under a temporary root.
    const root = mkdtempSync(join(tmpdir(), 'gw-sd-root-'));
    const at = (p: string): string => join(root, p);
    const host = (p: string): string => {
      mkdirSync(dirname(at(p)), { recursive: true });
      return at(p);
    };
    const tls = throwawayTls('gw-sd');
    copyFileSync(tls.caFile, host(env.GRIDWATCH_KAFKA_TLS_CA_FILE!));
    copyFileSync(tls.certFile, host(env.GRIDWATCH_MQTT_TLS_CERT!));
    copyFileSync(tls.keyFile, host(env.GRIDWATCH_MQTT_TLS_KEY!));
    writeFileSync(host(env.GRIDWATCH_KAFKA_SASL_PASSWORD_FILE!), 'kafka-password-from-a-file\n', { mode: 0o640 });
    const meter = 'S01-m1';
    const devicePassword = 'device-password-1';
    writeFileSync(host(env.GRIDWATCH_MQTT_CREDENTIALS!), JSON.stringify({ [meter]: { passwordHash: await hashPassword(devicePassword), kind: 'meter', id: meter } }), { mode: 0o640 });
    writeFileSync(host(env.GRIDWATCH_TOPOLOGY!), `meterId,transformerId,feederId,substationId,phase,nominalVoltage,nominalFrequency\n${meter},S01-f1-t1,S01-f1,S01,A,230,50\n`);

    const [mqttPort, tlsPort, httpPort] = (await freePorts(3)) as [number, number, number];
    const fromExample = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/etc/gridwatch/') ? at(v) : v]));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDWATCH_'))) as Record<string, string>;
    const c = spawn(process.execPath, ['bin/gridwatch.js', 'edge'], {
      cwd: ROOT,
      env: {
        ...base,
        ...fromExample,
        GRIDWATCH_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-sd-data-')), // the unit's Environment=
        NODE_ENV: 'production',
        GRIDWATCH_MQTT_HOST: '127.0.0.1',
        GRIDWATCH_MQTT_PORT: String(mqttPort),
        GRIDWATCH_MQTT_TLS_PORT: String(tlsPort),
        GRIDWATCH_HTTP_PORT: String(httpPort),
        GRIDWATCH_DRAIN_TIMEOUT_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let log = '';
    c.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | string>((r) => c.once('exit', (code, signal) => r(code ?? signal ?? 'unknown')));

    // Started: the TLS listener takes a device's reading (the WAN to Kafka is down: the outbox keeps it).
    const end = Date.now() + 60_000;
    let device: mqtt.MqttClient | undefined;
    while (!device) {
      if (c.exitCode !== null) throw new Error(`edge exited ${c.exitCode}:\n${log}`);
      device = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, { ca: tls.ca, servername: 'localhost', username: meter, password: devicePassword, clientId: meter, reconnectPeriod: 0, connectTimeout: 2000 }).catch(() => undefined);
      if (!device && Date.now() > end) throw new Error(`edge did not take TLS connections in 60 s:\n${log}`);
      if (!device) await new Promise((r) => setTimeout(r, 300));
    }
    await device.publishAsync(`meters/${meter}/reading`, JSON.stringify({ meterId: meter, seq: 1, ts: Date.now(), voltage: 231 }), { qos: 1 });
    await device.endAsync();
    // Anonymous, and a known device with a wrong password, are refused.
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow(/Not authorized|Bad username or password/i);
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: meter, password: 'wrong', reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow(/Not authorized|Bad username or password/i);

    c.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).not.toContain('kafka-password-from-a-file');
    expect(log).not.toContain(devicePassword);
  });
});
