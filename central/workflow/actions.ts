// The operators' workflow on grid events, kept from grid.event-actions: each event's
// acknowledgement, assignee and notes, and the whole audit trail. Pure: the records come from the
// topic (every instance reads it whole) or from this instance's own write, in any repetition.
import { MAX_EVENT_NOTES, type EventAction, type GridEvent } from '../../shared/index.ts';

/** Actions kept per event, and events tracked (oldest forgotten first): hard bounds on memory. */
export const MAX_ACTIONS_PER_EVENT = 1000;
export const MAX_EVENTS_TRACKED = 50_000;

interface EventWork {
  acknowledged?: { by: string; at: number };
  assignee?: string;
  notes: { by: string; at: number; text: string }[];
  trail: EventAction[];
  ids: Set<string>;
}

export class ActionBook {
  private readonly byEvent = new Map<string, EventWork>();
  duplicates = 0;
  forgotten = 0;

  constructor(private readonly o: { maxEvents?: number; maxActionsPerEvent?: number } = {}) {}

  /** Applies one action; false (nothing changes) when an action with its id was applied already. */
  apply(a: EventAction): boolean {
    let w = this.byEvent.get(a.eventId);
    if (w?.ids.has(a.actionId)) {
      this.duplicates++;
      return false;
    }
    if (!w) {
      w = { notes: [], trail: [], ids: new Set() };
      this.byEvent.set(a.eventId, w);
      if (this.byEvent.size > (this.o.maxEvents ?? MAX_EVENTS_TRACKED)) {
        this.byEvent.delete(this.byEvent.keys().next().value as string);
        this.forgotten++;
      }
    }
    w.ids.add(a.actionId);
    w.trail.push(a);
    if (w.trail.length > (this.o.maxActionsPerEvent ?? MAX_ACTIONS_PER_EVENT)) w.ids.delete(w.trail.shift()!.actionId);
    const by = a.by.name || a.by.id;
    switch (a.action) {
      case 'acknowledge':
        w.acknowledged = { by, at: a.at };
        break;
      case 'unacknowledge':
        delete w.acknowledged;
        break;
      case 'assign':
        if (a.assignee !== undefined) w.assignee = a.assignee;
        break;
      case 'note':
        if (a.text !== undefined) w.notes.push({ by, at: a.at, text: a.text });
        if (w.notes.length > MAX_EVENT_NOTES) w.notes.shift();
        break;
    }
    return true;
  }

  /** The audit trail of one event, oldest first (empty when nobody acted on it). */
  trail(eventId: string): EventAction[] {
    return [...(this.byEvent.get(eventId)?.trail ?? [])];
  }

  find(eventId: string, actionId: string): EventAction | undefined {
    const w = this.byEvent.get(eventId);
    return w?.ids.has(actionId) ? w.trail.find((a) => a.actionId === actionId) : undefined;
  }

  /** The event as the API, the stream, the console and the notifier show it: with its workflow. */
  decorate(e: GridEvent): GridEvent {
    const w = this.byEvent.get(e.eventId);
    if (!w) return e;
    const out: GridEvent = { ...e };
    if (w.acknowledged) out.acknowledged = { ...w.acknowledged };
    else delete out.acknowledged;
    if (w.assignee !== undefined) out.assignee = w.assignee;
    if (w.notes.length > 0) out.notes = w.notes.map((n) => ({ ...n }));
    return out;
  }

  get size(): number {
    return this.byEvent.size;
  }
}
