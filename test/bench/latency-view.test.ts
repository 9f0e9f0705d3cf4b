import { describe, expect, it } from 'vitest';
import { centralView } from '../../bench/latency.ts';
import { LATENCY_BUCKETS_S, Metrics } from '../../shared/metrics.ts';

describe('bench latency: central\'s own view from its /metrics', () => {
  it('reads the publish and record-to-handled histograms and the event loop and GC series of a real registry', async () => {
    const m = new Metrics('central');
    const publish = m.histogram('central_publish_seconds', 'p', LATENCY_BUCKETS_S);
    const toEvent = m.histogram('central_anomaly_to_event_seconds', 'a', LATENCY_BUCKETS_S);
    for (const s of [0.004, 0.006, 0.07, 0.3, 1.2]) publish.observe(s);
    for (const s of [0.01, 0.02]) toEvent.observe(s);
    const v = centralView(await m.text());
    expect(v.publish).toEqual({ count: 5, sumS: 1.58, over: { '50ms': 3, '100ms': 2, '250ms': 2, '500ms': 1, '1000ms': 1 } });
    expect(v.recordToHandled?.count).toBe(2);
    expect(v.recordToHandled?.over['50ms']).toBe(0);
    // The default metrics are on: the event loop delay is read as a number of ms.
    expect(typeof v.eventLoopLagMs.max).toBe('number');
    expect(v.eventLoopLagMs.max!).toBeGreaterThanOrEqual(0);
  });

  it('keeps the GC histogram\'s kinds apart (a label besides the default one, before or after le)', async () => {
    const m = new Metrics('central', { defaultMetrics: false });
    const gc = m.histogram('nodejs_gc_duration_seconds', 'g', [0.001, 0.01, 0.1, 1, 2, 5], ['kind']);
    gc.observe({ kind: 'major' }, 0.2);
    gc.observe({ kind: 'major' }, 0.005);
    gc.observe({ kind: 'minor' }, 0.002);
    const v = centralView(await m.text());
    expect(v.gc).toEqual({ major: { count: 2, sumS: 0.205, over: { '100ms': 1, '1000ms': 0 } }, minor: { count: 1, sumS: 0.002, over: { '100ms': 0, '1000ms': 0 } } });
  });

  it('says null for what a text does not carry', () => {
    expect(centralView('')).toEqual({ eventLoopLagMs: { p99: null, max: null }, gc: {}, publish: null, recordToHandled: null });
  });
});
