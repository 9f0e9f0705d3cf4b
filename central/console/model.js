// The console's state, without the DOM: grid events merged by version, the topology tree, and the
// roll-up of open events onto it. Pure functions and one small class, so the page logic reads (and
// can be checked) apart from rendering.

/** Severities from least to most severe (the contract's order: info < minor < major < critical). */
export const SEVERITIES = ['info', 'minor', 'major', 'critical'];

/** @param {string | undefined | null} s */
export function severityRank(s) {
  return s ? SEVERITIES.indexOf(s) : -1;
}

/** The worse of two severities (undefined means "no open event"). */
export function worse(a, b) {
  return severityRank(b) > severityRank(a) ? b : a;
}

/**
 * Grid events by eventId. The central aggregator re-publishes an event every time it changes with a
 * higher `version`; the stream and the REST snapshot can arrive in any order, so the highest
 * version always wins and an older copy never overwrites a newer one.
 */
export class EventStore {
  constructor() {
    /** @type {Map<string, any>} */
    this.byId = new Map();
  }

  /** Returns true when the event changed what the store holds. */
  upsert(event) {
    if (!event || typeof event.eventId !== 'string') return false;
    const held = this.byId.get(event.eventId);
    // A close at the same version is taken too (central's store accepts it as news), so that an
    // event can never stay open on the page once central has closed it.
    const closes = held && held.version === event.version && held.state === 'open' && event.state === 'closed';
    // An operator's action re-sends the event at the same version with its workflow changed.
    const worked = held && held.version === event.version && held.state === event.state && workStamp(held) !== workStamp(event);
    if (held && held.version >= event.version && !closes && !worked) return false;
    this.byId.set(event.eventId, event);
    return true;
  }

  open() {
    return [...this.byId.values()].filter((e) => e.state === 'open');
  }

  /** Events that overlap [from, to]; open events run until now. */
  overlapping(from, to) {
    return [...this.byId.values()].filter((e) => e.startTs <= to && (e.endTs ?? to) >= from);
  }

  /** Forgets closed events that ended before `before`, so a long-running page stays small. */
  prune(before) {
    for (const [id, e] of this.byId) if (e.state === 'closed' && (e.endTs ?? e.updatedAt) < before) this.byId.delete(id);
  }
}

/** What the operators did to an event (acknowledgement, assignee, notes), comparable. */
export function workStamp(e) {
  return JSON.stringify([e.acknowledged ?? null, e.assignee ?? null, e.notes?.length ?? 0, e.notes?.at(-1)?.at ?? null]);
}

/** Most severe first, then the most recent. */
export function byUrgency(a, b) {
  return severityRank(b.severity) - severityRank(a.severity) || b.startTs - a.startTs;
}

/** Open events per severity, for the header. */
export function countBySeverity(events) {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const e of events) if (e.severity in counts) counts[e.severity] += 1;
  return counts;
}

/**
 * @typedef {{ key: string, level: 'grid'|'substation'|'feeder'|'transformer', id: string, meters: number,
 *   children: TreeNode[], parent?: TreeNode, severity?: string, openEvents: number }} TreeNode
 */

const CHILD_LEVEL = { grid: 'substation', substation: 'feeder', feeder: 'transformer' };
const CHILD_KEY = { grid: 'substations', substation: 'feeders', feeder: 'transformers' };

/**
 * Builds the tree from /api/topology's nested shape: `{ substations: [{ substationId, meters,
 * feeders: [{ feederId, meters, transformers: [{ transformerId, meters }] }] }] }`.
 * @returns {TreeNode}
 */
export function buildTree(topology) {
  return node('grid', 'grid', topology ?? {}, undefined);
}

function node(level, id, raw, parent) {
  /** @type {TreeNode} */
  const n = { key: `${level}:${id}`, level, id, meters: meterCount(raw), children: [], parent, openEvents: 0 };
  const childLevel = CHILD_LEVEL[level];
  const list = childLevel ? raw[CHILD_KEY[level]] : undefined;
  if (Array.isArray(list)) {
    for (const c of list) {
      const cid = c[`${childLevel}Id`] ?? c.id;
      if (typeof cid === 'string') n.children.push(node(childLevel, cid, c, n));
    }
    n.children.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  }
  if (level === 'grid' && !Number.isFinite(n.meters)) n.meters = n.children.reduce((sum, c) => sum + c.meters, 0);
  return n;
}

function meterCount(raw) {
  const m = raw.meters ?? raw.meterCount;
  if (typeof m === 'number') return m;
  if (Array.isArray(m)) return m.length;
  return NaN;
}

/** Every node of the tree by key (`substation:S1`). */
export function indexTree(root) {
  const index = new Map();
  const visit = (n) => {
    index.set(n.key, n);
    n.children.forEach(visit);
  };
  visit(root);
  return index;
}

/**
 * Marks each node with the worst severity of the open events at or under it. An event sits at its
 * (scope, rootId) node; a meter event (meters are not in the tree) or one whose root the tree does
 * not know sits at its substation, and failing that at the grid.
 */
export function rollUp(root, index, openEvents) {
  for (const n of index.values()) {
    n.severity = undefined;
    n.openEvents = 0;
  }
  for (const e of openEvents) {
    let n = index.get(`${e.scope}:${e.rootId}`) ?? (e.substationId ? index.get(`substation:${e.substationId}`) : undefined) ?? root;
    for (; n; n = n.parent) {
      n.severity = worse(n.severity, e.severity);
      n.openEvents += 1;
    }
  }
}

/** Comms state of an edge gateway: the API's when it gives one, else from the heartbeat's age. */
export function commsState(edge, ageMs) {
  const given = edge.comms ?? edge.commsState ?? edge.state;
  if (given === 'ok' || given === 'late' || given === 'lost') return given;
  if (ageMs === undefined || !Number.isFinite(ageMs)) return 'lost';
  return ageMs < 15_000 ? 'ok' : ageMs < 60_000 ? 'late' : 'lost';
}

/** `42s`, `5m 03s`, `2h 10m`, `3d 4h`. */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Wall-clock time of day, `14:05:09`, in the viewer's time zone. */
export function formatTime(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** A JSON list from an API body that is either the array itself or `{ [key]: [...] }`. */
export function listFrom(body, key) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body[key])) return body[key];
  return [];
}
