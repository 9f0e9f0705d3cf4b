import { afterAll, describe, expect, it } from 'vitest';
import type { EdgeGateway } from '../../edge/gateway.ts';
import { connectMqtt, consumeTopic, edgeTestConfig, startEdge, testPrefix, waitFor } from './helpers.ts';

// (e) A corpus of malformed and hostile messages is rejected with reasons while valid traffic continues.
const stop: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stop.reverse()) await s();
});

describe('edge under hostile input (real MQTT clients, real Kafka)', () => {
  it('rejects every bad message with its reason, keeps dead letters and gaps, and keeps taking valid readings', async () => {
    const prefix = testPrefix('edge-e');
    const edge: EdgeGateway = await startEdge(edgeTestConfig(prefix, { GRIDWATCH_MAX_ARRAY_READINGS: '100', GRIDWATCH_MQTT_MAX_PACKET_BYTES: '65536' }));
    stop.push(() => edge.stop());
    const url = `mqtt://127.0.0.1:${edge.mqttAddresses.tcp}`;
    const now = Date.now();
    const m = (i: number) => `${prefix}-m${i}`;
    const good = (i: number, seq: number) => ({ meterId: m(i), seq, ts: now + seq, voltage: 230 });

    // Valid traffic runs throughout, from its own client.
    const honest = await connectMqtt(url, { clientId: `${prefix}-honest` });
    stop.push(() => honest.endAsync(true));
    let valid = 0;
    let running = true;
    const validLoop = (async () => {
      for (let seq = 0; running || seq < 20; seq++) {
        await honest.publishAsync(`meters/${m(0)}/reading`, JSON.stringify(good(0, seq)), { qos: 1 });
        valid++;
      }
    })();

    // Payload-level corpus: acked (a resend cannot fix it), dead-lettered, counted by reason.
    const hostile = await connectMqtt(url, { clientId: `${prefix}-hostile` });
    stop.push(() => hostile.endAsync(true));
    const corpus: [string, string | Buffer, string][] = [
      [`meters/${m(1)}/reading`, '{"meterId":', 'invalid_json'],
      [`meters/${m(1)}/reading`, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'invalid_json'],
      [`meters/${m(1)}/reading`, '{"meterId":"x","ts":1,"voltage":NaN}', 'invalid_json'],
      [`meters/${m(1)}/reading`, JSON.stringify({ ...good(1, 1), voltage: 'high' }), 'wrong_type'],
      [`meters/${m(1)}/reading`, `{"meterId":"${m(1)}","seq":2,"ts":${now},"voltage":1e999}`, 'non_finite'],
      [`meters/${m(1)}/reading`, JSON.stringify({ meterId: m(1), seq: 3, ts: now }), 'missing_field'],
      [`meters/${m(1)}/reading`, JSON.stringify(good(2, 4)), 'topic_mismatch'],
      [`meters/${m(1)}/reading`, JSON.stringify({ ...good(1, 5), ts: now + 10 * 86_400_000 }), 'clock_absurd'],
      [`meters/${m(1)}/reading`, JSON.stringify({ ...good(1, 6), voltage: -1 }), 'out_of_range'],
      [`meters/${m(1)}/reading`, '[' + '['.repeat(10_000) + ']'.repeat(10_000) + ']', 'not_object'],
      [`meters/${m(1)}/reading`, '"just a string"', 'not_object'],
      [`meters/${m(1)}/reading`, '{"__proto__":{"polluted":true},"meterId":"' + m(1) + '","ts":' + now + '}', 'missing_field'],
      [`concentrators/${prefix}-c/readings`, JSON.stringify(new Array(101).fill(good(3, 1))), 'array_too_long'],
      [`concentrators/${prefix}-c/readings`, JSON.stringify({ not: 'an array' }), 'wrong_type'],
      [`meters/${m(1)}/event`, JSON.stringify({ meterId: m(1), ts: now, type: 'self_destruct' }), 'wrong_type'],
    ];
    for (const [topic, payload] of corpus) await hostile.publishAsync(topic, payload, { qos: 1 });
    // A concentrator array with some bad elements: good ones in, bad ones out one by one.
    await hostile.publishAsync(`concentrators/${prefix}-c/readings`, JSON.stringify([good(4, 1), { ...good(5, 1), voltage: null }, good(6, 1), 42]), { qos: 1 });
    expect(hostile.connected).toBe(true);

    // Publish-level refusals close the offending connection, not the gateway.
    for (const [topic, payload] of [
      ['$SYS/broker/uptime', 'x'],
      ['devices/x/anything', '{}'],
      [`meters/${m(1)}/reading/extra`, '{}'],
      [`meters/${m(1)}/reading`, 'x'.repeat(70_000)],
    ] as [string, string][]) {
      const c = await connectMqtt(url, { clientId: `${prefix}-x${topic.length}` });
      void c.publishAsync(topic, payload, { qos: 1 }).catch(() => undefined);
      await new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.end(true);
    }
    running = false;
    await validLoop;

    const counts = edge.intake.counts.rejected;
    const expected: Record<string, number> = {};
    for (const [, , reason] of corpus) expected[reason] = (expected[reason] ?? 0) + 1;
    expected.wrong_type = (expected.wrong_type ?? 0) + 1;
    expected.not_object = (expected.not_object ?? 0) + 1;
    expected.unknown_topic = 3;
    for (const [reason, n] of Object.entries(expected)) expect({ reason, n: counts[reason as keyof typeof counts] }).toEqual({ reason, n });
    const dead = edge.store.deadLetters(100);
    expect(dead.length).toBe(corpus.length + 2);
    expect(dead.every((d) => d.reason.length > 0 && d.detail.length > 0 && d.clientId === `${prefix}-hostile`)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(edge.readiness().ready).toBe(true);

    // Kafka: every valid reading, the good array elements, and rejection gaps for readings with an identity.
    await waitFor(() => edge.store.stats().depth === 0, 60_000, 'outbox drained');
    const readings = await consumeTopic(`${prefix}.grid.readings`, (all) => all.length >= valid + 2, { settleMs: 1000 });
    expect(readings.filter((r) => r.value.meterId === m(0))).toHaveLength(valid);
    expect(readings.filter((r) => r.value.meterId !== m(0)).map((r) => r.value.meterId).sort()).toEqual([m(4), m(6)]);
    const gaps = await consumeTopic(`${prefix}.grid.gaps`, (all) => all.length >= 5, { settleMs: 500 });
    expect(gaps.every((g) => g.value.reason === 'rejected' && g.key === prefix.slice(0, 60))).toBe(true);
    expect(gaps.map((g) => `${String(g.value.meterId)}:${String(g.value.fromSeq)}`).sort()).toEqual(
      [`${m(1)}:1`, `${m(1)}:2`, `${m(1)}:3`, `${m(1)}:5`, `${m(1)}:6`, `${m(5)}:1`].sort(),
    );
  });
});
