/* global document */
// Rendering: each function replaces the contents of one panel from the model. Text is always set
// with textContent (never innerHTML): event summaries and ids come from the field.
import { SEVERITIES, byUrgency, commsState, formatDuration, formatTime } from './model.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** `h('td', { class: 'x' }, 'text', child)`: one element with attributes and children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) el.append(c);
  return el;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** A severity shown as colour AND words: the colour is never the only carrier of meaning. */
export function severityBadge(severity) {
  const s = severity ?? 'ok';
  return h('span', { class: `badge sev-${s}` }, s === 'ok' ? 'OK' : s.toUpperCase());
}

export function renderCounts(el, counts) {
  el.replaceChildren(
    ...[...SEVERITIES].reverse().map((s) =>
      h('span', { class: `count sev-${s}${counts[s] === 0 ? ' zero' : ''}`, 'data-severity': s }, `${counts[s]} ${s}`),
    ),
  );
}

export function renderConnection(el, conn, now) {
  el.dataset.state = conn.state;
  if (conn.state === 'live') el.textContent = 'Live';
  else if (conn.state === 'connecting') el.textContent = 'Connecting…';
  else {
    const secs = Math.max(0, Math.ceil(((conn.retryAt ?? now) - now) / 1000));
    el.textContent = secs > 0 ? `Disconnected, retry ${conn.attempt} in ${secs}s` : `Reconnecting (attempt ${conn.attempt})…`;
  }
}

/**
 * The topology tree. Substations and feeders fold (`<details>`); `collapsed` holds the keys the
 * operator folded, so a re-render keeps their choice.
 */
export function renderTree(el, root, collapsed) {
  if (root.children.length === 0) {
    el.replaceChildren(h('p', { class: 'empty' }, 'No topology yet.'));
    return;
  }
  el.replaceChildren(h('ul', { class: 'tree', 'aria-label': 'Grid topology' }, treeNode(root, collapsed)));
}

function treeNode(n, collapsed) {
  const facts = [Number.isFinite(n.meters) ? `${n.meters} meters` : '', n.openEvents > 0 ? `${n.openEvents} open` : ''].filter(Boolean).join(' · ');
  const label = h(
    'span',
    { class: 'node-label' },
    h('span', { class: 'node-name' }, h('span', { class: 'level' }, n.level === 'grid' ? 'grid' : n.level), ' ', h('span', { class: 'node-id' }, n.level === 'grid' ? 'all substations' : n.id)),
    h('span', { class: 'node-facts' }, severityBadge(n.severity), ' ', facts),
  );
  // Plain nested lists and <details>: keyboard and screen readers handle them natively, where an
  // ARIA tree role would promise arrow-key navigation this page does not implement.
  const attrs = { class: `node node-${n.level} sev-${n.severity ?? 'ok'}`, 'data-key': n.key, 'data-level': n.level, 'data-id': n.id, 'data-severity': n.severity ?? 'ok' };
  if (n.children.length === 0) return h('li', attrs, label);
  const list = h('ul', {}, ...n.children.map((c) => treeNode(c, collapsed)));
  const details = h('details', collapsed.has(n.key) ? {} : { open: '' }, h('summary', {}, label), list);
  details.addEventListener('toggle', () => (details.open ? collapsed.delete(n.key) : collapsed.add(n.key)));
  return h('li', attrs, details);
}

export function renderEventsTable(tbody, openEvents, now, workflowCell) {
  const rows = [...openEvents].sort(byUrgency).map((e) =>
    h(
      'tr',
      { 'data-event-id': e.eventId, 'data-severity': e.severity, title: e.summary ?? '' },
      h('td', {}, e.scope),
      h('td', { class: 'mono' }, e.rootId),
      h('td', {}, e.type.replace(/_/g, ' ')),
      h('td', {}, severityBadge(e.severity)),
      h('td', { class: 'num' }, String(e.affectedCount)),
      h('td', { class: 'mono' }, formatTime(e.startTs)),
      h('td', { class: 'num' }, formatDuration(now - e.startTs)),
      workflowCell ? workflowCell(e) : h('td', {}),
    ),
  );
  if (rows.length === 0) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 8 }, 'No open grid events.')));
  tbody.replaceChildren(...rows);
}

const TIMELINE = { rowHeight: 20, top: 22, left: 4, maxRows: 24, windowMs: 3_600_000, charWidth: 6.2 };

/** The last hour as an SVG: one bar per event from start to end (or now), most urgent on top. */
export function renderTimeline(el, events, now) {
  const { rowHeight, top, left, maxRows, windowMs, charWidth } = TIMELINE;
  // Drawn at the panel's own width, so text keeps its size instead of scaling with the viewBox.
  const width = Math.max(480, Math.round(el.clientWidth || 960));
  const from = now - windowMs;
  const x = (ts) => left + ((Math.max(ts, from) - from) / windowMs) * (width - left * 2);
  const sorted = [...events].sort((a, b) => (a.state === b.state ? byUrgency(a, b) : a.state === 'open' ? -1 : 1));
  const shown = sorted.slice(0, maxRows);
  const hidden = sorted.length - shown.length;
  const height = top + Math.max(1, shown.length) * rowHeight + 4;
  const axis = [];
  for (let m = 60; m >= 0; m -= 10) {
    const tx = x(now - m * 60_000);
    axis.push(svg('line', { x1: tx, x2: tx, y1: top - 4, y2: height, class: 'grid-line' }));
    axis.push(svg('text', { x: tx, y: 12, class: 'axis', 'text-anchor': m === 60 ? 'start' : m === 0 ? 'end' : 'middle' }, m === 0 ? 'now' : `-${m}m`));
  }
  const bars = shown.map((e, i) => {
    const x1 = x(e.startTs);
    const x2 = Math.max(x1 + 3, x(e.endTs ?? now));
    const y = top + i * rowHeight;
    const where = e.scope === 'grid' ? 'grid-wide' : `${e.scope} ${e.rootId}`;
    // A momentary event is born closed (seconds long, kept for MAIFI): named in full, marked apart.
    const what = e.type === 'momentary' ? 'momentary interruption' : e.type.replace(/_/g, ' ');
    const label = `${e.severity} ${what} ${where}${e.state === 'closed' ? ' (closed)' : ''}`;
    // The label goes right of the bar, else left of it, else inside it (a bar that long has room).
    const textWidth = label.length * charWidth;
    const place = x2 + 4 + textWidth <= width ? 'right' : x1 - 4 - textWidth >= 0 ? 'left' : 'inside';
    const labelAttrs = { y: y + rowHeight - 7, class: place === 'inside' ? 'label inside' : 'label' };
    Object.assign(labelAttrs, place === 'right' ? { x: x2 + 4 } : place === 'left' ? { x: x1 - 4, 'text-anchor': 'end' } : { x: x1 + 4 });
    return svg(
      'g',
      { class: `bar sev-${e.severity} state-${e.state}${e.type === 'momentary' ? ' momentary' : ''}`, 'data-event-id': e.eventId },
      svg('title', {}, `${label}, ${formatTime(e.startTs)}–${e.endTs ? formatTime(e.endTs) : 'now'}`),
      svg('rect', { x: x1, y: y + 3, width: x2 - x1, height: rowHeight - 6, rx: 2 }),
      svg('text', labelAttrs, label),
    );
  });
  const notes = [];
  if (shown.length === 0) notes.push(svg('text', { x: width / 2, y: top + 13, class: 'axis', 'text-anchor': 'middle' }, 'No grid events in the last hour.'));
  if (hidden > 0) notes.push(svg('text', { x: left, y: height + 12, class: 'axis' }, `+ ${hidden} more not drawn (closed before open, least severe first)`));
  el.replaceChildren(
    svg('svg', { viewBox: `0 0 ${width} ${height + (hidden > 0 ? 16 : 0)}`, role: 'img', 'aria-label': `Timeline of ${sorted.length} grid events in the last hour` }, ...axis, ...bars, ...notes),
  );
}

export function renderEdges(tbody, edges, now) {
  const rows = [...edges]
    .sort((a, b) => a.edgeId.localeCompare(b.edgeId, undefined, { numeric: true }))
    .map((e) => {
      const age = e.ageAt === undefined ? undefined : e.ageMs + (now - e.ageAt);
      const comms = commsState(e, age);
      return h(
        'tr',
        { 'data-edge-id': e.edgeId, 'data-comms': comms },
        h('td', { class: 'mono' }, e.edgeId),
        h('td', { class: 'mono' }, e.substationId ?? '–'),
        h('td', { class: 'num' }, formatDuration(age)),
        h('td', { class: 'num' }, e.outboxDepth === undefined ? '–' : String(e.outboxDepth)),
        h('td', {}, h('span', { class: `badge comms-${comms}` }, comms.toUpperCase())),
      );
    });
  if (rows.length === 0) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'No edge gateway has reported.')));
  tbody.replaceChildren(...rows);
}
