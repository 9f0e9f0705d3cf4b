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
  for (const { where, value } of rows) {
    const result = validators.topologyEntry.validate(value);
    if (!result.ok) {
      problems.push(`${where}: ${formatProblems(result.problems)}`);
    } else if (seen.has(result.value.meterId)) {
      problems.push(`${where}: meter ${result.value.meterId} is listed more than once`);
    } else {
      seen.add(result.value.meterId);
      entries.push(result.value);
    }
    if (problems.length >= 50) break;
  }
  if (problems.length > 0) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: ${problems.length} invalid row(s):\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return entries;
}

function csvRows(text: string, sourceName: string): { where: string; value: unknown }[] {
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, comment: '#' }) as Record<string, string>[];
  } catch (err) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: not valid CSV: ${(err as Error).message}`, { cause: err });
  }
  return records.map((rec, i) => {
    const value: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (v === '') continue; // empty optional column
      value[k] = NUMERIC.has(k) && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    }
    return { where: `line ${i + 2}`, value };
  });
}

function jsonRows(text: string, sourceName: string): { where: string; value: unknown }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { meters?: unknown } | null)?.meters;
  if (!Array.isArray(list)) throw new GridwatchError('TOPOLOGY_INVALID', `${sourceName}: expected an array of entries or { "meters": [...] }`);
  return list.map((value, i) => ({ where: `entry ${i}`, value }));
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
