/* global document */
// The maintenance calendar: planned outages by day, and (for operators) the form that plans,
// edits and cancels them. Events inside a window are raised as planned and not notified.
import { postJson } from './workflow.js';

const $ = (id) => document.getElementById(id);
const DAY_MS = 86_400_000;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) el.append(c);
  return el;
}

const pad = (n) => String(n).padStart(2, '0');
/** A datetime-local value (the browser's zone) from epoch ms, and back. */
const toLocalInput = (ts) => {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const fromLocalInput = (v) => new Date(v).getTime();
const day = (ts) => new Date(ts).toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
const clock = (ts) => new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export class Maintenance {
  /** @param {{ role: string, getJson: (p: string) => Promise<any>, onProblem: (m: string | null) => void }} o */
  constructor(o) {
    this.o = o;
    this.canEdit = o.role === 'operator' || o.role === 'admin';
    this.windows = [];
    const form = $('maintenance-form');
    form.hidden = !this.canEdit;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
    $('mw-reset').addEventListener('click', () => this.edit(null));
    this.edit(null);
  }

  async load() {
    // From a day ago: a window that just ended stays visible.
    let answer;
    try {
      answer = await this.o.getJson(`/api/maintenance?from=${Date.now() - DAY_MS}`);
    } catch (err) {
      // A central without the workflow (an older version): the calendar says so, nothing failed.
      if (err.status !== 404) throw err;
      $('maintenance-list').replaceChildren(h('p', { class: 'empty' }, 'This central has no maintenance calendar.'));
      $('maintenance-form').hidden = true;
      return;
    }
    this.windows = Array.isArray(answer.windows) ? answer.windows : [];
    this.render();
  }

  edit(w) {
    const now = Date.now();
    $('mw-id').value = w?.windowId ?? '';
    $('mw-level').value = w?.device.level ?? 'feeder';
    $('mw-device').value = w?.device.id ?? '';
    $('mw-from').value = toLocalInput(w?.from ?? now);
    $('mw-to').value = toLocalInput(w?.to ?? now + 2 * 3_600_000);
    $('mw-reason').value = w?.reason ?? '';
    $('mw-save').textContent = w ? 'Save changes' : 'Plan window';
  }

  async save() {
    const id = $('mw-id').value;
    const body = { device: { level: $('mw-level').value, id: $('mw-device').value.trim() }, from: fromLocalInput($('mw-from').value), to: fromLocalInput($('mw-to').value), reason: $('mw-reason').value.trim() };
    try {
      await postJson(id ? `/api/maintenance/${encodeURIComponent(id)}` : '/api/maintenance', body, id ? 'PUT' : 'POST');
      this.edit(null);
      this.o.onProblem(null);
      await this.load();
    } catch (err) {
      this.o.onProblem(err instanceof Error ? err.message : String(err));
    }
  }

  async cancel(w) {
    try {
      await postJson(`/api/maintenance/${encodeURIComponent(w.windowId)}`, undefined, 'DELETE');
      this.o.onProblem(null);
      await this.load();
    } catch (err) {
      this.o.onProblem(err instanceof Error ? err.message : String(err));
    }
  }

  /** The calendar: one heading per day a window starts on, its windows under it. */
  render() {
    const el = $('maintenance-list');
    if (this.windows.length === 0) {
      el.replaceChildren(h('p', { class: 'empty' }, 'No maintenance planned.'));
      return;
    }
    const byDay = new Map();
    for (const w of this.windows) {
      const d = day(w.from);
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d).push(w);
    }
    el.replaceChildren(
      ...[...byDay].map(([d, list]) =>
        h(
          'section',
          { class: 'mw-day' },
          h('h3', {}, d),
          h(
            'ul',
            {},
            ...list.map((w) => {
              const li = h('li', { 'data-window-id': w.windowId }, h('span', { class: 'mono' }, `${clock(w.from)}–${clock(w.to)}`), ' ', h('span', { class: 'level' }, w.device.level), ' ', h('span', { class: 'mono' }, w.device.id), ' ', h('span', { class: 'reason' }, w.reason));
              if (this.canEdit) {
                const edit = h('button', { type: 'button', class: 'act' }, 'Edit');
                edit.addEventListener('click', () => this.edit(w));
                const cancel = h('button', { type: 'button', class: 'act' }, 'Cancel');
                cancel.addEventListener('click', () => void this.cancel(w));
                li.append(' ', edit, cancel);
              }
              return li;
            }),
          ),
        ),
      ),
    );
  }
}
