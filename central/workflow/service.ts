// The operators' workflow part: writes event actions and maintenance windows to their topics
// (acks=all, before the API answers), and keeps what those topics hold (every instance reads both
// whole through the broadcast consumer, so each one, and a restarted one, knows every action).
import { createHash, randomBytes } from 'node:crypto';
import { toGridwatchError, validators, type EventAction, type EventActionType, type GridEvent, type Logger, type MaintenanceWindow, type Metrics, type Topology } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';
import type { Principal } from '../api/auth/roles.ts';
import type { EventStore } from '../api/store.ts';
import type { RecordWriter } from '../publish/producer.ts';
import { ActionBook } from './actions.ts';
import { MaintenanceBook } from './maintenance.ts';

export interface WorkflowTopics {
  actions: string;
  maintenance: string;
}

export interface WorkflowOptions {
  writer: RecordWriter;
  topics: WorkflowTopics;
  events: EventStore;
  topology: Topology;
  clock: { now(): number };
  logger: Logger;
  metrics?: Metrics;
}

export interface ActionRequest {
  action: EventActionType;
  assignee?: string;
  text?: string;
  idempotencyKey?: string;
}

export interface WindowRequest {
  device: MaintenanceWindow['device'];
  from: number;
  to: number;
  reason: string;
  idempotencyKey?: string;
}

/** What the API answers: the stored record (201 new, 200 a retry of one stored), or a refusal. */
export type Outcome<T> = { status: 200 | 201; value: T } | { status: 400 | 404 | 422 | 503; error: string; reason: string };

/** The longest window accepted (a planned outage of more than a year is a mistake). */
export const MAX_WINDOW_MS = 366 * 86_400_000;

const actorOf = (p: Principal) => ({ kind: p.kind, id: p.id, name: p.name, role: p.role });
const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);

export class Workflow implements Part {
  readonly name = 'workflow';
  readonly actions = new ActionBook();
  readonly maintenance = new MaintenanceBook();
  private readonly inFlight = new Map<string, Promise<Outcome<unknown>>>();
  private readonly counted: ((labels: { kind: string; result: string }) => void) | null;

  constructor(private readonly o: WorkflowOptions) {
    const c = o.metrics?.counter('central_workflow_requests_total', 'Operators\' workflow writes (event actions, maintenance windows) by kind and result', ['kind', 'result']);
    this.counted = c ? (l) => c.inc(l) : null;
  }

  start(): Promise<void> {
    return this.o.writer.connect();
  }

  async stop(): Promise<void> {
    await this.o.writer.disconnect().catch((err: unknown) => this.o.logger.warn({ err }, 'workflow producer disconnect failed'));
  }

  /** The event with its acknowledgement, assignee and notes. */
  decorate(e: GridEvent): GridEvent {
    return this.actions.decorate(e);
  }

  /** The event as published: `planned: true` inside a maintenance window. */
  mark(e: GridEvent): GridEvent {
    return this.maintenance.mark(e, this.o.topology);
  }

  /** The event is held (open, or closed and recent). */
  knowsEvent(eventId: string): boolean {
    return this.o.events.get(eventId) !== undefined;
  }

  /** A record of grid.event-actions (already validated): applied once, the event re-shown. */
  onActionRecord(a: EventAction): void {
    if (this.actions.apply(a)) this.o.events.touch(a.eventId);
  }

  /** A record of grid.maintenance: the window, or its tombstone. Returns false for an invalid one. */
  onMaintenanceRecord(key: string | null, value: string | null): boolean {
    if (key === null) return false;
    if (value === null) {
      this.maintenance.apply(key, null);
      return true;
    }
    let w: unknown;
    try {
      w = JSON.parse(value);
    } catch {
      return false;
    }
    if (!validators.maintenanceWindow.check(w) || w.windowId !== key) return false;
    this.maintenance.apply(key, w);
    return true;
  }

  async act(eventId: string, who: Principal, r: ActionRequest): Promise<Outcome<EventAction>> {
    if (r.action === 'assign' && r.assignee === undefined) return this.refuse('action', 400, 'bad request', 'assign needs `assignee` (a crew or person)');
    if (r.action === 'note' && r.text === undefined) return this.refuse('action', 400, 'bad request', 'note needs `text`');
    if (r.action !== 'assign' && r.assignee !== undefined) return this.refuse('action', 400, 'bad request', `\`assignee\` belongs to assign, not ${r.action}`);
    if (!this.knowsEvent(eventId)) {
      return this.refuse('action', 404, 'not found', `no event ${eventId}: it is unknown, or closed and no longer kept (central keeps the recently closed events only)`);
    }
    const actionId = r.idempotencyKey ? `act-${digest(eventId, who.id, r.idempotencyKey)}` : `act-${randomBytes(10).toString('hex')}`;
    const same = (a: EventAction) => a.action === r.action && a.assignee === r.assignee && a.text === r.text;
    return this.once(actionId, async () => {
      const stored = this.actions.find(eventId, actionId);
      if (stored) return same(stored) ? this.ok('action', 200, stored) : this.refuse('action', 422, 'unprocessable', 'this idempotency key was used for a different action on this event');
      const a: EventAction = {
        actionId,
        eventId,
        action: r.action,
        by: actorOf(who),
        at: this.o.clock.now(),
        ...(r.assignee !== undefined ? { assignee: r.assignee } : {}),
        ...(r.text !== undefined ? { text: r.text } : {}),
        ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}),
      };
      const failed = await this.write(this.o.topics.actions, eventId, JSON.stringify(a));
      if (failed) return this.refuse('action', 503, 'unavailable', failed);
      this.onActionRecord(a);
      return this.ok('action', 201, a);
    });
  }

  async createWindow(who: Principal, r: WindowRequest): Promise<Outcome<MaintenanceWindow>> {
    const bad = this.checkWindow(r);
    if (bad) return this.refuse('maintenance', 400, 'bad request', bad);
    const windowId = r.idempotencyKey ? `mw-${digest(who.id, r.idempotencyKey)}` : `mw-${randomBytes(8).toString('hex')}`;
    return this.once(windowId, async () => {
      const stored = this.maintenance.get(windowId);
      if (stored) return this.ok('maintenance', 200, stored);
      const w: MaintenanceWindow = { windowId, device: { ...r.device }, from: r.from, to: r.to, reason: r.reason, createdBy: actorOf(who), createdAt: this.o.clock.now() };
      return this.putWindow(w, 201);
    });
  }

  async updateWindow(windowId: string, who: Principal, r: WindowRequest): Promise<Outcome<MaintenanceWindow>> {
    const held = this.maintenance.get(windowId);
    if (!held) return this.refuse('maintenance', 404, 'not found', `no maintenance window ${windowId} (never created, or cancelled)`);
    const bad = this.checkWindow(r);
    if (bad) return this.refuse('maintenance', 400, 'bad request', bad);
    return this.putWindow({ ...held, device: { ...r.device }, from: r.from, to: r.to, reason: r.reason, updatedBy: actorOf(who), updatedAt: this.o.clock.now() }, 200);
  }

  async cancelWindow(windowId: string): Promise<Outcome<MaintenanceWindow>> {
    const held = this.maintenance.get(windowId);
    if (!held) return this.refuse('maintenance', 404, 'not found', `no maintenance window ${windowId} (never created, or cancelled)`);
    const failed = await this.write(this.o.topics.maintenance, windowId, null);
    if (failed) return this.refuse('maintenance', 503, 'unavailable', failed);
    this.maintenance.apply(windowId, null);
    return this.ok('maintenance', 200, held);
  }

  private checkWindow(r: WindowRequest): string | null {
    if (r.to <= r.from) return '`to` must be after `from`';
    if (r.to - r.from > MAX_WINDOW_MS) return `a maintenance window is at most ${MAX_WINDOW_MS / 86_400_000} days`;
    if (this.o.topology.metersUnder(r.device.level, r.device.id).size === 0) return `${r.device.level} ${r.device.id} is not in the topology`;
    return null;
  }

  private async putWindow(w: MaintenanceWindow, status: 200 | 201): Promise<Outcome<MaintenanceWindow>> {
    const failed = await this.write(this.o.topics.maintenance, w.windowId, JSON.stringify(w));
    if (failed) return this.refuse('maintenance', 503, 'unavailable', failed);
    this.maintenance.apply(w.windowId, w);
    return this.ok('maintenance', status, w);
  }

  /** Writes one record; the reason it was not written, or null. */
  private async write(topic: string, key: string, value: string | null): Promise<string | null> {
    try {
      await this.o.writer.send(topic, [{ key, value }]);
      return null;
    } catch (err) {
      const e = toGridwatchError(err, 'KAFKA_UNAVAILABLE', true);
      this.o.logger.error({ err: e, topic, key }, 'workflow record not written');
      return `not recorded: Kafka did not take the record (${e.message.slice(0, 200)}); nothing was changed, retry with the same idempotency key`;
    }
  }

  /** Concurrent requests for one id (a retry racing its original) share one write. */
  private once<T>(id: string, fn: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const running = this.inFlight.get(id) as Promise<Outcome<T>> | undefined;
    if (running) return running.then((o) => (o.status === 201 ? { ...o, status: 200 } : o));
    const p = fn().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  private ok<T>(kind: string, status: 200 | 201, value: T): Outcome<T> {
    this.counted?.({ kind, result: status === 201 ? 'stored' : 'repeated' });
    return { status, value };
  }

  private refuse(kind: string, status: 400 | 404 | 422 | 503, error: string, reason: string): Outcome<never> {
    this.counted?.({ kind, result: String(status) });
    return { status, error, reason };
  }
}
