/** `gridwatch score --learned [--model DIR] [--json]`: rules against the learned model (central/learn/compare.ts). */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compare, formatComparison } from './compare.ts';
import { DEFAULT_MODEL_DIR } from './train-main.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, json: { type: 'boolean' } } });
  const c = await compare({ modelDir: resolve(values.model ?? DEFAULT_MODEL_DIR) });
  console.log(values.json ? JSON.stringify(c, null, 2) : formatComparison(c));
  return 0;
}
