// The forwarder's cut of a readings batch on a slow link (README "Slow links"): pure arithmetic
// over the send durations it measured, so the sends are fed in directly (no Kafka here; the
// 64 kbit/s row of test/reliability/link-faults.int.test.ts proves it on a real link).
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Forwarder } from '../../../edge/forward/index.ts';
import { silentLogger } from '../../../shared/index.ts';
import type { EdgeStore } from '../../../edge/store/index.ts';

type Timed = { measured(lane: 'control' | 'readings', rows: number, ms: number): void };
const forwarder = () => new Forwarder({ store: {} as EdgeStore, kafka: {} as Kafka, clientId: 't', logger: silentLogger(), batchMax: 5000 });

describe('forwarder on a slow link', () => {
  it('sends batchMax until it has measured the link', () => {
    expect(forwarder().readingsLimit()).toBe(5000);
  });

  it('cuts a readings batch to what a 64 kbit/s link carries in 2 s', () => {
    const f = forwarder();
    const t = f as unknown as Timed;
    t.measured('control', 3, 150); // a heartbeat: the fixed cost of a request
    t.measured('readings', 5000, 20_150); // 5000 readings in 20 s: ~250 readings/s
    expect(f.readingsLimit()).toBe(500);
    t.measured('readings', 500, 2150);
    expect(f.readingsLimit()).toBe(500);
  });

  it('keeps large batches on a long-latency link: the round trip is not bandwidth', () => {
    const f = forwarder();
    const t = f as unknown as Timed;
    t.measured('control', 2, 1600);
    t.measured('readings', 5000, 1700);
    expect(f.readingsLimit()).toBe(5000);
  });

  it('grows back when the link is fast again, and never cuts below 50', () => {
    const f = forwarder();
    const t = f as unknown as Timed;
    t.measured('control', 1, 100);
    t.measured('readings', 100, 60_100);
    expect(f.readingsLimit()).toBe(50);
    for (let i = 0; i < 20; i++) t.measured('readings', f.readingsLimit(), 105);
    expect(f.readingsLimit()).toBe(5000);
  });
});
