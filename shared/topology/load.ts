import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { GridwatchError } from '../errors.ts';
import { formatProblems, validators, type TopologyEntry } from '../contracts/index.ts';
import { Topology } from './model.ts';

/**
 * Topology files: CSV with a header row (meterId,transformerId,feederId,substationId,phase,
 * nominalVoltage,nominalFrequency[,transformerKva][,readingIntervalMs]) or JSON (an array of
 * entries, or `{ "meters": [...] }`). Every row is validated against the v1 TopologyEntry
 * contract; all bad rows are reported together with their line or index, and a meter listed twice
 * is an error (which of the two is right cannot be guessed).
 */
export const TOPOLOGY_CSV_COLUMNS = [
  'meterId',
  'transformerId',
  'feederId',
  'substationId',
  'phase',
  'nominalVoltage',
  'nominalFrequency',
  'transformerKva',
  'readingIntervalMs',
] as const;

const NUMERIC = new Set(['nominalVoltage', 'nominalFrequency', 'transformerKva', 'readingIntervalMs']);

export function parseTopology(text: string, format: 'csv' | 'json', sourceName = 'topology'): TopologyEntry[] {
  const rows = format === 'csv' ? csvRows(text, sourceName) : jsonRows(text, sourceName);
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries: TopologyEntry[] = [];
  const check = validators.topologyEntry;
  for (let i = 0; i < rows.values.length; i++) {
    const value = rows.values[i];
    // The compiled check first; the error walk (and the row's "line N" text) only for a bad row.
    if (!check.check(value)) {
      const result = check.validate(value);
      problems.push(`${rows.where(i)}: ${result.ok ? 'invalid' : formatProblems(result.problems)}`);
    } else if (seen.has(value.meterId)) {
      problems.push(`${rows.where(i)}: meter ${value.meterId} is listed more than once`);
    } else {
      seen.add(value.meterId);
      entries.push(value);
    }
    if (problems.length >= 50) break;
  }
  if (problems.length > 0) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: ${problems.length} invalid row(s):\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return entries;
}

/** Parsed rows and where each came from (computed only for the rows a message names). */
interface Rows {
  values: unknown[];
  where(i: number): string;
}

function csvRows(text: string, sourceName: string): Rows {
  const simple = simpleCsvRows(text, sourceName);
  if (simple !== null) return simple;
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, comment: '#' }) as Record<string, string>[];
  } catch (err) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: not valid CSV: ${(err as Error).message}`, { cause: err });
  }
  return { values: records.map((rec) => csvValue(Object.keys(rec), Object.values(rec))), where: (i) => `line ${i + 2}` };
}

function csvValue(columns: readonly string[], fields: readonly string[]): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (let c = 0; c < columns.length; c++) {
    const k = columns[c]!;
    const v = fields[c]!;
    if (v === '') continue; // empty optional column
    value[k] = NUMERIC.has(k) && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return value;
}

/**
 * The common file (no quotes anywhere: ids, phases and numbers never need them) without csv-parse,
 * which took most of a 1,000,000-meter load: lines split on newlines, fields on commas, trimmed,
 * `#` to the end of a line a comment, blank lines skipped, a row with another number of fields than
 * the header refused as csv-parse refuses it. Any `"` in the file: null, and csv-parse reads it.
 */
function simpleCsvRows(text: string, sourceName: string): Rows | null {
  if (text.includes('"')) return null;
  const lines = text.split('\n');
  const lineNo: number[] = [];
  const values: unknown[] = [];
  let columns: string[] | null = null;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    const hash = line.indexOf('#');
    if (hash !== -1) line = line.slice(0, hash);
    if (line.trim() === '') continue;
    const fields = line.split(',');
    for (let c = 0; c < fields.length; c++) fields[c] = fields[c]!.trim();
    if (columns === null) {
      columns = fields;
      continue;
    }
    if (fields.length !== columns.length) {
      throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: not valid CSV: line ${n + 1} has ${fields.length} fields, the header ${columns.length}`);
    }
    values.push(csvValue(columns, fields));
    lineNo.push(n + 1);
  }
  return { values, where: (i) => `line ${lineNo[i]}` };
}

function jsonRows(text: string, sourceName: string): Rows {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { meters?: unknown } | null)?.meters;
  if (!Array.isArray(list)) throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: expected an array of entries or { "meters": [...] }`);
  return { values: list, where: (i) => `entry ${i}` };
}

export function loadTopologyFile(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GridwatchError('TOPOLOGY_INVALID', `cannot read topology file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const format = path.toLowerCase().endsWith('.csv') ? 'csv' : 'json';
  return new Topology(parseTopology(text, format, path));
}

export function topologyToCsv(entries: Iterable<TopologyEntry>): string {
  const lines = [TOPOLOGY_CSV_COLUMNS.join(',')];
  for (const e of entries) lines.push(TOPOLOGY_CSV_COLUMNS.map((c) => (e[c] === undefined ? '' : String(e[c]))).join(','));
  return lines.join('\n') + '\n';
}

export function writeTopologyFile(path: string, entries: TopologyEntry[]): void {
  writeFileSync(path, path.toLowerCase().endsWith('.csv') ? topologyToCsv(entries) : JSON.stringify({ meters: entries }, null, 1) + '\n');
}
