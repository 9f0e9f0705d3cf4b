/**
 * The edge's MQTT listeners with real clients: mosquitto_pub / mosquitto_sub (Debian's
 * mosquitto-clients, installed by deploy/services at the pinned version) over TLS with --cafile,
 * MQTT.js over TLS and over WebSocket-over-TLS, client certificates from a throwaway CA, and the
 * credentials file reloaded under connected clients.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDevices, removeDevice } from '../../../cli/credentials-devices.ts';
import { mosquittoClientPaths } from '../../../deploy/services/index.ts';
import { loadCredentialsFile, type Authorizer } from '../../../edge/ingest/auth.ts';
import { EmbeddedBroker } from '../../../edge/ingest/broker.ts';
import { CredentialsWatch } from '../../../edge/ingest/credentials-watch.ts';
import { readDeviceSecrets } from '../../../shared/device-secrets.ts';
import { flood } from '../../../simulator/flood.ts';
import { silentLogger, Metrics, systemClock } from '../../../shared/index.ts';
import { makeThrowawayCa, writeThrowawayPki, type PkiFiles } from '../../../shared/throwaway-pki.ts';
import { makeIntake, type MemoryCommitter } from './helpers.ts';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'gw-mqtt-sec-'));
const credentialsFile = join(dir, 'credentials.json');
const deviceFile = join(dir, 'devices.json');
let pki: PkiFiles;
let strangerPki: PkiFiles;
let tools: { pub: string; sub: string };
let broker: EmbeddedBroker;
let committer: MemoryCommitter;
let watch: CredentialsWatch;
let authorizer: Authorizer;
let metrics: Metrics;
let secrets: Record<string, { username: string; password: string }>;
const clients: MqttClient[] = [];

const reading = (meterId: string, seq: number) => JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230.4 });
const committed = (meterId: string) => committer.records('grid.readings').filter((r) => r.meterId === meterId).length;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function untilAsync(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function connect(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 4000, clientId: `t-${clients.length}-${process.pid}`, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Resolves when the connection is closed (at once if it already is); fails after `ms`. */
function closed(c: MqttClient, ms = 5000): Promise<void> {
  if (!c.connected) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the connection stayed open')), ms);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
const tlsUrl = () => `mqtts://127.0.0.1:${broker.addresses.tls}`;
const wssUrl = () => `wss://127.0.0.1:${broker.addresses.wss}/mqtt`;

beforeAll(async () => {
  tools = await mosquittoClientPaths();
  pki = writeThrowawayPki(join(dir, 'pki'), ['m-a', 'm-b']);
  // Another CA's certificates, with the very same CNs: they must count for nothing.
  strangerPki = writeThrowawayPki(join(dir, 'stranger'), ['m-a'], makeThrowawayCa('not the gateway CA'));
  await addDevices(
    credentialsFile,
    [
      { username: 'm-a', kind: 'meter', id: 'm-a', password: null, clientCert: true },
      { username: 'm-b', kind: 'meter', id: 'm-b', password: null, clientCert: true },
      { username: 'meter-p', kind: 'meter', id: 'm-p' },
      { username: 'meter-q', kind: 'meter', id: 'm-q' },
      { username: 'meter-r', kind: 'meter', id: 'm-r' },
      { username: 'ops', kind: 'operator', id: 'ops' },
    ],
    { deviceFile },
  );
  secrets = Object.fromEntries(Object.values(readDeviceSecrets(deviceFile)).map((s) => [s.username, s]));
  const parts = makeIntake({ clock: systemClock, allowAnonymous: false, credentials: loadCredentialsFile(credentialsFile) });
  committer = parts.committer;
  authorizer = parts.authorizer;
  broker = await EmbeddedBroker.start({
    intake: parts.intake,
    authorizer: parts.authorizer,
    logger: silentLogger(),
    limits: { maxConnections: 50, maxPacketBytes: 64 * 1024, maxTopicLength: 128, maxClientIdLength: 64, socketBufferBytes: 65_536 },
    listeners: { host: '127.0.0.1', port: 0, tls: { port: 0, certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, clientCerts: 'optional' }, wssPort: 0 },
  });
  metrics = new Metrics('edge');
  watch = CredentialsWatch.start({ path: credentialsFile, authorizer, disconnectUsers: (u) => broker.disconnectUsers(u), logger: silentLogger(), metrics, debounceMs: 100 });
}, 120_000);

afterAll(async () => {
  watch?.close();
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.close();
});

describe('TLS listener with mosquitto clients', () => {
  it('mosquitto_pub --cafile: a QoS 1 reading over TLS is committed, and mosquitto_sub receives it', async () => {
    const sub = exec(tools.sub, ['-h', '127.0.0.1', '-p', String(broker.addresses.tls), '--cafile', pki.caFile, '-u', 'ops', '-P', secrets['ops']!.password, '-t', 'meters/+/reading', '-C', '1', '-W', '10', '-i', 'sub-ops']);
    await until('the operator subscription', () => broker.connectedClients >= 1);
    await sleep(200); // SUBSCRIBE follows CONNECT
    await exec(tools.pub, ['-h', '127.0.0.1', '-p', String(broker.addresses.tls), '--cafile', pki.caFile, '-u', 'meter-p', '-P', secrets['meter-p']!.password, '-t', 'meters/m-p/reading', '-q', '1', '-m', reading('m-p', 1), '-i', 'pub-p']);
    expect(committed('m-p')).toBe(1);
    const { stdout } = await sub;
    expect(JSON.parse(stdout.trim())).toMatchObject({ meterId: 'm-p', seq: 1 });
  });

  it('refuses a client that trusts another CA (mosquitto_pub and MQTT.js), and nothing is committed', async () => {
    const before = committer.records().length;
    const pub = exec(tools.pub, ['-h', '127.0.0.1', '-p', String(broker.addresses.tls), '--cafile', strangerPki.caFile, '-u', 'meter-p', '-P', secrets['meter-p']!.password, '-t', 'meters/m-p/reading', '-q', '1', '-m', reading('m-p', 2)]);
    const err = (await pub.then(() => null, (e: Error & { stderr?: string; code?: number }) => e))!;
    expect(err).not.toBeNull();
    expect(err.code).not.toBe(0);
    expect(String(err.stderr)).toMatch(/certificate verify failed|TLS|protocol error/i);
    await expect(connect(tlsUrl(), { ca: readCa(strangerPki), username: 'meter-p', password: secrets['meter-p']!.password })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    // The refusal is the client's: a client that checks nothing would get in, which is why every
    // shipped client configuration names a CA (the gateway cannot check what the client trusts).
    expect(committer.records().length).toBe(before);
  });

  it('a plain-TCP client cannot speak to the TLS port', async () => {
    await expect(connect(`mqtt://127.0.0.1:${broker.addresses.tls}`, { username: 'meter-p', password: secrets['meter-p']!.password })).rejects.toThrow();
  });
});

describe('WebSocket over TLS with MQTT.js', () => {
  it('publishes a QoS 1 reading over wss with the CA, and is refused with another CA', async () => {
    const c = await connect(wssUrl(), { ca: readCa(pki), username: 'meter-q', password: secrets['meter-q']!.password });
    await c.publishAsync('meters/m-q/reading', reading('m-q', 1), { qos: 1 });
    expect(committed('m-q')).toBe(1);
    await c.endAsync();
    await expect(connect(wssUrl(), { ca: readCa(strangerPki), username: 'meter-q', password: secrets['meter-q']!.password })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });
});

describe('client certificates', () => {
  it('mosquitto_pub with the certificate of meter A publishes as A, with no password', async () => {
    await exec(tools.pub, ['-h', '127.0.0.1', '-p', String(broker.addresses.tls), '--cafile', pki.caFile, '--cert', pki.clients['m-a']!.cert, '--key', pki.clients['m-a']!.key, '-t', 'meters/m-a/reading', '-q', '1', '-m', reading('m-a', 1), '-i', 'pub-a']);
    expect(committed('m-a')).toBe(1);
  });

  it('the certificate of meter A cannot publish as meter B: the connection is closed, nothing committed', async () => {
    const c = await connect(tlsUrl(), { ca: readCa(pki), cert: readFile(pki.clients['m-a']!.cert), key: readFile(pki.clients['m-a']!.key) });
    let acked = false;
    void c.publishAsync('meters/m-b/reading', reading('m-b', 1), { qos: 1 }).then(() => (acked = true), () => undefined);
    await closed(c);
    expect(acked).toBe(false);
    expect(committed('m-b')).toBe(0);
    // Same over wss: the certificate is the identity on every TLS listener.
    const w = await connect(wssUrl(), { ca: readCa(pki), cert: readFile(pki.clients['m-a']!.cert), key: readFile(pki.clients['m-a']!.key) });
    void w.publishAsync('meters/m-b/reading', reading('m-b', 2), { qos: 1 }).catch(() => undefined);
    await closed(w);
    expect(committed('m-b')).toBe(0);
  });

  it('the certificate of meter A claiming user name m-b is refused at CONNECT', async () => {
    await expect(connect(tlsUrl(), { ca: readCa(pki), cert: readFile(pki.clients['m-a']!.cert), key: readFile(pki.clients['m-a']!.key), username: 'm-b', password: 'x' })).rejects.toThrow(/Bad username or password|Not authorized|closed/i);
  });

  it('a certificate with CN m-a from another CA identifies nobody', async () => {
    await expect(connect(tlsUrl(), { ca: readCa(pki), cert: readFile(strangerPki.clients['m-a']!.cert), key: readFile(strangerPki.clients['m-a']!.key) })).rejects.toThrow(/Bad username or password|Not authorized|closed/i);
  });

  it('a certificate is no identity on a listener that asks for none (plain TCP)', async () => {
    await expect(connect(`mqtt://127.0.0.1:${broker.addresses.tcp}`, { username: 'm-a' })).rejects.toThrow(/Bad username or password|Not authorized|closed/i);
  });
});

describe('simulator with per-device credentials', () => {
  it('flood --device-credentials --ca: each device connects with its own password over TLS; a device missing from the file stops it', async () => {
    const now = Date.now();
    const item = (meterId: string, seq: number) => ({ kind: 'reading' as const, at: now, deliverAt: now, meterId, substationId: 's-1', concentratorId: `dc-${meterId}`, reading: { meterId, seq, ts: now, voltage: 230.2 } });
    const devices = { 'm-p': secrets['meter-p']!, 'm-q': secrets['meter-q']! };
    const before = [committed('m-p'), committed('m-q')];
    const report = await flood({ brokers: [tlsUrl()], items: [item('m-p', 100), item('m-q', 100), item('m-p', 101)], from: now, intervalMs: 1000, qos: 1, auth: { perDevice: true, devices }, ca: readFileSync(pki.caFile, 'utf8') });
    expect(report).toMatchObject({ sent: 3, acked: 3, errors: 0, connections: 2 });
    expect([committed('m-p') - before[0]!, committed('m-q') - before[1]!]).toEqual([2, 1]);
    await expect(flood({ brokers: [tlsUrl()], items: [item('m-zz', 1)], from: now, intervalMs: 1000, auth: { perDevice: true, devices }, ca: readFileSync(pki.caFile, 'utf8') })).rejects.toThrow(/no credentials for device m-zz/);
  });
});

describe('client certificates required', () => {
  it('refuses the TLS handshake without a certificate from the CA; admits one with it', async () => {
    const parts = makeIntake({ clock: systemClock, allowAnonymous: false, credentials: loadCredentialsFile(credentialsFile) });
    const strict = await EmbeddedBroker.start({
      intake: parts.intake,
      authorizer: parts.authorizer,
      logger: silentLogger(),
      limits: { maxConnections: 10, maxPacketBytes: 64 * 1024, maxTopicLength: 128, maxClientIdLength: 64, socketBufferBytes: 65_536 },
      listeners: { host: '127.0.0.1', port: 0, tls: { port: 0, certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, clientCerts: 'required' } },
    });
    try {
      const url = `mqtts://127.0.0.1:${strict.addresses.tls}`;
      await expect(connect(url, { ca: readCa(pki), username: 'meter-p', password: secrets['meter-p']!.password })).rejects.toThrow(/certificate|handshake|closed|socket/i);
      await expect(connect(url, { ca: readCa(pki), cert: readFile(strangerPki.clients['m-a']!.cert), key: readFile(strangerPki.clients['m-a']!.key) })).rejects.toThrow(/certificate|unknown ca|closed|socket/i);
      const ok = await connect(url, { ca: readCa(pki), cert: readFile(pki.clients['m-b']!.cert), key: readFile(pki.clients['m-b']!.key) });
      await ok.publishAsync('meters/m-b/reading', reading('m-b', 9), { qos: 1 });
      expect(parts.committer.records('grid.readings').filter((r) => r.meterId === 'm-b')).toHaveLength(1);
      await ok.endAsync();
    } finally {
      await strict.close();
    }
  });
});

describe('credentials reload', () => {
  it('a removed device is disconnected when the file changes; another stays connected and keeps publishing', async () => {
    const stays = await connect(`mqtt://127.0.0.1:${broker.addresses.tcp}`, { username: 'meter-p', password: secrets['meter-p']!.password });
    const goes = await connect(tlsUrl(), { ca: readCa(pki), username: 'meter-r', password: secrets['meter-r']!.password });
    await goes.publishAsync('meters/m-r/reading', reading('m-r', 1), { qos: 1 });
    const before = committed('m-p');
    let staysClosed = false;
    stays.once('close', () => (staysClosed = true));

    removeDevice(credentialsFile, 'meter-r');
    await closed(goes);
    for (let seq = 10; seq < 15; seq++) await stays.publishAsync('meters/m-p/reading', reading('m-p', seq), { qos: 1 });
    expect(staysClosed).toBe(false);
    expect(committed('m-p')).toBe(before + 5);
    // And the removed device cannot come back.
    await expect(connect(tlsUrl(), { ca: readCa(pki), username: 'meter-r', password: secrets['meter-r']!.password })).rejects.toThrow(/Bad username or password|Not authorized|closed/i);
    expect(await counter('reloaded')).toBeGreaterThanOrEqual(1);
    await stays.endAsync();
  });

  it('a bad file keeps the credentials in force (logged and counted), and SIGHUP reloads a fixed one', async () => {
    const errorsBefore = await counter('error');
    writeFileSync(credentialsFile, '{ "meter-p": { "kind": "meter", "id": "m-p", "passwordHash": "not a hash" } }');
    await untilAsync('the rejected reload to be counted', async () => (await counter('error')) > errorsBefore);
    const c = await connect(`mqtt://127.0.0.1:${broker.addresses.tcp}`, { username: 'meter-q', password: secrets['meter-q']!.password });
    await c.publishAsync('meters/m-q/reading', reading('m-q', 5), { qos: 1 });

    // Fix the file with the watcher's debounce at a minute: the reload that follows comes from SIGHUP.
    watch.close();
    const hupMetrics = new Metrics('edge');
    watch = CredentialsWatch.start({ path: credentialsFile, authorizer, disconnectUsers: (u) => broker.disconnectUsers(u), logger: silentLogger(), metrics: hupMetrics, debounceMs: 60_000 });
    const fixedFile = join(dir, 'fixed.json');
    await addDevices(fixedFile, [{ username: 'meter-q', kind: 'meter', id: 'm-q', password: secrets['meter-q']!.password }]);
    writeFileSync(credentialsFile, readFileSync(fixedFile));
    await sleep(300);
    expect(await counter('reloaded', hupMetrics)).toBe(0);
    expect(process.listenerCount('SIGHUP')).toBeGreaterThan(0);
    expect(c.connected).toBe(true);
    process.kill(process.pid, 'SIGHUP');
    await untilAsync('the SIGHUP reload', async () => (await counter('reloaded', hupMetrics)) === 1);
    // meter-q's entry changed (new hash): it is disconnected and reconnects with its password.
    await closed(c);
    const again = await connect(`mqtt://127.0.0.1:${broker.addresses.tcp}`, { username: 'meter-q', password: secrets['meter-q']!.password });
    await again.publishAsync('meters/m-q/reading', reading('m-q', 6), { qos: 1 });
    // meter-p is gone from the fixed file.
    await expect(connect(`mqtt://127.0.0.1:${broker.addresses.tcp}`, { username: 'meter-p', password: secrets['meter-p']!.password })).rejects.toThrow(/Bad username or password|Not authorized|closed/i);
    expect(await counter('reloaded', hupMetrics)).toBe(1);
    await again.endAsync();
  });
});

const readFile = (path: string): Buffer => readFileSync(path);
const readCa = (p: PkiFiles): Buffer => readFileSync(p.caFile);

async function counter(result: string, m0: Metrics = metrics): Promise<number> {
  const text = await m0.registry.metrics();
  const m = new RegExp(`gridwatch_edge_credentials_reloads_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}
