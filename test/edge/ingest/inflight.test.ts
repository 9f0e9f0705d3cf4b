import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import type { EmbeddedBroker } from '../../../edge/ingest/broker.ts';
import { MemoryCommitter, startBroker } from './helpers.ts';

const open: (MqttClient | EmbeddedBroker)[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await ('aedes' in x ? x.close() : (x as MqttClient).endAsync(true));
});

async function connect(url: string, id: string): Promise<MqttClient> {
  const c = mqtt.connect(url, { clientId: id, reconnectPeriod: 0, connectTimeout: 3000 });
  open.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

const reading = (meterId: string, seq: number) => JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230.1 });
const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`never: ${what}`);
};

describe('embedded broker: publishes held at once are bounded', () => {
  it('stops reading every connection past maxInflight while commits wait, then acks every publish, none lost', async () => {
    const committer = new MemoryCommitter();
    committer.hold = true;
    const b = await startBroker({ committer, maxInflight: 10, allowAnonymous: true });
    open.push(b.broker);
    const clients = await Promise.all([0, 1, 2].map((i) => connect(b.url, `meter-gw-${i}`)));
    const perClient = 30;
    const acks: Promise<unknown>[] = [];
    // One publish per client every 10 ms: separate TCP chunks, so the gate can stop between them.
    for (let s = 1; s <= perClient; s++) {
      clients.forEach((c, i) => acks.push(c.publishAsync(`meters/m-${i}/reading`, reading(`m-${i}`, s), { qos: 1 })));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => b.broker.gate.closed, 'the gate closed');
    await new Promise((r) => setTimeout(r, 300)); // what the sockets hold has had time to arrive
    // Held: at most the bound plus one chunk per connection, far from the 90 sent.
    expect(b.broker.gate.holding).toBeGreaterThanOrEqual(10);
    expect(committer.pending).toBeLessThanOrEqual(10 + clients.length);
    expect(b.broker.gate.closings).toBeGreaterThanOrEqual(1);
    committer.release();
    await Promise.all(acks);
    const ids = committer.records('grid.readings').map((r) => `${r.key}:${JSON.parse(r.value).seq}`);
    expect(ids).toHaveLength(3 * perClient);
    expect(new Set(ids).size).toBe(3 * perClient);
    // Per-meter order kept through the pauses.
    for (let i = 0; i < 3; i++) expect(committer.records('grid.readings').filter((r) => r.key === `m-${i}`).map((r) => JSON.parse(r.value).seq)).toEqual(Array.from({ length: perClient }, (_, s) => s + 1));
    // aedes completes a publish after its PUBACK is written and the message routed: then the gate opens.
    await until(() => b.broker.gate.holding === 0, 'every publish completed');
    expect(b.broker.gate.closed).toBe(false);
  });
});
