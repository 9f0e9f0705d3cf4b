import { describe, expect, it } from 'vitest';
import { PRUNE_AGES, throwawayStamp, topicsToPrune } from '../../../deploy/services/kafka-prune.ts';

const now = Date.UTC(2026, 11, 1, 22, 0, 0);
const stamp = (ms: number): string => ms.toString(36);

describe('throwaway Kafka topics of old runs', () => {
  it('reads the uniqueName stamp of test and bench prefixes, wherever it stands in the name', () => {
    const t = now - 5 * 3600_000;
    expect(throwawayStamp(`wf-console-${stamp(t)}-a826e1.grid.readings`, now)).toEqual({ kind: 'test', createdMs: t });
    expect(throwawayStamp(`fw-once-anomalies-${stamp(t)}-670533`, now)).toEqual({ kind: 'test', createdMs: t });
    expect(throwawayStamp(`bench-fleet-${stamp(t)}-1619.grid.events`, now)).toEqual({ kind: 'test', createdMs: t });
    expect(throwawayStamp(`vstep-${stamp(t)}.grid.gaps`, now)).toEqual({ kind: 'test', createdMs: t });
  });

  it('reads the demo and soak date stamps as UTC', () => {
    expect(throwawayStamp('demo-20261201-185800.grid.gaps', now)).toEqual({ kind: 'demo', createdMs: Date.UTC(2026, 11, 1, 18, 58, 0) });
    expect(throwawayStamp('demo-soak-20261201-172927.grid.maintenance', now)).toEqual({ kind: 'demo', createdMs: Date.UTC(2026, 11, 1, 17, 29, 27) });
  });

  it('never takes Kafka\'s own topics, the grid.* topics, or eight-letter words for throwaways', () => {
    for (const t of ['__consumer_offsets', '__cluster_metadata', 'grid.readings', 'grid.models', 'grid.event-actions', 'site-consumer.grid.readings', 'feeder-abcdefgh', 'utility-20991231-000000.grid.readings']) {
      expect(throwawayStamp(t, now), t).toBeUndefined();
    }
    // a stamp from the future (relative to now) is not a stamp
    expect(throwawayStamp(`x-${stamp(now + 3600_000)}-abcdef`, now)).toBeUndefined();
  });

  it('prunes tests after 3 h and demos after 24 h, and keeps what is younger', () => {
    const topics = [
      `old-test-${stamp(now - PRUNE_AGES.testMs - 1000)}-aaaaaa.grid.readings`,
      `young-test-${stamp(now - PRUNE_AGES.testMs + 60_000)}-bbbbbb.grid.readings`,
      'demo-20261130-210000.grid.events',
      'demo-20261201-100000.grid.events',
      'grid.readings',
    ];
    expect(topicsToPrune(topics, now)).toEqual([topics[0], 'demo-20261130-210000.grid.events']);
  });
});
