// The workflow's pure parts: an event's actions applied once each (a retry, a re-read topic), what
// an event shows of them, which events a maintenance window covers, and what the notifier skips.
import { describe, expect, it } from 'vitest';
import { ActionBook } from '../../../central/workflow/actions.ts';
import { MaintenanceBook } from '../../../central/workflow/maintenance.ts';
import { WebhookNotifier } from '../../../central/notify/index.ts';
import { MAX_EVENT_NOTES, Topology, silentLogger, type EventAction, type MaintenanceWindow } from '../../../shared/index.ts';
import { gridEvent } from '../api/fixtures.ts';
import { METERS } from './helpers.ts';

const by = { kind: 'api-key', id: 'k1', name: 'control-room', role: 'operator' };
const action = (n: number, over: Partial<EventAction> = {}): EventAction => ({ actionId: `a${n}`, eventId: 'ev-1', action: 'acknowledge', by, at: 1000 + n, ...over });
const window = (over: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({ windowId: 'mw-1', device: { level: 'feeder', id: 'WF-F1' }, from: 1000, to: 2000, reason: 'works', createdBy: by, createdAt: 1, ...over });

describe('ActionBook', () => {
  it('applies each action id once, keeps the trail in order, and shows acknowledgement, assignee and notes', () => {
    const b = new ActionBook();
    expect(b.apply(action(1))).toBe(true);
    expect(b.apply(action(1))).toBe(false); // the same record again (a retry, the topic read back)
    b.apply(action(2, { action: 'assign', assignee: 'Crew 7' }));
    b.apply(action(3, { action: 'note', text: 'on site' }));
    expect(b.duplicates).toBe(1);
    expect(b.trail('ev-1').map((a) => a.actionId)).toEqual(['a1', 'a2', 'a3']);
    const shown = b.decorate(gridEvent());
    expect(shown).toMatchObject({ acknowledged: { by: 'control-room', at: 1001 }, assignee: 'Crew 7', notes: [{ by: 'control-room', at: 1003, text: 'on site' }] });
    b.apply(action(4, { action: 'unacknowledge' }));
    expect(b.decorate(gridEvent()).acknowledged).toBeUndefined();
    expect(b.decorate(gridEvent({ eventId: 'other' }))).toEqual(gridEvent({ eventId: 'other' }));
    expect(b.find('ev-1', 'a2')?.assignee).toBe('Crew 7');
  });

  it('bounds what it keeps: notes shown, actions per event, events tracked', () => {
    const b = new ActionBook({ maxEvents: 2, maxActionsPerEvent: 60 });
    for (let i = 0; i < 70; i++) b.apply(action(i, { action: 'note', text: `n${i}` }));
    expect(b.decorate(gridEvent()).notes).toHaveLength(MAX_EVENT_NOTES);
    expect(b.trail('ev-1')).toHaveLength(60);
    b.apply(action(100, { eventId: 'ev-2' }));
    b.apply(action(101, { eventId: 'ev-3' }));
    expect(b.size).toBe(2);
    expect(b.forgotten).toBe(1);
  });
});

describe('MaintenanceBook', () => {
  const topology = new Topology(METERS);

  it('covers events that start inside the window at or under its device, and nothing else', () => {
    const m = new MaintenanceBook();
    m.apply('mw-1', window());
    const t1 = gridEvent({ scope: 'transformer', rootId: 'WF-T1', substationId: 'WF-S1', affectedMeters: ['M1'], startTs: 1500 });
    expect(m.mark(t1, topology).planned).toBe(true);
    expect(m.mark({ ...t1, scope: 'meter', rootId: 'M3', affectedMeters: ['M3'] }, topology).planned).toBe(true);
    expect(m.mark({ ...t1, scope: 'feeder', rootId: 'WF-F1' }, topology).planned).toBe(true);
    expect(m.mark({ ...t1, startTs: 2500 }, topology).planned).toBeUndefined(); // after the window
    expect(m.mark({ ...t1, startTs: 999 }, topology).planned).toBeUndefined(); // before it
    expect(m.mark({ ...t1, scope: 'substation', rootId: 'WF-S1' }, topology).planned).toBeUndefined(); // above the feeder
    expect(m.mark({ ...t1, scope: 'grid', rootId: 'grid' }, topology).planned).toBeUndefined();
    // A meter's window covers that meter's events only.
    m.apply('mw-1', window({ device: { level: 'meter', id: 'M1' } }));
    expect(m.mark({ ...t1, scope: 'meter', rootId: 'M1' }, topology).planned).toBe(true);
    expect(m.mark({ ...t1, scope: 'meter', rootId: 'M2', affectedMeters: ['M2'] }, topology).planned).toBeUndefined();
    expect(m.mark(t1, topology).planned).toBeUndefined();
    // The tombstone cancels.
    m.apply('mw-1', null);
    expect(m.size).toBe(0);
    expect(m.mark({ ...t1, scope: 'meter', rootId: 'M1' }, topology).planned).toBeUndefined();
  });

  it('lists the windows overlapping a range, earliest first', () => {
    const m = new MaintenanceBook();
    m.apply('b', window({ windowId: 'b', from: 5000, to: 6000 }));
    m.apply('a', window({ windowId: 'a', from: 1000, to: 2000 }));
    expect(m.list().map((w) => w.windowId)).toEqual(['a', 'b']);
    expect(m.list({ from: 2500 }).map((w) => w.windowId)).toEqual(['b']);
    expect(m.list({ to: 1500 }).map((w) => w.windowId)).toEqual(['a']);
  });
});

describe('WebhookNotifier and the workflow', () => {
  // Nothing is sent: the notifier is stopped before its worker connects (the URL goes nowhere).
  const notifier = () => new WebhookNotifier({ url: 'http://127.0.0.1:1/hook', minSeverity: 'minor', logger: silentLogger(), maxAttempts: 1 });

  it('never notifies a planned event', async () => {
    const n = notifier();
    expect(n.notify(gridEvent({ planned: true, severity: 'critical' }))).toBe(false);
    expect(n.stats()).toMatchObject({ planned: 1, queued: 0 });
    await n.stop(0);
  });

  it('re-notifies an unacknowledged event that doubled, not an acknowledged one; an escalation always', async () => {
    const n = notifier();
    const ack = { by: 'control-room', at: 1 };
    expect(n.notify(gridEvent({ eventId: 'u', affectedCount: 3 }))).toBe(true);
    expect(n.notify(gridEvent({ eventId: 'u', version: 2, affectedCount: 5 }))).toBe(false); // growth, not doubled
    expect(n.notify(gridEvent({ eventId: 'u', version: 3, affectedCount: 6 }))).toBe(true); // doubled
    expect(n.notify(gridEvent({ eventId: 'a', affectedCount: 3 }))).toBe(true);
    expect(n.notify(gridEvent({ eventId: 'a', version: 2, affectedCount: 30, acknowledged: ack }))).toBe(false); // acknowledged growth
    expect(n.notify(gridEvent({ eventId: 'a', version: 3, affectedCount: 30, severity: 'critical', acknowledged: ack }))).toBe(true); // severity up
    expect(n.notify(gridEvent({ eventId: 'a', version: 4, affectedCount: 30, severity: 'critical', scope: 'feeder', acknowledged: ack }))).toBe(true); // scope up
    expect(n.notify(gridEvent({ eventId: 'a', version: 5, affectedCount: 30, severity: 'critical', scope: 'feeder', acknowledged: ack }))).toBe(false);
    await n.stop(0);
  });
});
