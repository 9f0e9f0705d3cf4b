// The adapter rule of eslint.config.js, on code that breaks it: a part that loads kafkajs, a core
// that loads a barrel with pino and prom-client or reads a file. Linting the tree (npm run lint)
// then proves the tree keeps the rule.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });
const lint = async (filePath: string, code: string) => (await eslint.lintText(code, { filePath }))[0]!.messages.map((m) => `${m.ruleId}: ${m.message}`);

describe('lint: adapters and cores', () => {
  it('refuses a kafkajs import outside the Kafka adapters, allows it in one, and allows type-only imports', async () => {
    expect(await lint('central/flows/group.ts', "import kafkajs from 'kafkajs';\nexport const k = kafkajs;\n")).toEqual([expect.stringMatching(/no-restricted-imports: .*only the adapters .*may import kafkajs/)]);
    expect(await lint('central/publish/producer.ts', "import kafkajs from 'kafkajs';\nexport const k = kafkajs;\n")).toEqual([]);
    expect(await lint('central/flows/group.ts', "import type { Batch } from 'kafkajs';\nexport type B = Batch;\n")).toEqual([]);
    expect(await lint('edge/gateway.ts', "import Database from 'better-sqlite3';\nexport const d = Database;\n")).toEqual([expect.stringMatching(/may import better-sqlite3/)]);
  }, 30_000);

  it('refuses a core that loads the shared barrel or a file', async () => {
    const barrel = await lint('edge/detect/window.ts', "import { createLogger } from '../../shared/index.ts';\nexport const l = createLogger;\n");
    expect(barrel).toEqual([expect.stringMatching(/no-restricted-imports: .*never a barrel that loads pino, prom-client or fs/)]);
    expect(await lint('central/correlate/config.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n")).toEqual([expect.stringMatching(/cores do no I\/O/)]);
    expect(await lint('central/correlate/config.ts', "import { GridwatchError } from '../../shared/errors.ts';\nexport const e = GridwatchError;\n")).toEqual([]);
  }, 30_000);
});
