/* global document, crypto */
// The operators' workflow on the events table: each event shows who acknowledged it, its assignee
// and its notes; an operator (or admin) gets the buttons. Assign and note take their text from the
// action form under the table (the table is re-drawn every second, the form is not).
import { authHeaders } from './auth.js';

const WRITERS = new Set(['operator', 'admin']);
const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) el.append(c);
  return el;
}

/** POSTs a JSON body with a fresh idempotency key (a retry of the same click is stored once). */
export async function postJson(path, body, method = 'POST') {
  const res = await fetch(path, {
    method,
    // No content type without a body (a DELETE): the server would refuse an empty JSON body.
    headers: authHeaders({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), accept: 'application/json', 'idempotency-key': crypto.randomUUID() }),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: ${answer.reason ?? `HTTP ${res.status}`}`);
  return answer;
}

export class Workflow {
  /** @param {{ role: string, onProblem: (msg: string | null) => void }} o */
  constructor(o) {
    this.canAct = WRITERS.has(o.role);
    this.onProblem = o.onProblem;
    const form = $('action-form');
    form.hidden = !this.canAct;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const kind = ev.submitter?.value;
      const eventId = $('action-event').value;
      if (!eventId) return this.onProblem('Choose an event first (its Assign or Note button).');
      if (kind === 'assign') void this.act(eventId, { action: 'assign', assignee: $('action-assignee').value.trim() });
      if (kind === 'note') void this.act(eventId, { action: 'note', text: $('action-text').value.trim() });
    });
  }

  async act(eventId, body) {
    try {
      await postJson(`/api/events/${encodeURIComponent(eventId)}/actions`, body);
      if (body.action === 'note') $('action-text').value = '';
      this.onProblem(null);
    } catch (err) {
      this.onProblem(err instanceof Error ? err.message : String(err));
    }
  }

  choose(eventId) {
    $('action-event').value = eventId;
    $('action-chosen').textContent = eventId;
  }

  /** The workflow cell of one row: state in words, and the buttons for those who may act. */
  cell(e) {
    const facts = [];
    if (e.acknowledged) facts.push(h('span', { class: 'ack', 'data-ack-by': e.acknowledged.by }, `Ack ${e.acknowledged.by}`));
    if (e.assignee) facts.push(h('span', { class: 'assignee' }, `→ ${e.assignee}`));
    if (e.notes?.length) facts.push(h('span', { class: 'notes', title: e.notes.map((n) => `${n.by}: ${n.text}`).join('\n') }, `${e.notes.length} note${e.notes.length > 1 ? 's' : ''}`));
    if (e.planned) facts.push(h('span', { class: 'planned' }, 'planned'));
    const td = h('td', { class: 'workflow' }, ...facts);
    if (!this.canAct) return td;
    const button = (label, action, onClick) => {
      const b = h('button', { type: 'button', class: 'act', 'data-action': action }, label);
      b.addEventListener('click', onClick);
      return b;
    };
    td.append(
      e.acknowledged
        ? button('Unack', 'unacknowledge', () => void this.act(e.eventId, { action: 'unacknowledge' }))
        : button('Ack', 'acknowledge', () => void this.act(e.eventId, { action: 'acknowledge' })),
      button('Assign…', 'choose', () => {
        this.choose(e.eventId);
        $('action-assignee').focus();
      }),
      button('Note…', 'choose', () => {
        this.choose(e.eventId);
        $('action-text').focus();
      }),
    );
    return td;
  }
}
