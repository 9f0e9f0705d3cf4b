/**
 * `gridwatch train` (also `npm run train`): builds the data sets from seeded simulated grids
 * (central/learn/dataset.ts), makes sure the Python environment exists (a venv created from PyPI
 * with the versions pinned in central/learn/requirements.txt), runs central/learn/train.py and
 * prints what it kept. The default output is models/default, the model the repository ships.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GridwatchError } from '../../shared/errors.ts';
import { FULL_PLAN, QUICK_PLAN, writeDataset } from './dataset.ts';
import { writeReference } from './reference.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export { DEFAULT_MODEL_DIR } from './model-file.ts';
import { DEFAULT_MODEL_DIR } from './model-file.ts';

const USAGE = `usage: gridwatch train [--quick] [--out DIR] [--fpr 0.001] [--keep-data DIR]

  --quick           small grids (seconds): the reproducibility test uses it
  --out DIR         where model.onnx and manifest.json go (default models/default; with --quick required)
  --fpr X           false-positive rate on validation data that sets the threshold (default 0.001)
  --keep-data DIR   write the data sets there and keep them (default: a temporary folder)

Python: python3 (3.10+) must be on PATH; the venv is GRIDWATCH_VENV or ~/.cache/gridwatch/venv.`;

/** Creates the venv if needed and installs the pinned requirements once per change of the pin file. Returns its python. */
export function ensureVenv(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): string {
  const venv = process.env.GRIDWATCH_VENV ?? join(homedir(), '.cache', 'gridwatch', 'venv');
  const python = join(venv, 'bin', 'python');
  const reqFile = join(HERE, 'requirements.txt');
  const want = createHash('sha256').update(readFileSync(reqFile)).digest('hex');
  const stamp = join(venv, '.gridwatch-requirements.sha256');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error || r.status !== 0) throw new GridwatchError('PROVISION_FAILED', `${cmd} ${args.join(' ')} failed: ${r.error?.message ?? `exit ${r.status}`}`);
  };
  if (!existsSync(python)) {
    log(`train: creating the Python venv ${venv}`);
    mkdirSync(dirname(venv), { recursive: true });
    run(process.env.GRIDWATCH_PYTHON ?? 'python3', ['-m', 'venv', venv]);
  }
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== want) {
    log(`train: installing ${reqFile} into the venv (PyPI)`);
    run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', reqFile]);
    writeFileSync(stamp, want + '\n');
  }
  return python;
}

export interface TrainResult { out: string; summary: Record<string, unknown> }

export function train(opts: { quick?: boolean; out: string; fpr?: number; dataDir?: string }): TrainResult {
  const python = ensureVenv();
  const data = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gridwatch-train-'));
  try {
    mkdirSync(data, { recursive: true });
    const sets = writeDataset(data, opts.quick ? QUICK_PLAN : FULL_PLAN);
    process.stderr.write(`train: data sets ${JSON.stringify(sets)}\n`);
    const r = spawnSync(python, [join(HERE, 'train.py'), '--data', data, '--out', opts.out, '--fpr', String(opts.fpr ?? 0.001)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    if (r.error || r.status !== 0) throw new GridwatchError('PROVISION_FAILED', `train.py failed: ${r.error?.message ?? `exit ${r.status}`}`);
    writeReference(data, opts.out); // PSI reference bins into the manifest (central/learn/reference.ts)
    const last = r.stdout.trim().split('\n').pop() ?? '{}';
    return { out: opts.out, summary: JSON.parse(last) as Record<string, unknown> };
  } finally {
    if (!opts.dataDir) rmSync(data, { recursive: true, force: true });
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, out: { type: 'string' }, fpr: { type: 'string' }, 'keep-data': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.quick && !values.out) throw new GridwatchError('CONFIG_INVALID', 'train --quick needs --out (the quick model is not the shipped default)');
  const fpr = values.fpr === undefined ? undefined : Number(values.fpr);
  if (fpr !== undefined && !(fpr > 0 && fpr < 0.5)) throw new GridwatchError('CONFIG_INVALID', `--fpr: expected a rate between 0 and 0.5, got ${values.fpr}`);
  const result = train({ quick: values.quick ?? false, out: resolve(values.out ?? DEFAULT_MODEL_DIR), ...(fpr !== undefined ? { fpr } : {}), ...(values['keep-data'] ? { dataDir: resolve(values['keep-data']) } : {}) });
  console.log(JSON.stringify({ out: result.out, ...result.summary }, null, 2));
  return 0;
}
