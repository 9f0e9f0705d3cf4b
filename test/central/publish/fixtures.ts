import type { GridEvent } from '../../../shared/index.ts';

/** A grid event as the correlator publishes it. */
export const event = (eventId: string, over: Partial<GridEvent> = {}): GridEvent => ({
  eventId,
  scope: 'transformer',
  rootId: 'T1',
  substationId: 'S01',
  type: 'sag',
  state: 'open',
  severity: 'minor',
  startTs: 1_700_000_000_000,
  endTs: null,
  affectedMeters: ['M1', 'M2', 'M3'],
  affectedCount: 3,
  version: 1,
  updatedAt: 1_700_000_000_000,
  summary: 'test',
  ...over,
});
