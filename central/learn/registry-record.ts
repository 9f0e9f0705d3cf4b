/**
 * The model registry's record: which model version is `active`, which `shadow`, which `canary`
 * (with its share of substations), and the actives before (for rollback). One record, key
 * `models`, on the compacted topic grid.models: every central instance reads the same latest
 * record, so all of them switch together. `default` names the model central ships with
 * (learnedModelDir, models/default); every other version is a sha256 whose files are in the
 * bucket (registry-store.ts). Written by `gridwatch models` (cli/models.ts) as admin.
 */
import { GridwatchError } from '../../shared/errors.ts';
import type { CanaryShare } from './scorer.ts';

export const RECORD_KEY = 'models';
export const DEFAULT_VERSION = 'default';

export interface ModelsRecord {
  active: string;
  shadow: string | null;
  canary: ({ version: string } & CanaryShare) | null;
  /** Earlier actives, oldest first (rollback goes back one). */
  history: string[];
  updatedAt: number;
  by?: string;
  /**
   * How many changes the record has had (0: none; a record written before revisions is 0). Every
   * change writes revision + 1 through a compare-and-set (shared/kafka/keyed-record.ts), so two
   * operators changing it at once cannot both win; `gridwatch models ... --revision N` also
   * refuses when the record is no longer the one the operator looked at.
   */
  revision: number;
}

export const EMPTY_RECORD: ModelsRecord = { active: DEFAULT_VERSION, shadow: null, canary: null, history: [], updatedAt: 0, revision: 0 };

const VERSION = /^([0-9a-f]{64}|default)$/;
const bad = (why: string) => new GridwatchError('CONFIG_INVALID', `grid.models record: ${why}`, { details: { reason: 'record' } });

export function checkVersion(v: unknown, what: string): string {
  if (typeof v !== 'string' || !VERSION.test(v)) throw bad(`${what} is not a model version (64 hex digits of sha256, or "default"): ${JSON.stringify(v)}`);
  return v;
}

/** Parses and checks a record's value; throws a clear CONFIG_INVALID on anything else. */
export function parseRecord(text: string): ModelsRecord {
  let r: Partial<ModelsRecord>;
  try {
    r = JSON.parse(text) as Partial<ModelsRecord>;
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof r !== 'object' || r === null) throw bad('not an object');
  const active = checkVersion(r.active, 'active');
  const shadow = r.shadow == null ? null : checkVersion(r.shadow, 'shadow');
  let canary: ModelsRecord['canary'] = null;
  if (r.canary != null) {
    const c = r.canary;
    const version = checkVersion(c.version, 'canary.version');
    if (c.substations !== undefined && !(Array.isArray(c.substations) && c.substations.every((s) => typeof s === 'string'))) throw bad('canary.substations is not a list of substation ids');
    if (c.percent !== undefined && !(typeof c.percent === 'number' && c.percent >= 0 && c.percent <= 100)) throw bad(`canary.percent is not 0-100: ${c.percent}`);
    if (!c.substations?.length && !c.percent) throw bad('canary names no substations and no percentage');
    canary = { version, ...(c.substations ? { substations: c.substations } : {}), ...(c.percent !== undefined ? { percent: c.percent } : {}) };
  }
  const history = Array.isArray(r.history) ? r.history.map((v, i) => checkVersion(v, `history[${i}]`)) : [];
  if (r.revision !== undefined && !(Number.isSafeInteger(r.revision) && r.revision >= 0)) throw bad(`revision is not a count: ${JSON.stringify(r.revision)}`);
  return { active, shadow, canary, history, updatedAt: typeof r.updatedAt === 'number' ? r.updatedAt : 0, ...(typeof r.by === 'string' ? { by: r.by } : {}), revision: r.revision ?? 0 };
}

/** The version becomes active; the one before goes to the history. Shadow/canary of that version end (it is live everywhere now). */
export function promote(r: ModelsRecord, version: string, now: number): ModelsRecord {
  checkVersion(version, 'version');
  if (r.active === version) throw new GridwatchError('CONFIG_INVALID', `model ${version.slice(0, 12)} is active already`);
  return { ...r, active: version, history: [...r.history, r.active].slice(-20), shadow: r.shadow === version ? null : r.shadow, canary: r.canary?.version === version ? null : r.canary, updatedAt: now };
}

export function shadow(r: ModelsRecord, version: string | null, now: number): ModelsRecord {
  if (version !== null) checkVersion(version, 'version');
  if (version !== null && version === r.active) throw new GridwatchError('CONFIG_INVALID', `model ${version.slice(0, 12)} is the active one; a shadow is compared with it`);
  return { ...r, shadow: version, updatedAt: now };
}

export function canary(r: ModelsRecord, c: ({ version: string } & CanaryShare) | null, now: number): ModelsRecord {
  if (c !== null && c.version === r.active) throw new GridwatchError('CONFIG_INVALID', `model ${c.version.slice(0, 12)} is the active one; a canary is another version`);
  return parseRecord(JSON.stringify({ ...r, canary: c, updatedAt: now }));
}

/** Back to the previous active (the current one leaves; canary and shadow stay unless they are it). */
export function rollback(r: ModelsRecord, now: number): ModelsRecord {
  const previous = r.history[r.history.length - 1];
  if (previous === undefined) throw new GridwatchError('CONFIG_INVALID', `nothing to roll back to: model ${r.active.slice(0, 12)} has no predecessor in the registry`);
  return { ...r, active: previous, history: r.history.slice(0, -1), shadow: r.shadow === previous ? null : r.shadow, canary: r.canary?.version === previous ? null : r.canary, updatedAt: now };
}
