// The console's pure model (central/console/model.js, a browser module): merging by version, the
// tree and the roll-up of open events onto it. Imported by URL: it is plain JS without typings.
import { describe, expect, it } from 'vitest';
import type { GridEvent } from '../../../shared/index.ts';
import { gridEvent } from './fixtures.ts';

interface TreeNode {
  key: string;
  id: string;
  meters: number;
  children: TreeNode[];
  severity?: string;
  openEvents: number;
}
interface Model {
  EventStore: new () => { upsert(e: GridEvent): boolean; open(): GridEvent[]; overlapping(from: number, to: number): GridEvent[]; prune(before: number): void };
  buildTree(topology: unknown): TreeNode;
  indexTree(root: TreeNode): Map<string, TreeNode>;
  rollUp(root: TreeNode, index: Map<string, TreeNode>, open: GridEvent[]): void;
  commsState(edge: Record<string, unknown>, ageMs?: number): string;
  formatDuration(ms: number): string;
  countBySeverity(events: GridEvent[]): Record<string, number>;
}
const model = (await import(new URL('../../../central/console/model.js', import.meta.url).href)) as Model;

const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
const outage = gridEvent(NOW, { eventId: 'e1', scope: 'feeder', rootId: 'S1-F1', substationId: 'S1', type: 'outage', severity: 'critical' });

const topology = {
  meters: 9,
  substations: [
    { substationId: 'S1', meters: 6, feeders: [{ feederId: 'S1-F1', meters: 6, transformers: [{ transformerId: 'S1-F1-T1', meters: 6 }] }] },
    { substationId: 'S2', meters: 3, feeders: [{ feederId: 'S2-F1', meters: 3, transformers: [{ transformerId: 'S2-F1-T1', meters: 3 }] }] },
  ],
};

describe('EventStore', () => {
  it('keeps the highest version per eventId, whatever the arrival order', () => {
    const store = new model.EventStore();
    const closed = { ...outage, state: 'closed' as const, endTs: NOW, version: 2 };
    expect(store.upsert(closed)).toBe(true);
    expect(store.upsert(outage)).toBe(false);
    expect(store.upsert(closed)).toBe(false);
    expect(store.open()).toEqual([]);
    expect(store.overlapping(NOW - 3_600_000, NOW).map((e) => e.eventId)).toEqual(['e1']);
  });

  it('takes a close at the same version, but never a reopen', () => {
    const store = new model.EventStore();
    store.upsert(outage);
    expect(store.upsert({ ...outage, state: 'closed', endTs: NOW })).toBe(true);
    expect(store.upsert(outage)).toBe(false);
    expect(store.open()).toEqual([]);
  });

  it('forgets closed events that ended before the window, never open ones', () => {
    const store = new model.EventStore();
    store.upsert({ ...outage, state: 'closed', endTs: NOW - 7_200_000, version: 2 });
    store.upsert({ ...outage, eventId: 'e2', startTs: NOW - 9_000_000 });
    store.prune(NOW - 3_600_000);
    expect(store.open().map((e) => e.eventId)).toEqual(['e2']);
    expect(store.overlapping(0, NOW).map((e) => e.eventId)).toEqual(['e2']);
  });
});

describe('tree roll-up', () => {
  const severities = (events: GridEvent[]) => {
    const root = model.buildTree(topology);
    const index = model.indexTree(root);
    model.rollUp(root, index, events);
    return Object.fromEntries([...index].map(([k, n]) => [k, n.severity ?? 'ok']));
  };

  it('marks the root of an event and everything above it with the worst severity', () => {
    const minor = gridEvent(NOW, { eventId: 'e2', scope: 'transformer', rootId: 'S1-F1-T1', substationId: 'S1', type: 'undervoltage', severity: 'minor' });
    expect(severities([minor, outage])).toEqual({
      'grid:grid': 'critical',
      'substation:S1': 'critical',
      'feeder:S1-F1': 'critical',
      'transformer:S1-F1-T1': 'minor',
      'substation:S2': 'ok',
      'feeder:S2-F1': 'ok',
      'transformer:S2-F1-T1': 'ok',
    });
  });

  it('puts a meter event on its substation, and an event with an unknown root on the grid', () => {
    const meter = gridEvent(NOW, { eventId: 'm', scope: 'meter', rootId: 'S2-M7', substationId: 'S2', type: 'tamper', severity: 'major' });
    const stray = gridEvent(NOW, { eventId: 'x', scope: 'feeder', rootId: 'S9-F1', type: 'sag', severity: 'info' });
    const s = severities([meter, stray]);
    expect([s['substation:S2'], s['feeder:S2-F1'], s['grid:grid'], s['substation:S1']]).toEqual(['major', 'ok', 'major', 'ok']);
  });

  it('sums the meters of the grid from its substations when the summary has no count', () => {
    expect(model.buildTree({ substations: topology.substations }).meters).toBe(9);
  });
});

describe('formatting', () => {
  it('shows durations compactly', () => {
    expect([5_000, 65_000, 3_725_000, 200_000_000, -1].map(model.formatDuration)).toEqual(['5s', '1m 05s', '1h 02m', '2d 7h', '–']);
  });

  it("takes the API's comms state, else judges it from the heartbeat's age", () => {
    expect(model.commsState({ comms: 'late' }, 1)).toBe('late');
    expect([1_000, 20_000, 90_000].map((age) => model.commsState({}, age))).toEqual(['ok', 'late', 'lost']);
  });

  it('counts open events by severity', () => {
    expect(model.countBySeverity([outage, outage])).toEqual({ info: 0, minor: 0, major: 0, critical: 2 });
  });
});
