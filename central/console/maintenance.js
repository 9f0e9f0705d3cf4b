/* global document */
// The maintenance calendar: planned outages on a week or month grid (a plain CSS grid: no
// calendar library fits the page's CSP without a bundler), and (for operators) the form that
// plans, edits and cancels them; a click on a day plans a window on it. Events inside a window are
// raised as planned and not notified. Days are the browser's local days.
import { postJson } from './workflow.js';

const $ = (id) => document.getElementById(id);

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
const clock = (ts) => new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** Local midnight of the day of `ts`, `n` days later. */
const midnight = (ts, n = 0) => {
  const d = new Date(ts);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n).getTime();
};
/** The Monday (local) of the week of `ts`. */
const monday = (ts) => midnight(ts, -((new Date(ts).getDay() + 6) % 7));
const dateKey = (ts) => {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export class Maintenance {
  /** @param {{ role: string, getJson: (p: string) => Promise<any>, onProblem: (m: string | null) => void }} o */
  constructor(o) {
    this.o = o;
    this.canEdit = o.role === 'operator' || o.role === 'admin';
    this.windows = [];
    this.view = 'week';
    this.anchor = Date.now();
    const form = $('maintenance-form');
    form.hidden = !this.canEdit;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
    $('mw-reset').addEventListener('click', () => this.edit(null));
    $('mw-view').addEventListener('change', () => this.go(0, $('mw-view').value));
    $('mw-prev').addEventListener('click', () => this.go(-1));
    $('mw-next').addEventListener('click', () => this.go(1));
    $('mw-today').addEventListener('click', () => {
      this.anchor = Date.now();
      this.go(0);
    });
    this.edit(null);
  }

  /** The days the grid shows: [first, end) local midnights; a month is whole weeks around it. */
  range() {
    if (this.view === 'week') {
      const first = monday(this.anchor);
      return { first, end: midnight(first, 7) };
    }
    const a = new Date(this.anchor);
    const first = monday(new Date(a.getFullYear(), a.getMonth(), 1).getTime());
    const last = new Date(a.getFullYear(), a.getMonth() + 1, 0).getTime();
    return { first, end: midnight(monday(last), 7) };
  }

  go(step, view = this.view) {
    this.view = view;
    const a = new Date(this.anchor);
    this.anchor = view === 'week' ? midnight(this.anchor, 7 * step) : new Date(a.getFullYear(), a.getMonth() + step, 1).getTime();
    void this.load().catch((err) => this.o.onProblem(err instanceof Error ? err.message : String(err)));
  }

  async load() {
    const { first, end } = this.range();
    let answer;
    try {
      answer = await this.o.getJson(`/api/maintenance?from=${first}&to=${end - 1}`);
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

  edit(w, dayStart) {
    const start = w?.from ?? (dayStart !== undefined ? dayStart + 8 * 3_600_000 : Date.now());
    $('mw-id').value = w?.windowId ?? '';
    $('mw-level').value = w?.device.level ?? 'feeder';
    $('mw-device').value = w?.device.id ?? '';
    $('mw-from').value = toLocalInput(start);
    $('mw-to').value = toLocalInput(w?.to ?? start + 2 * 3_600_000);
    $('mw-reason').value = w?.reason ?? '';
    $('mw-save').textContent = w ? 'Save changes' : 'Plan window';
    if (w || dayStart !== undefined) $('mw-device').focus();
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

  /**
   * The grid: a header of weekdays, then one cell per day. A window is one `li` on the day it
   * starts (or the first day shown, when it started earlier) and a bar on each further day it
   * covers.
   */
  render() {
    const { first, end } = this.range();
    const month = new Date(this.anchor).getMonth();
    $('mw-title').textContent = this.view === 'week'
      ? `Week of ${new Date(first).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })}`
      : new Date(this.anchor).toLocaleDateString(undefined, { year: 'numeric', month: 'long' });
    const cells = [];
    for (let d = first; d < end; d = midnight(d, 1)) {
      const next = midnight(d, 1);
      const list = h('ul', {});
      const bars = [];
      for (const w of this.windows) {
        if (w.to < d || w.from >= next) continue;
        if (w.from >= d || d === first) list.append(this.item(w));
        else bars.push(h('div', { class: 'mw-cont', 'data-window-id': w.windowId, title: w.reason }, `… ${w.device.id}`));
      }
      const cell = h('div', { class: `mw-cell${this.view === 'month' && new Date(d).getMonth() !== month ? ' mw-other' : ''}${d === midnight(Date.now()) ? ' mw-today' : ''}`, 'data-date': dateKey(d) }, h('div', { class: 'mw-date' }, String(new Date(d).getDate())), ...bars, list);
      if (this.canEdit) {
        cell.addEventListener('click', (ev) => {
          if (ev.target === cell || ev.target.classList.contains('mw-date')) this.edit(null, d);
        });
      }
      cells.push(cell);
    }
    const grid = h('div', { class: `mw-grid mw-${this.view}`, role: 'grid' }, ...WEEKDAYS.map((n) => h('div', { class: 'mw-head' }, n)), ...cells);
    $('maintenance-list').replaceChildren(grid, this.windows.length === 0 ? h('p', { class: 'empty' }, 'No maintenance planned in this view.') : '');
  }

  item(w) {
    const li = h('li', { 'data-window-id': w.windowId, class: 'mw-item', title: `${w.device.level} ${w.device.id}: ${w.reason}` }, h('span', { class: 'mono' }, `${clock(w.from)}–${clock(w.to)}`), ' ', h('span', { class: 'level' }, w.device.level), ' ', h('span', { class: 'mono' }, w.device.id), ' ', h('span', { class: 'reason' }, w.reason));
    if (this.canEdit) {
      const edit = h('button', { type: 'button', class: 'act', 'data-mw': 'edit' }, 'Edit');
      edit.addEventListener('click', () => this.edit(w));
      const cancel = h('button', { type: 'button', class: 'act', 'data-mw': 'cancel' }, 'Cancel');
      cancel.addEventListener('click', () => void this.cancel(w));
      li.append(' ', edit, cancel);
    }
    return li;
  }
}
