/* global document, requestAnimationFrame */
// The console's composition root: loads the snapshot from central's API, merges the live event
// stream into it, and re-renders. Reading this file tells where each panel's data comes from.
import { EventStore, buildTree, countBySeverity, indexTree, listFrom, rollUp } from './model.js';
import { renderConnection, renderCounts, renderEdges, renderEventsTable, renderTimeline, renderTree } from './render.js';
import { authHeaders, signIn, signOut } from './auth.js';
import { connectStream } from './stream.js';
import { Workflow } from './workflow.js';
import { Maintenance } from './maintenance.js';

const HOUR_MS = 3_600_000;
const EDGES_EVERY_MS = 5_000;
const MAINTENANCE_EVERY_MS = 15_000;
const TOPOLOGY_EVERY_MS = 60_000;

const $ = (id) => document.getElementById(id);
const state = {
  events: new EventStore(),
  tree: buildTree({}),
  index: new Map(),
  edges: [],
  conn: { state: 'connecting', attempt: 0 },
  collapsed: new Set(),
  problems: new Map(), // what failed, by source, shown until that source works again
  treeDirty: true,
};
state.index = indexTree(state.tree);

async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders({ accept: 'application/json' }), cache: 'no-store' });
  // The token was revoked or expired while the page was open: ask for a new one.
  if (res.status === 401) signOut();
  if (!res.ok) throw Object.assign(new Error(`GET ${path}: HTTP ${res.status}`), { status: res.status });
  return res.json();
}

/** Runs one loader; a failure is shown on the page (and in the devtools console), never dropped. */
async function runLoader(source, load) {
  try {
    await load();
    state.problems.delete(source);
  } catch (err) {
    state.problems.set(source, err instanceof Error ? err.message : String(err));
    console.error(`[console] ${source}:`, err);
  }
  render();
}

/**
 * The tree. /api/topology gives counts and the substations' ids; each substation's feeders and
 * transformers come from /api/topology?substation=<id>.
 */
async function loadTopology() {
  const summary = await getJson('/api/topology');
  const substations = await Promise.all(
    listFrom(summary, 'substations').map((id) =>
      // A substation whose last meter left between the two requests is shown empty, not as a failure.
      getJson(`/api/topology?substation=${encodeURIComponent(id)}`).catch((err) => {
        if (err.status === 404) return { substationId: id, meters: 0, feeders: [] };
        throw err;
      }),
    ),
  );
  // central does not publish a grid name yet; shown when it does.
  const name = summary.gridName;
  if (typeof name === 'string' && name !== '') {
    $('grid-name').textContent = name;
    document.title = `${name} · gridwatch`;
  }
  state.tree = buildTree({ ...summary, substations });
  state.index = indexTree(state.tree);
  state.treeDirty = true;
}

/** Open events, and the last hour's closed ones for the timeline. */
async function loadEvents() {
  const from = Date.now() - HOUR_MS;
  const [open, closed] = await Promise.all([getJson('/api/events?state=open&limit=1000'), getJson(`/api/events?state=closed&from=${from}&limit=500`)]);
  for (const e of [...listFrom(open, 'events'), ...listFrom(closed, 'events')]) state.events.upsert(e);
  state.treeDirty = true;
  // The API pages at 1000; say so rather than show a partial grid as if it were whole.
  if (open.open > open.count) throw new Error(`showing ${open.count} of ${open.open} open grid events (the API's limit)`);
}

/** Each gateway's last heartbeat; `ageMs` is measured by central (receipt time), so clocks need not agree. */
async function loadEdges() {
  const fetchedAt = Date.now();
  state.edges = listFrom(await getJson('/api/edges'), 'edges').map((e) => ({
    edgeId: e.edgeId,
    substationId: e.substationId,
    ageMs: e.ageMs,
    ageAt: fetchedAt,
    outboxDepth: e.lastStatus?.outbox?.depth,
    comms: e.comms,
  }));
}

let frame = 0;
function render() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const now = Date.now();
    state.events.prune(now - HOUR_MS);
    const open = state.events.open();
    if (state.treeDirty) {
      rollUp(state.tree, state.index, open);
      renderTree($('tree'), state.tree, state.collapsed);
      state.treeDirty = false;
    }
    renderCounts($('counts'), countBySeverity(open));
    renderConnection($('connection'), state.conn, now);
    renderEventsTable($('events-body'), open, now, workflow ? (e) => workflow.cell(e) : undefined);
    $('open-count').textContent = `${open.length} open`;
    renderTimeline($('timeline'), state.events.overlapping(now - HOUR_MS, now), now);
    renderEdges($('edges-body'), state.edges, now);
    $('problems').replaceChildren(...[...state.problems.values()].map((p) => Object.assign(document.createElement('li'), { textContent: p })));
    $('problems').hidden = state.problems.size === 0;
  });
}

const me = await signIn();
/** A failed action is shown like a failed loader, until the next one works. */
const actionProblem = (source) => (msg) => {
  if (msg) state.problems.set(source, msg);
  else state.problems.delete(source);
  render();
};
const workflow = new Workflow({ role: me.role, onProblem: actionProblem('action') });
const maintenance = new Maintenance({ role: me.role, getJson, onProblem: actionProblem('maintenance') });

connectStream('/api/stream', {
  headers: authHeaders,
  onUnauthorized: signOut,
  onEvent: (event) => {
    if (state.events.upsert(event)) {
      state.treeDirty = true;
      render();
    }
  },
  onState: (conn) => {
    state.conn = conn;
    render();
  },
  // Events published while we were away were missed: reload the snapshot on every (re)connection.
  onOpen: () => void runLoader('events', loadEvents),
});

void runLoader('topology', loadTopology);
void runLoader('edges', loadEdges);
void runLoader('maintenance', () => maintenance.load());
setInterval(() => void runLoader('maintenance', () => maintenance.load()), MAINTENANCE_EVERY_MS);
setInterval(() => void runLoader('edges', loadEdges), EDGES_EVERY_MS);
setInterval(() => void runLoader('topology', loadTopology), TOPOLOGY_EVERY_MS);
// Durations, ages, the timeline's "now" and the reconnect countdown move with the clock.
setInterval(render, 1000);
