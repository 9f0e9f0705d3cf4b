import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { hashPassword } from '../../../edge/ingest/auth.ts';
import type { EmbeddedBroker } from '../../../edge/ingest/broker.ts';
import { MemoryCommitter, startBroker } from './helpers.ts';

const open: (MqttClient | EmbeddedBroker)[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await (x instanceof Object && 'aedes' in x ? x.close() : (x as MqttClient).endAsync(true));
});

function connect(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  open.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const reading = (meterId: string, seq: number) => JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230.1 });

describe('embedded broker: PUBACK gate', () => {
  it('does not PUBACK a QoS 1 reading until its commit, then does', async () => {
    const committer = new MemoryCommitter();
    committer.hold = true;
    const b = await startBroker({ committer });
    open.push(b.broker);
    const c = await connect(b.url);
    let acked = false;
    const pub = c.publishAsync('meters/m-1/reading', reading('m-1', 1), { qos: 1 }).then(() => (acked = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(committer.pending).toBe(1);
    expect(acked).toBe(false);
    committer.release();
    await pub;
    expect(acked).toBe(true);
    expect(committer.records('grid.readings')).toHaveLength(1);
  });

  it('does not PUBACK when the commit fails, and drops the connection', async () => {
    const committer = new MemoryCommitter();
    committer.fail = new Error('disk gone');
    const b = await startBroker({ committer });
    open.push(b.broker);
    const c = await connect(b.url);
    let acked = false;
    void c.publishAsync('meters/m-1/reading', reading('m-1', 1), { qos: 1 }).then(() => (acked = true), () => undefined);
    await new Promise<void>((resolve) => c.once('close', () => resolve()));
    expect(acked).toBe(false);
  });

  it('acks a malformed reading after dead-lettering it, and keeps the connection', async () => {
    const b = await startBroker();
    open.push(b.broker);
    const c = await connect(b.url);
    await c.publishAsync('meters/m-1/reading', '{"meterId":"m-1",', { qos: 1 });
    await c.publishAsync('meters/m-1/reading', reading('m-1', 2), { qos: 1 });
    expect(b.committer.deadLetters().map((d) => d.reason)).toEqual(['invalid_json']);
    expect(b.committer.records('grid.readings')).toHaveLength(1);
    expect(c.connected).toBe(true);
  });
});

describe('embedded broker: security', () => {
  it('authenticates devices and keeps each to its own topics', async () => {
    const credentials = {
      'meter-a': { passwordHash: await hashPassword('pw-a'), kind: 'meter' as const, id: 'm-a' },
      'conc-1': { passwordHash: await hashPassword('pw-c'), kind: 'concentrator' as const, id: 'c-1', meters: ['m-x', 'm-y'] },
      ops: { passwordHash: await hashPassword('pw-o'), kind: 'operator' as const, id: 'ops' },
    };
    const b = await startBroker({ credentials, allowAnonymous: false });
    open.push(b.broker);
    await expect(connect(b.url)).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(connect(b.url, { username: 'meter-a', password: 'wrong' })).rejects.toThrow(/Bad username|Not authorized/i);

    const meter = await connect(b.url, { username: 'meter-a', password: 'pw-a' });
    await meter.publishAsync('meters/m-a/reading', reading('m-a', 1), { qos: 1 });
    await expect(meter.subscribeAsync('meters/#')).rejects.toThrow(/Subscribe error/);
    await expect(meter.subscribeAsync('$SYS/#')).rejects.toThrow(/Subscribe error/);
    void meter.publishAsync('meters/m-b/reading', reading('m-b', 1), { qos: 1 }).catch(() => undefined);
    await new Promise<void>((resolve) => meter.once('close', () => resolve()));
    expect(b.committer.records('grid.readings').map((r) => r.key)).toEqual(['m-a']);

    const conc = await connect(b.url, { username: 'conc-1', password: 'pw-c' });
    const arr = [JSON.parse(reading('m-x', 1)), JSON.parse(reading('m-z', 1)), { meterId: 'm-y', seq: 1, ts: Date.now(), voltage: 'high' }];
    await conc.publishAsync('concentrators/c-1/readings', JSON.stringify(arr), { qos: 1 });
    expect(b.committer.records('grid.readings').map((r) => r.key)).toEqual(['m-a', 'm-x']);
    expect(b.committer.deadLetters().map((d) => d.reason).sort()).toEqual(['unauthorized', 'wrong_type']);
    await conc.publishAsync('meters/m-x/event', JSON.stringify({ meterId: 'm-x', ts: Date.now(), type: 'last_gasp' }), { qos: 1 });
    expect(b.committer.records('grid.anomalies').length).toBeGreaterThanOrEqual(1);

    const ops = await connect(b.url, { username: 'ops', password: 'pw-o' });
    expect((await ops.subscribeAsync('meters/#'))[0]?.qos).toBe(0);
    await expect(ops.subscribeAsync('$SYS/#')).rejects.toThrow(/Subscribe error/);
  });

  it('authorises a will message like a publish', async () => {
    const credentials = { 'meter-a': { passwordHash: await hashPassword('pw-a'), kind: 'meter' as const, id: 'm-a' } };
    const b = await startBroker({ credentials, allowAnonymous: false });
    open.push(b.broker);
    const will = { topic: 'meters/m-a/event', payload: Buffer.from(JSON.stringify({ meterId: 'm-a', ts: Date.now(), type: 'last_gasp' })), qos: 1 as const, retain: false };
    const good = await connect(b.url, { username: 'meter-a', password: 'pw-a', will });
    (good as unknown as { stream: { destroy(): void } }).stream.destroy();
    const bad = await connect(b.url, { username: 'meter-a', password: 'pw-a', will: { ...will, topic: 'meters/m-other/event' } });
    (bad as unknown as { stream: { destroy(): void } }).stream.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const anomalies = b.committer.records('grid.anomalies');
    expect(anomalies.map((a) => a.meterId)).toEqual(['m-a']);
  });

  it('closes connections beyond the limit and packets over the size limit', async () => {
    const b = await startBroker();
    open.push(b.broker);
    for (let i = 0; i < 5; i++) await connect(b.url);
    await expect(connect(b.url, { connectTimeout: 1000 })).rejects.toBeDefined();
    for (const c of open.splice(1)) await (c as MqttClient).endAsync(true);
    const c = await connect(b.url);
    void c.publishAsync('meters/m-1/reading', 'x'.repeat(100 * 1024), { qos: 1 }).catch(() => undefined);
    await new Promise<void>((resolve) => c.once('close', () => resolve()));
    expect(b.committer.units).toHaveLength(0);
    await expect(connect(b.url, { clientId: 'c'.repeat(100) })).rejects.toBeDefined();
  });

  it('counts every refused oversized packet or topic as payload_too_large', async () => {
    const b = await startBroker();
    open.push(b.broker);
    const big = await connect(b.url);
    void big.publishAsync('meters/m-1/reading', 'x'.repeat(100 * 1024), { qos: 1 }).catch(() => undefined);
    await new Promise<void>((resolve) => big.once('close', () => resolve()));
    expect(b.intake.counts.rejected.payload_too_large).toBe(1);
    const long = await connect(b.url);
    void long.publishAsync(`meters/${'m'.repeat(200)}/reading`, reading('m-1', 1), { qos: 1 }).catch(() => undefined);
    await new Promise<void>((resolve) => long.once('close', () => resolve()));
    expect(b.intake.counts.rejected.payload_too_large).toBe(2);
    expect(b.intake.counts.rejectedTotal()).toBe(2);
    expect(b.committer.units).toHaveLength(0);
  });
});
