// Nothing acknowledged by the API is lost across a kill -9 of central: `gridwatch central` runs as
// a child process against the real Kafka; an operator acknowledges, assigns and annotates an event
// fed through the events topic, plans and cancels maintenance windows; the process is killed
// (SIGKILL, no hand-over, nothing flushed) right after the answers, and a new process shows every
// action once, in order, with who and when, and only the window that was not cancelled.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventAction, GridEvent, MaintenanceWindow } from '../../../shared/index.ts';
import { makeTokensFile } from '../../harness/api-tokens.ts';
import { kafka, kafkaEnv, outage, producer, publishEvents, until, workflowSettings } from './helpers.ts';
import { freePort } from '../../harness/ports.ts';

const tokens = makeTokensFile();
const children: ChildProcess[] = [];

interface Central {
  child: ChildProcess;
  base: string;
  log: () => string;
  exited: Promise<unknown>;
}

async function startCentral(settings: Record<string, string>): Promise<Central> {
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GRIDWATCH_')) env[k] = v;
  let log = '';
  const child = spawn(process.execPath, ['bin/gridwatch.js', 'central'], { env: { ...env, ...kafkaEnv(), ...settings, GRIDWATCH_HTTP_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  await until('central ready', async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, () => log);
  return { child, base, log: () => log, exited };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const as = (role: 'viewer' | 'operator' | 'admin', extra: Record<string, string> = {}) => ({ ...tokens.headers(role), 'content-type': 'application/json', ...extra });
const post = (url: string, body: unknown, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: as('operator', extra), body: JSON.stringify(body) });

describe('event actions and maintenance windows across a kill -9 of central', () => {
  it('a restarted central shows every acknowledged action once, and the windows that were not cancelled', async () => {
    const settings = workflowSettings('wf-kill', tokens.file);
    const prefix = settings.GRIDWATCH_KAFKA_TOPIC_PREFIX!;
    const first = await startCentral(settings);
    const k = kafka();
    const p = await producer(k);
    const now = Date.now();
    const event = outage('transformer:WF-T1:outage:kill', now - 60_000);
    try {
      await publishEvents(p, `${prefix}grid.events`, [event]);
    } finally {
      await p.disconnect();
    }
    const base = first.base;
    await until('the event in the API', async () => (await fetch(`${base}/api/events/${encodeURIComponent(event.eventId)}`, { headers: as('viewer') })).status === 200, 20_000, first.log);
    const url = `${base}/api/events/${encodeURIComponent(event.eventId)}/actions`;

    // Acknowledge, sent twice with one idempotency key (a retry): stored once.
    const ack = await post(url, { action: 'acknowledge' }, { 'idempotency-key': 'retry-1' });
    expect(ack.status).toBe(201);
    const acked = (await ack.json()) as EventAction;
    const again = await post(url, { action: 'acknowledge', idempotencyKey: 'retry-1' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as EventAction).actionId).toBe(acked.actionId);
    expect((await post(url, { action: 'assign', assignee: 'Crew 7' })).status).toBe(201);
    expect((await post(url, { action: 'note', text: 'fuse blown, crew on the way' })).status).toBe(201);
    // Refusals, with their reasons.
    const unknown = await post(`${base}/api/events/no-such-event/actions`, { action: 'acknowledge' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { reason: string }).reason).toMatch(/no event no-such-event: it is unknown, or closed and no longer kept/);
    const long = await post(url, { action: 'note', text: 'x'.repeat(2001) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { reason: string }).reason).toMatch(/text.*2000/);
    expect((await fetch(url, { method: 'POST', headers: as('viewer'), body: JSON.stringify({ action: 'acknowledge' }) })).status).toBe(403);

    // Maintenance: one window kept, one cancelled, one on a device that is not in the topology.
    const windowBody = { device: { level: 'feeder', id: 'WF-F1' }, from: now, to: now + 3_600_000, reason: 'recloser replacement' };
    const kept = await post(`${base}/api/maintenance`, windowBody);
    expect(kept.status).toBe(201);
    const keptWindow = (await kept.json()) as MaintenanceWindow;
    const gone = (await (await post(`${base}/api/maintenance`, { ...windowBody, reason: 'postponed' })).json()) as MaintenanceWindow;
    expect((await fetch(`${base}/api/maintenance/${gone.windowId}`, { method: 'DELETE', headers: tokens.headers('operator') })).status).toBe(200);
    const nowhere = await post(`${base}/api/maintenance`, { ...windowBody, device: { level: 'feeder', id: 'NO-SUCH-FEEDER' } });
    expect(nowhere.status).toBe(400);
    expect(((await nowhere.json()) as { reason: string }).reason).toBe('feeder NO-SUCH-FEEDER is not in the topology');

    // kill -9 right after the answers: nothing flushed, no hand-over.
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startCentral(settings);
    const shown = (await (await fetch(`${second.base}/api/events/${encodeURIComponent(event.eventId)}`, { headers: as('viewer') })).json()) as GridEvent;
    expect(shown.acknowledged).toEqual({ by: 'test-operator', at: acked.at });
    expect(shown.assignee).toBe('Crew 7');
    expect(shown.notes?.map((n) => [n.by, n.text])).toEqual([['test-operator', 'fuse blown, crew on the way']]);
    const trail = (await (await fetch(`${second.base}/api/events/${encodeURIComponent(event.eventId)}/actions`, { headers: as('viewer') })).json()) as { count: number; actions: EventAction[] };
    expect(trail.actions.map((a) => a.action)).toEqual(['acknowledge', 'assign', 'note']);
    expect(trail.actions.every((a) => a.by.role === 'operator' && a.by.kind === 'api-key' && a.at >= now)).toBe(true);
    const windows = (await (await fetch(`${second.base}/api/maintenance`, { headers: as('viewer') })).json()) as { windows: MaintenanceWindow[] };
    expect(windows.windows.map((w) => w.windowId)).toEqual([keptWindow.windowId]);
    expect(windows.windows[0]).toMatchObject({ device: { level: 'feeder', id: 'WF-F1' }, reason: 'recloser replacement', createdBy: { name: 'test-operator', role: 'operator' } });
    second.child.kill('SIGTERM');
    await second.exited;
  }, 120_000);
});
